"""Running a handler once per message, in the transaction that records the message.

The inbox row is inserted first, in the handler's own transaction, under a unique
(scope, msg_id) constraint: a second copy of the message waits on that insert until the
first copy's transaction ends. If it committed, the copy is answered 200 without running
the handler; if it rolled back (the handler raised or answered an error), the copy runs
the handler. So the id is taken exactly when the handler's writes are, on every database.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, IntegrityError, router, transaction
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from webhooks_app.inbox.handlers import answer
from webhooks_app.inbox.models import KEY_LENGTH, Message
from webhooks_app.signing import RESERVED_HEADERS

logger = logging.getLogger(__name__)

Run = Callable[[], HttpResponse | None]

# What a replay needs and an operator reads; not the host's own extra headers, which
# may carry credentials (an Authorization, an API key).
KEPT_HEADERS = frozenset({"content-type", "user-agent", "host"} | RESERVED_HEADERS)
KEPT_PREFIXES = ("webhook-", "x-webhook-")


@dataclass(frozen=True)
class Received:
    """One verified message, as the inbox stores it."""

    handler: str
    scope: str
    msg_id: str
    path: str
    headers: dict[str, str]
    body: str
    payload: str

    @classmethod
    def of(cls, request: HttpRequest, handler: str, scope: str, payload: Any) -> Received:
        return cls(
            handler=handler,
            scope=fit(scope),
            msg_id=fit(request.headers.get("webhook-id", "")),
            path=request.path_info,
            headers=kept_headers(request),
            body=storable(request.body),
            # ensure_ascii: NULs and lone surrogates become escapes every database stores.
            payload=json.dumps(payload),
        )


def receive(received: Received, run: Run) -> HttpResponse:
    """Run the handler unless this message's id was handled in its scope already."""
    return _handle(
        claim=lambda: _claim(received),
        run=run,
        on_failure=lambda error: _record_failure(received, error),
    )


def rerun(message: Message, run: Run) -> HttpResponse:
    """Run the handler again for a stored message, whatever its status (a replay)."""
    return _handle(
        claim=lambda: _mark_handled(Message.objects.filter(pk=message.pk)) > 0,
        run=run,
        on_failure=lambda error: _note_failure(message.pk, error),
    )


def _handle(claim: Callable[[], bool], run: Run, on_failure: Callable[[str], None]) -> HttpResponse:
    using = router.db_for_write(Message)
    try:
        with transaction.atomic(using=using):
            if not claim():
                return HttpResponse(status=200)  # handled already: the sender may stop
            response = answer(run())
            failed = not 200 <= response.status_code < 300
            # An error answer undoes the handler's writes and the claim alike: the
            # sender's retry must find the id free.
            transaction.set_rollback(failed, using=using)
    except Exception as exc:
        _safely(on_failure, f"{type(exc).__name__}: {exc}")
        raise
    if failed:
        _safely(on_failure, f"answered {response.status_code}")
    return response


def _claim(received: Received) -> bool:
    """Take the id for this transaction; False if a committed copy was handled."""
    try:
        # A savepoint: the insert may hit the constraint, and the transaction goes on.
        with transaction.atomic(using=router.db_for_write(Message)):
            Message.objects.create(
                **_fields(received),
                status=Message.Status.HANDLED,
                attempts=1,
                handled_at=timezone.now(),
            )
        return True
    except IntegrityError:
        pass
    # A copy whose handler failed left a failed row: this copy takes it over. (The
    # UPDATE waits for a copy still handling it, then finds it handled or failed.)
    failed = Message.objects.filter(
        scope=received.scope, msg_id=received.msg_id, status=Message.Status.FAILED
    )
    return _mark_handled(failed) > 0


def _mark_handled(rows: QuerySet[Message]) -> int:
    return rows.update(
        status=Message.Status.HANDLED,
        attempts=F("attempts") + 1,
        handled_at=timezone.now(),
        last_error="",
    )


def _record_failure(received: Received, error: str) -> None:
    """Keep a message whose handler failed, so an operator can replay it if the sender
    gives up; its id stays free for the sender's retry."""
    with transaction.atomic(using=router.db_for_write(Message)):
        same = Message.objects.filter(scope=received.scope, msg_id=received.msg_id)
        if received.msg_id and same.exists():
            # A failed row: count this attempt. A handled one: a copy won meanwhile.
            same.filter(status=Message.Status.FAILED).update(
                attempts=F("attempts") + 1, last_error=error
            )
            return
        Message.objects.create(
            **_fields(received), status=Message.Status.FAILED, attempts=1, last_error=error
        )


def _note_failure(pk: int, error: str) -> None:
    Message.objects.filter(pk=pk).update(attempts=F("attempts") + 1, last_error=error)


def _safely(record: Callable[[str], None], error: str) -> None:
    """Recording a failure must not hide it (nor turn an error answer into a 500)."""
    try:
        record(error)
    except DatabaseError:
        logger.warning("The webhooks inbox could not record a failure: %s", error, exc_info=True)


def _fields(received: Received) -> dict[str, Any]:
    return {
        "handler": received.handler,
        "scope": received.scope,
        "msg_id": received.msg_id,
        "path": received.path,
        "headers": received.headers,
        "body": received.body,
        "payload": received.payload,
    }


def fit(value: str) -> str:
    """An id or scope as stored: a longer one by its digest, which is as unique."""
    if len(value) <= KEY_LENGTH:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def kept_headers(request: HttpRequest) -> dict[str, str]:
    return {
        name.lower(): value
        for name, value in request.headers.items()
        if name.lower() in KEPT_HEADERS or name.lower().startswith(KEPT_PREFIXES)
    }


def storable(body: bytes) -> str:
    """The body as text any database stores: PostgreSQL refuses NUL characters."""
    return body.decode("utf-8", "replace").replace("\x00", "\ufffd")
