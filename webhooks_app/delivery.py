"""Claiming due deliveries, sending them in batches, and recording every attempt.

Batches are what make throughput independent of the queue's per-task cost: one task
claims up to ``BATCH_SIZE`` due deliveries, sends them over pooled connections, and
writes the outcome with a handful of bulk statements.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from webhooks_app import transport
from webhooks_app.conf import webhook_settings
from webhooks_app.dispatch import render_body
from webhooks_app.models import Delivery, DeliveryLog, DisabledReason, Event, Trigger, Webhook
from webhooks_app.signals import delivery_attempted, delivery_failed, webhook_disabled
from webhooks_app.signing import signature_headers

logger = logging.getLogger(__name__)

_DELIVERY_FIELDS = [
    "status",
    "trigger",
    "attempts",
    "next_attempt_at",
    "claim_token",
    "last_attempt_at",
    "last_status_code",
    "updated_at",
]


def lease_seconds() -> float:
    """How long a claim holds a delivery before another worker may take it over.

    Longer than a task can spend on a batch (it starts no request after TASK_TIME_LIMIT,
    and a request lasts at most TIMEOUT), so a live worker never loses its claim.
    """
    return webhook_settings.TASK_TIME_LIMIT + webhook_settings.TIMEOUT + 60


def claim(
    limit: int,
    *,
    now: datetime | None = None,
    pks: list[int] | None = None,
) -> list[Delivery]:
    """Take up to ``limit`` due deliveries of enabled webhooks for this worker."""
    now = now or timezone.now()
    token = uuid.uuid4()
    due = Delivery.objects.filter(
        status=Delivery.Status.PENDING, next_attempt_at__lte=now, webhook__enabled=True
    )
    if pks is not None:
        due = due.filter(pk__in=pks)
    due = due.order_by("next_attempt_at", "pk")
    lease_until = now + timedelta(seconds=lease_seconds())
    if connection.features.has_select_for_update_skip_locked:
        # PostgreSQL: concurrent workers skip each other's rows instead of queueing on
        # them. of=("self",) so the webhook rows joined for the filter are not locked.
        with transaction.atomic():
            ids = list(
                due.select_for_update(skip_locked=True, of=("self",)).values_list("pk", flat=True)[
                    :limit
                ]
            )
            claimed = _take(ids, now, lease_until, token)
    else:
        # SQLite: no row locks, and a read-then-write transaction can fail to upgrade
        # its lock. The conditional UPDATE alone is atomic, so only one worker's UPDATE
        # can match a row that is still due.
        claimed = _take(list(due.values_list("pk", flat=True)[:limit]), now, lease_until, token)
    if not claimed:
        return []
    return list(
        Delivery.objects.filter(claim_token=token).select_related("webhook", "event").order_by("pk")
    )


def _take(ids: list[int], now: datetime, lease_until: datetime, token: uuid.UUID) -> int:
    if not ids:
        return 0
    return Delivery.objects.filter(
        pk__in=ids, status=Delivery.Status.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=lease_until, claim_token=token)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def retry_delay(round_attempt: int, retry_after: str | None = None) -> float | None:
    """Seconds before retrying after the ``round_attempt``-th failed attempt, or None
    when the schedule is exhausted."""
    schedule = webhook_settings.RETRY_SCHEDULE
    if round_attempt > len(schedule):
        return None
    base = float(schedule[round_attempt - 1])
    jitter = float(webhook_settings.RETRY_JITTER)
    delay = base * (1 + random.uniform(-jitter, jitter))
    asked = parse_retry_after(retry_after)
    if asked is not None:
        delay = max(delay, min(asked, float(webhook_settings.MAX_RETRY_AFTER)))
    return delay


@dataclass
class _Endpoint:
    """What one batch has learnt about one webhook."""

    start: int  # consecutive failures when the batch was claimed
    counts: bool = False  # whether any attempt affects the failure counter
    had_success: bool = False
    trailing: int = 0  # failures since the last success in this batch
    stopped: bool = False
    resume_at: datetime | None = None
    gone: bool = False
    last_error: str = ""

    @property
    def failures(self) -> int:
        return self.trailing if self.had_success else self.start + self.trailing


def build_headers(delivery: Delivery, attempt_uuid: uuid.UUID, body: bytes) -> dict[str, str]:
    event, webhook = delivery.event, delivery.webhook
    return {
        "Content-Type": "application/json",
        "User-Agent": webhook_settings.user_agent,
        "X-Header": webhook_settings.x_header,
        "X-Webhook-Event": event.event_type,
        "X-Webhook-Delivery": str(attempt_uuid),
        **signature_headers(webhook.signing_secrets(), event.msg_id, int(time.time()), body),
    }


def send_batch(deliveries: list[Delivery], *, deadline: float | None = None) -> int:
    """Send claimed deliveries and record the outcome. Returns how many were attempted."""
    threshold = webhook_settings.FAILURE_THRESHOLD
    token = deliveries[0].claim_token if deliveries else None
    endpoints: dict[int, _Endpoint] = {}
    logs: list[DeliveryLog] = []
    finished: list[Delivery] = []
    gave_up: list[tuple[Delivery, DeliveryLog]] = []

    for delivery in deliveries:
        webhook = delivery.webhook
        state = endpoints.setdefault(webhook.pk, _Endpoint(start=webhook.consecutive_failures))
        now = timezone.now()
        if state.stopped or (deadline is not None and time.monotonic() > deadline):
            # Not attempted: due again when the endpoint is next tried (or at once if the
            # task ran out of time), with its attempt count unchanged.
            delivery.next_attempt_at = state.resume_at or now
            delivery.claim_token = None
            delivery.updated_at = now
            finished.append(delivery)
            continue

        body = delivery.event.body.encode("utf-8")
        attempt_uuid = uuid.uuid4()
        headers: dict[str, str] = {}
        try:
            headers = build_headers(delivery, attempt_uuid, body)
            response = transport.post(webhook.url, body, headers, verify_tls=webhook.verify_tls)
        except Exception as exc:
            # Recorded as this delivery's failure: raising would lose the outcome of every
            # other delivery of the batch, and they would all be sent again.
            logger.exception("Delivery %s could not be attempted", delivery.pk)
            response = transport.Response(error=f"Could not send: {exc!r}")
        now = timezone.now()

        trigger = delivery.trigger
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.last_status_code = response.status
        delivery.claim_token = None
        delivery.updated_at = now
        log = DeliveryLog(
            uuid=attempt_uuid,
            delivery=delivery,
            webhook_id=webhook.pk,
            project_id=webhook.project_id,
            event_id=delivery.event_id,
            event_type=delivery.event.event_type,
            attempt=delivery.attempts,
            trigger=trigger,
            url=webhook.url,
            request_headers=headers,
            response_status=response.status,
            response_headers=response.headers,
            response_body=response.body,
            duration_ms=round(response.duration_ms, 2),
            error=response.error,
            created_at=now,
        )
        # A test ping neither counts towards the consecutive failures nor resets them
        # (a 410 Gone still disables the endpoint: it says the endpoint is gone).
        counts = trigger != Trigger.TEST
        state.counts = state.counts or counts

        if response.ok:
            log.outcome = DeliveryLog.Outcome.SUCCESS
            delivery.status = Delivery.Status.SUCCEEDED
            delivery.next_attempt_at = None
            if counts:
                state.had_success, state.trailing = True, 0
        else:
            log.outcome = DeliveryLog.Outcome.FAILURE
            state.last_error = response.error or f"HTTP {response.status}"
            delay = None
            if response.status == 410:
                state.gone = state.stopped = True
            elif trigger != Trigger.TEST:
                delay = retry_delay(
                    delivery.attempts - delivery.round_offset, response.headers.get("Retry-After")
                )
            if delay is None:
                delivery.status = Delivery.Status.FAILED
                delivery.next_attempt_at = None
                gave_up.append((delivery, log))
            else:
                delivery.trigger = Trigger.RETRY
                delivery.next_attempt_at = log.next_attempt_at = now + timedelta(seconds=delay)
            if counts:
                state.trailing += 1
                if (
                    response.transport_failure
                    or response.status in (408, 429)
                    or (response.status is not None and response.status >= 500)
                ):
                    # The endpoint is down or overloaded: sending it the rest of this
                    # batch now would only pile up failures and hold up other endpoints.
                    state.stopped = True
                if state.failures >= threshold:
                    state.stopped = True
                if state.stopped:
                    state.resume_at = delivery.next_attempt_at
        logs.append(log)
        finished.append(delivery)

    disabled = _record(finished, logs, endpoints, threshold, token)
    transaction.on_commit(lambda: _after_commit(logs, gave_up, disabled))
    return len(logs)


def _save_deliveries(finished: list[Delivery], token: uuid.UUID | None) -> None:
    """One parametrised UPDATE run for every row.

    ``bulk_update`` builds a CASE WHEN per field per row, which cost more than the HTTP
    requests themselves. The claim token in the WHERE clause means a worker whose claim
    had expired (and was taken over) cannot overwrite the new holder's outcome.
    """
    if not finished:
        return
    meta = Delivery._meta
    qn = connection.ops.quote_name
    fields = [meta.get_field(name) for name in _DELIVERY_FIELDS]
    token_field = meta.get_field("claim_token")
    sql = "UPDATE {} SET {} WHERE {} = %s AND {} = %s".format(
        qn(meta.db_table),
        ", ".join(f"{qn(f.column)} = %s" for f in fields),
        qn(meta.pk.column),
        qn(token_field.column),
    )
    prepared_token = token_field.get_db_prep_save(token, connection)
    rows = [
        [f.get_db_prep_save(getattr(d, f.attname), connection) for f in fields]
        + [d.pk, prepared_token]
        for d in finished
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _record(
    finished: list[Delivery],
    logs: list[DeliveryLog],
    endpoints: dict[int, _Endpoint],
    threshold: int,
    token: uuid.UUID | None,
) -> list[tuple[Webhook, str, str]]:
    disabled: list[tuple[Webhook, str, str]] = []
    now = timezone.now()
    with transaction.atomic():
        # A webhook deleted while its deliveries were in flight took them with it; their
        # logs would break the foreign keys and roll back the whole batch's outcome.
        # Locked, so they cannot go between this check and the commit.
        alive = set(
            Delivery.objects.filter(pk__in=[d.pk for d in finished])
            .select_for_update()
            .values_list("pk", flat=True)
        )
        DeliveryLog.objects.bulk_create([log for log in logs if log.delivery_id in alive])
        _save_deliveries([d for d in finished if d.pk in alive], token)
        # Sorted: workers sharing endpoints lock their rows in one order, or two
        # batches each holding one webhook row and wanting the other deadlock.
        for pk, state in sorted(endpoints.items()):
            if not (state.counts or state.gone):
                continue
            webhooks = Webhook.objects.filter(pk=pk)
            # Atomic in SQL, never read-modify-write: several workers may be recording
            # results for the same endpoint at once.
            if state.counts and state.had_success:
                # Filtered so a healthy endpoint's row is not rewritten (and locked) by
                # every batch.
                webhooks.exclude(consecutive_failures=state.trailing).update(
                    consecutive_failures=state.trailing
                )
            elif state.counts and state.trailing:
                webhooks.update(consecutive_failures=F("consecutive_failures") + state.trailing)
            if state.gone:
                reason, detail = DisabledReason.GONE, "The endpoint answered 410 Gone."
                hit = webhooks.filter(enabled=True)
            elif state.trailing:
                reason = DisabledReason.FAILURES
                detail = f"{threshold} consecutive failed deliveries; last: {state.last_error}"
                hit = webhooks.filter(enabled=True, consecutive_failures__gte=threshold)
            else:
                continue
            # Only the worker whose UPDATE flips the flag reports it.
            if hit.update(
                enabled=False, disabled_at=now, disabled_reason=reason, disabled_detail=detail
            ):
                disabled.append((Webhook.objects.get(pk=pk), reason, detail))
    return disabled


def _after_commit(logs, gave_up, disabled) -> None:
    for log in logs:
        delivery_attempted.send(sender=DeliveryLog, log=log)
    for delivery, log in gave_up:
        delivery_failed.send(sender=Delivery, delivery=delivery, log=log)
    for webhook, reason, detail in disabled:
        logger.warning("Webhook %s (%s) disabled: %s", webhook.pk, webhook.url, detail)
        webhook_disabled.send(sender=Webhook, webhook=webhook, reason=reason, detail=detail)


def new_claim(now: datetime | None = None) -> tuple[uuid.UUID, datetime]:
    """A claim token and its lease end, for code that claims rows as it writes them."""
    return uuid.uuid4(), (now or timezone.now()) + timedelta(seconds=lease_seconds())


def send_claimed(pk: int, token: uuid.UUID) -> Delivery:
    """Send one delivery this process claimed with ``token`` (test pings, "redeliver
    now"), and return it with its outcome. Claiming in the same statement that made the
    delivery due means no worker can take it in between."""
    claimed = list(
        Delivery.objects.filter(pk=pk, claim_token=token).select_related("webhook", "event")
    )
    if claimed:
        send_batch(claimed)
    return Delivery.objects.select_related("webhook", "event").get(pk=pk)


def send_test(webhook: Webhook) -> Delivery:
    """Send a ``ping`` to one webhook now, in this process, and return its delivery.

    Works on a disabled webhook too: checking an endpoint before re-enabling it is the
    point of a test.
    """
    now = timezone.now()
    token, lease_until = new_claim(now)
    data = {"webhook": {"uuid": str(webhook.uuid), "name": webhook.name, "url": webhook.url}}
    with transaction.atomic():
        event = Event.objects.create(
            event_type="ping",
            project_id=webhook.project_id,
            body=render_body("ping", data, now, None),
            created_at=now,
        )
        delivery = Delivery.objects.create(
            webhook=webhook,
            event=event,
            trigger=Trigger.TEST,
            next_attempt_at=lease_until,
            claim_token=token,
            created_at=now,
        )
    return send_claimed(delivery.pk, token)


def drain(
    *,
    time_limit: float | None = None,
    now: datetime | None = None,
    on_full_batch: Callable[[], None] | None = None,
) -> int:
    """Claim and send batches until nothing is due or the time limit is reached.

    Returns how many attempts were made.
    """
    limit = webhook_settings.TASK_TIME_LIMIT if time_limit is None else time_limit
    deadline = time.monotonic() + limit
    size = webhook_settings.BATCH_SIZE
    attempted = 0
    while time.monotonic() < deadline:
        batch = claim(size, now=now)
        if not batch:
            break
        if len(batch) == size and on_full_batch is not None:
            on_full_batch()
        attempted += send_batch(batch, deadline=deadline)
    return attempted


def has_due(now: datetime | None = None) -> bool:
    return Delivery.objects.filter(
        status=Delivery.Status.PENDING,
        next_attempt_at__lte=now or timezone.now(),
        webhook__enabled=True,
    ).exists()
