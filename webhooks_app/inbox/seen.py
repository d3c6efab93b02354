"""Deduplication in Django's cache: the lighter option, with the cache's limits.

The id is held as "handling" while the handler runs (a copy arriving meanwhile is
answered 409, so the sender tries it again later), then as "handled" for ``ttl``
seconds, or given back when the handler raises or answers an error.

What it cannot do (docs/receivers.md, "A Django receiver"): the id is not taken in the handler's
transaction, so a process that dies mid-handler holds it for ``HANDLING_TTL`` seconds;
a cache forgets ids it evicts (Django's local-memory cache keeps 300 entries, per
process); a cache shared by several processes (Redis, Memcached) is needed for copies
reaching two processes to be handled once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.core.cache import caches
from django.http import HttpResponse, JsonResponse

from webhooks_app.inbox.handlers import answer

SEEN_PREFIX = "webhooks_app:seen:"
HANDLING, HANDLED = "handling", "handled"
HANDLING_TTL = 300  # seconds: longer than any handler may take to answer a sender

Run = Callable[[], HttpResponse | None]


class SeenCache:
    """Which message ids were handled, per scope, in the cache ``alias``."""

    def __init__(self, alias: str, ttl: int) -> None:
        self.alias, self.ttl = alias, ttl

    def handle(self, scope: str, msg_id: str, run: Run) -> HttpResponse:
        if not msg_id:
            return answer(run())
        cache, key = caches[self.alias], self.key(scope, msg_id)
        if not cache.add(key, HANDLING, min(HANDLING_TTL, self.ttl)):
            return self._copy(cache.get(key))
        try:
            response = answer(run())
        except BaseException:
            cache.delete(key)
            raise
        if 200 <= response.status_code < 300:
            cache.set(key, HANDLED, self.ttl)
        else:
            cache.delete(key)  # an error answer: the sender's retry must be handled
        return response

    @staticmethod
    def key(scope: str, msg_id: str) -> str:
        # A digest: any id fits any cache's key rules (Memcached: 250 bytes, no spaces).
        digest = hashlib.sha256(f"{scope}\x00{msg_id}".encode("utf-8", "surrogatepass"))
        return SEEN_PREFIX + digest.hexdigest()

    @staticmethod
    def _copy(state: object) -> HttpResponse:
        if state == HANDLED:
            return HttpResponse(status=200)  # handled already: the sender may stop
        # Still being handled, and it may yet fail: ask the sender to try again later.
        return JsonResponse({"error": "being handled"}, status=409)
