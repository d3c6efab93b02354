"""The receiving side, for a Django project that consumes webhooks (ours or any Standard
Webhooks sender): a view decorator that verifies, refuses replays, deduplicates on
``webhook-id`` and answers at once::

    from webhooks_app.receiving import webhook_view

    @webhook_view(secret=settings.SHOP_WEBHOOK_SECRET)
    def shop_webhook(request, payload):
        async_task("orders.sync", payload)   # do the work later: answer within seconds

Only :mod:`webhooks_app.signing` is needed besides Django; nothing here touches the
sending side's models.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any
from urllib.parse import parse_qs

from django.core.cache import caches
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from webhooks_app.exceptions import SignatureVerificationError, WebhookError
from webhooks_app.signing import DEFAULT_TOLERANCE, STANDARD, verify

Secrets = str | Iterable[str]
Handler = Callable[..., HttpResponse | None]

SEEN_PREFIX = "webhooks_app:seen:"
WEEK = 7 * 86400


def webhook_view(
    *,
    secret: Secrets | Callable[[HttpRequest], Secrets],
    schemes: Iterable[str] = (STANDARD,),
    tolerance: int = DEFAULT_TOLERANCE,
    dedupe_for: int | None = WEEK,
    cache: str = "default",
) -> Callable[[Handler], Callable[..., HttpResponse]]:
    """Turn ``handler(request, payload, *args, **kwargs)`` into a webhook endpoint.

    * POST only, exempt from CSRF (the signature is the authentication);
    * ``secret``: one or several secrets (several during a rotation), or a callable
      taking the request, for per-tenant secrets;
    * ``secret`` may also be a ``whpk_`` public key (or include one): it verifies the
      webhook's ``v1a`` (ed25519) signatures, no shared secret needed;
    * the payload handed to the handler is the JSON body, or for a form-encoded body
      (``content_type=form``) the JSON of its one ``payload`` field, as the sender
      encodes it;
    * a request that does not verify gets a 400 naming the reason (``no signature``,
      ``too old``, ``too new``, ``mismatch``, ``not JSON``, ``not a payload form``) and
      never reaches the handler, whatever its headers and body hold;
    * a ``webhook-id`` handled in the last ``dedupe_for`` seconds (a week: longer than
      any retry schedule) is answered 200 without calling the handler again. The id is
      taken before the handler runs, so two copies arriving at once are handled once,
      and given back if the handler raises, so the sender's retry is handled. ``None``
      turns deduplication off;
    * the handler may return a response; otherwise the answer is ``204 No Content``.
    """

    def decorator(handler: Handler) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @require_POST
        @wraps(handler)
        def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            secrets_ = secret(request) if callable(secret) else secret
            try:
                body = verify(
                    request.body, request.headers, secrets_, schemes=schemes, tolerance=tolerance
                )
                payload = parse_payload(body, request.content_type)
            except SignatureVerificationError as exc:
                return JsonResponse({"error": exc.reason}, status=400)
            except UnparsableBody as exc:
                return JsonResponse({"error": exc.reason}, status=400)
            seen = _Seen(cache, request.headers.get("webhook-id"), dedupe_for)
            if not seen.claim():
                return HttpResponse(status=200)  # handled already: the sender may stop
            try:
                response = handler(request, payload, *args, **kwargs)
            except BaseException:
                seen.release()
                raise
            return response if response is not None else HttpResponse(status=204)

        return view

    return decorator


FORM = "application/x-www-form-urlencoded"


class UnparsableBody(WebhookError, ValueError):
    """A verified body that holds no payload; ``reason`` is what the 400 says."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_payload(body: bytes, content_type: str | None) -> Any:
    """The payload of a verified body: its JSON, or for a form body the JSON of its one
    ``payload`` field (``payload=<the JSON>``, URL-encoded, as the sender makes it)."""
    if content_type == FORM:
        body = _form_payload(body)
    try:
        return json.loads(body)
    # RecursionError: a body nested deep enough overflows the parser's stack.
    except (ValueError, RecursionError):
        raise UnparsableBody("not JSON") from None


def _form_payload(body: bytes) -> bytes:
    try:
        fields = parse_qs(
            body.decode("ascii"), strict_parsing=True, errors="strict", max_num_fields=1
        )
    except ValueError:  # UnicodeError included
        fields = {}
    values = fields.get("payload", [])
    if len(fields) != 1 or len(values) != 1:
        raise UnparsableBody("not a payload form")
    return values[0].encode("utf-8")


class _Seen:
    """Which message ids were handled, in Django's cache."""

    def __init__(self, alias: str, msg_id: str | None, ttl: int | None) -> None:
        self.key = f"{SEEN_PREFIX}{msg_id}" if msg_id and ttl else None
        self.alias, self.ttl = alias, ttl

    def claim(self) -> bool:
        """True the first time this id is seen (cache.add is atomic in every backend)."""
        return self.key is None or caches[self.alias].add(self.key, 1, self.ttl)

    def release(self) -> None:
        if self.key is not None:
            caches[self.alias].delete(self.key)
