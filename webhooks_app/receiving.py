"""The receiving side, for a Django project that consumes webhooks (ours or any Standard
Webhooks sender): a view decorator that verifies, refuses replays, deduplicates on
``webhook-id`` and answers at once::

    from webhooks_app.receiving import webhook_view

    @webhook_view(secret=settings.SHOP_WEBHOOK_SECRET, inbox="shop.orders")
    def shop_webhook(request, payload):
        Order.objects.update_or_create(...)   # in the transaction that records the id

Only :mod:`webhooks_app.signing` and :mod:`webhooks_app.inbox` are needed besides
Django; nothing here touches the sending side's models.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any
from urllib.parse import parse_qs

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from webhooks_app.exceptions import SignatureVerificationError, WebhookError
from webhooks_app.inbox.guards import guard_for
from webhooks_app.inbox.scopes import secret_scope
from webhooks_app.signing import DEFAULT_TOLERANCE, STANDARD, verify

Secrets = str | Iterable[str]
Handler = Callable[..., HttpResponse | None]

WEEK = 7 * 86400


def webhook_view(
    *,
    secret: Secrets | Callable[[HttpRequest], Secrets],
    schemes: Iterable[str] = (STANDARD,),
    tolerance: int = DEFAULT_TOLERANCE,
    dedupe_for: int | None = WEEK,
    cache: str = "default",
    inbox: str | None = None,
    scope: Callable[[HttpRequest], object] | None = None,
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
    * ``inbox``: a name for the handler, which turns on the durable inbox
      (``"webhooks_app.inbox"`` installed): the handler runs in a transaction that
      records the ``webhook-id`` first, so a message is handled once, however many
      copies arrive and whichever process they reach, and a handler that raises or
      answers an error leaves the id free for the sender's retry. The admin lists what
      was received and replays a message by this name;
    * otherwise a ``webhook-id`` handled in the last ``dedupe_for`` seconds (a week) is
      remembered in the ``cache``, with the cache's limits (see
      :mod:`webhooks_app.inbox.seen`); ``dedupe_for=None`` turns that off;
    * either way ids are scoped: by ``scope(request)`` (a tenant's key, say), by
      default by a fingerprint of the secret that verified, so tenants with their own
      secrets have their own ids. A duplicate is answered 200 without running the
      handler;
    * the handler may return a response; otherwise the answer is ``204 No Content``.
    """

    def decorator(handler: Handler) -> Callable[..., HttpResponse]:
        guard = guard_for(handler, inbox=inbox, cache=cache, dedupe_for=dedupe_for)

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
            if scope is not None:
                scope_ = str(scope(request))
            else:
                scope_ = secret_scope(body, request.headers, secrets_, schemes=schemes)
            return guard(
                request, scope_, payload, lambda: handler(request, payload, *args, **kwargs)
            )

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
