"""What stands between a verified request and its handler: the durable inbox, the
cache, or nothing (``webhook_view``'s ``inbox=`` and ``dedupe_for=``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from django.http import HttpRequest, HttpResponse

from webhooks_app.inbox import handlers
from webhooks_app.inbox.handlers import answer
from webhooks_app.inbox.seen import SeenCache

Run = Callable[[], HttpResponse | None]


class Guard(Protocol):
    def __call__(self, request: HttpRequest, scope: str, payload: Any, run: Run) -> HttpResponse:
        """Run ``run`` (the handler) unless this message was handled; its answer."""


def guard_for(
    handler: handlers.Handler, *, inbox: str | None, cache: str, dedupe_for: int | None
) -> Guard:
    if inbox is not None:
        handlers.register(inbox, handler)
        return InboxGuard(inbox)
    if not dedupe_for:
        return unguarded
    return CacheGuard(SeenCache(cache, dedupe_for))


def unguarded(request: HttpRequest, scope: str, payload: Any, run: Run) -> HttpResponse:
    return answer(run())


class CacheGuard:
    def __init__(self, seen: SeenCache) -> None:
        self.seen = seen

    def __call__(self, request: HttpRequest, scope: str, payload: Any, run: Run) -> HttpResponse:
        return self.seen.handle(scope, request.headers.get("webhook-id", ""), run)


class InboxGuard:
    def __init__(self, name: str) -> None:
        # Imported here: the inbox's model loads only where the inbox app is installed.
        from webhooks_app.inbox import handling

        self.name, self.handling = name, handling

    def __call__(self, request: HttpRequest, scope: str, payload: Any, run: Run) -> HttpResponse:
        received = self.handling.Received.of(request, self.name, scope, payload)
        return self.handling.receive(received, run)
