"""Recording what a group of attempts did: each attempt's log, each delivery's next
state, and each endpoint's failure count, pause and disabling.

Idempotent, so that a group whose commit may or may not have happened (the connection
dropped as it committed) can simply be recorded again on a new connection: only the
deliveries still held under the claim token that sent them are recorded, and recording
clears the token. A delivery deleted meanwhile (its webhook was deleted) is skipped.

Everything here runs inside the caller's transaction; the signals go out after it
commits.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from webhooks_app.engine.claims import Claimed
from webhooks_app.engine.policy import EndpointTally, RetryPolicy, Verdict
from webhooks_app.engine.sql import prepare_value, preparer
from webhooks_app.engine.transport import Response
from webhooks_app.models import Delivery, DeliveryLog, Trigger, Webhook, WebhookStatus
from webhooks_app.signals import delivery_attempted, delivery_failed, webhook_disabled

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Attempt:
    """One request made for a claimed delivery, and what came back."""

    claimed: Claimed
    uuid: uuid.UUID  # X-Webhook-Delivery
    request_headers: dict[str, str]
    response: Response
    finished_at: datetime

    @property
    def number(self) -> int:
        return self.claimed.attempts + 1


@dataclass(slots=True)
class Judged:
    attempt: Attempt
    verdict: Verdict

    @property
    def status(self) -> str:
        if self.verdict.succeeded:
            return str(Delivery.Status.SUCCEEDED)
        status = Delivery.Status.PENDING if self.verdict.retry_at else Delivery.Status.FAILED
        return str(status)

    def as_log(self) -> DeliveryLog:
        """The attempt as its log row (not read back from the database), with its
        delivery in the state the attempt left it."""
        attnames = [DeliveryLog._meta.get_field(name).attname for name in _LOG_FIELDS]
        log = DeliveryLog(**dict(zip(attnames, _log_row(self), strict=True)))
        log._state.adding = False
        claimed = self.attempt.claimed
        log.delivery = Delivery(
            pk=claimed.id,
            webhook_id=claimed.webhook_id,
            event_id=claimed.event_id,
            status=self.status,
            attempts=self.attempt.number,
            next_attempt_at=self.verdict.retry_at,
            last_attempt_at=self.attempt.finished_at,
            last_status_code=self.attempt.response.status,
        )
        log.delivery._state.adding = False
        return log


@dataclass
class Recorded:
    """What a group's recording did, announced by signals once it commits."""

    judged: list[Judged] = field(default_factory=list)
    disabled: list[tuple[int, str, str]] = field(default_factory=list)
    # Endpoints that must get nothing more now: paused until a retry, or disabled.
    stopped: set[int] = field(default_factory=set)

    def announce(self) -> None:
        for webhook_id, _reason, detail in self.disabled:
            logger.warning("Webhook %s disabled: %s", webhook_id, detail)
        if delivery_attempted.has_listeners(DeliveryLog) or delivery_failed.has_listeners(Delivery):
            for item in self.judged:
                log = item.as_log()
                delivery_attempted.send(sender=DeliveryLog, log=log)
                if item.verdict.gave_up:
                    delivery_failed.send(sender=Delivery, delivery=log.delivery, log=log)
        if self.disabled and webhook_disabled.has_listeners(Webhook):
            webhooks = Webhook.objects.in_bulk([pk for pk, _, _ in self.disabled])
            for webhook_id, reason, detail in self.disabled:
                if webhook_id in webhooks:
                    webhook_disabled.send(
                        sender=Webhook, webhook=webhooks[webhook_id], reason=reason, detail=detail
                    )


def record(
    attempts: Sequence[Attempt], policy: RetryPolicy, now: datetime | None = None
) -> Recorded:
    """Record ``attempts`` (see the module docstring); announce them after commit.
    Retries are scheduled from ``now`` (the clock the worker claims by)."""
    if not attempts:
        return Recorded()
    now = now or timezone.now()
    # Judged before knowing which are still held: judging reads nothing, and the write
    # that finds out is then one statement on PostgreSQL.
    judged = [Judged(a, _judge(a, policy, now)) for a in attempts]
    if connection.vendor == "postgresql":
        held = _write_postgresql(judged, now)
    else:
        held = _write_each(judged, now)
    recorded = Recorded(judged=[item for item in judged if item.attempt.claimed.id in held])
    if recorded.judged:
        recorded.disabled, recorded.stopped = _update_endpoints(recorded.judged, policy, now)
        transaction.on_commit(recorded.announce)
    return recorded


def _judge(attempt: Attempt, policy: RetryPolicy, now: datetime) -> Verdict:
    claimed, response = attempt.claimed, attempt.response
    return policy.judge(
        status=response.status,
        transport_failure=response.transport_failure,
        retry_after=response.headers.get("Retry-After"),
        round_attempt=attempt.number - claimed.round_offset,
        test=claimed.trigger == Trigger.TEST,
        now=now,
    )


_LOG_FIELDS = (
    "uuid",
    "delivery",
    "webhook",
    "project",
    "event",
    "event_type",
    "attempt",
    "trigger",
    "url",
    "request_headers",
    "response_status",
    "response_headers",
    "response_body",
    "duration_ms",
    "error",
    "outcome",
    "next_attempt_at",
    "created_at",
)


def _log_row(item: Judged) -> tuple[Any, ...]:
    """An attempt log's values, in ``_LOG_FIELDS`` order."""
    attempt, verdict = item.attempt, item.verdict
    claimed, response = attempt.claimed, attempt.response
    outcome = DeliveryLog.Outcome.SUCCESS if verdict.succeeded else DeliveryLog.Outcome.FAILURE
    return (
        attempt.uuid,
        claimed.id,
        claimed.webhook_id,
        claimed.project_id,
        claimed.event_id,
        claimed.event_type,
        attempt.number,
        claimed.trigger,
        claimed.url,
        attempt.request_headers,
        response.status,
        response.headers,
        response.body,
        round(response.duration_ms, 2),
        response.error,
        outcome,
        verdict.retry_at,
        attempt.finished_at,
    )


# The log's columns a delivery has too, which the log copies from it.
_FROM_DELIVERY = ("webhook", "event")

# The delivery's new state: these columns, then its id.
_DELIVERY_FIELDS = (
    "status",
    "trigger",
    "attempts",
    "next_attempt_at",
    "claim_token",
    "last_attempt_at",
    "last_status_code",
    "updated_at",
)


def _delivery_row(item: Judged, now: datetime) -> tuple[Any, ...]:
    """A delivery's new state after ``item``, in ``_DELIVERY_FIELDS`` order."""
    claimed, verdict = item.attempt.claimed, item.verdict
    trigger = Trigger.RETRY if verdict.retry_at else claimed.trigger
    status = item.attempt.response.status
    return (item.status, trigger, item.attempt.number, verdict.retry_at, None, now, status, now)


# -- PostgreSQL: one statement, its text fixed ------------------------------------------


@cache
def _postgresql_statement() -> tuple[str, tuple[str, ...]]:
    """Lock the deliveries still held by the tokens that sent them (in id order, as
    every writer of these rows does), write their new state and their attempts' logs,
    and return their ids; and the names of the JSON records' keys.

    The group comes as one JSON document, a record per attempt: the text never changes
    with the group's size, and the values to bind are one string, which the standard
    library's encoder writes (quoting hundreds of values one by one in the driver cost
    more than the statement), and the ids. The ids find the deliveries by their primary
    key: the planner guesses a JSON document holds 100 records, and joining on it alone
    read the whole table while it was small (a third of the statement's time)."""
    qn = connection.ops.quote_name
    delivery, log = Delivery._meta, DeliveryLog._meta
    log_columns = [log.get_field(name) for name in _LOG_FIELDS]
    state_columns = [delivery.get_field(name) for name in _DELIVERY_FIELDS]
    inputs = [("id", delivery.pk), ("token", delivery.get_field("claim_token"))]
    inputs += [(f"log_{f.column}", f) for f in log_columns]
    inputs += [(f"new_{f.column}", f) for f in state_columns]
    record_type = ", ".join(f"{name} {field.db_type(connection)}" for name, field in inputs)
    pk = qn(delivery.pk.column)
    assignments = ", ".join(f"{qn(f.column)} = a.new_{f.column}" for f in state_columns)
    # The log's event and webhook come from the delivery row held locked, not from the
    # record: the database does not check them (see DeliveryLog), so they are the
    # delivery's by construction.
    parents = [delivery.get_field(name).column for name in _FROM_DELIVERY]
    chosen = [
        f"h.{qn(f.column)}" if f.name in _FROM_DELIVERY else f"a.log_{f.column}"
        for f in log_columns
    ]
    sql = (
        f"WITH a AS (SELECT * FROM json_to_recordset(%s::json) AS a({record_type})), "
        f"held AS (SELECT d.{pk} AS id, {', '.join(f'd.{qn(c)}' for c in parents)} "
        f"FROM {qn(delivery.db_table)} d "
        f"JOIN a ON a.id = d.{pk} AND d.{qn('claim_token')} = a.token "
        f"WHERE d.{pk} = ANY(%s::bigint[]) ORDER BY 1 FOR UPDATE OF d), "
        f"updated AS (UPDATE {qn(delivery.db_table)} d SET {assignments} FROM a "
        f"WHERE d.{pk} = a.id AND a.id IN (SELECT id FROM held)), "
        f"logged AS (INSERT INTO {qn(log.db_table)} "
        f"({', '.join(qn(f.column) for f in log_columns)}) "
        f"SELECT {', '.join(chosen)} FROM a JOIN held h ON h.id = a.id) "
        "SELECT id FROM held"
    )
    return sql, tuple(name for name, _ in inputs)


def _write_postgresql(judged: Sequence[Judged], now: datetime) -> set[int]:
    # Keys in the order the record is built: the delivery and its claim, the log's
    # columns, the delivery's new state.
    statement, names = _postgresql_statement()
    records = [
        dict(
            zip(
                names,
                _as_json(
                    (
                        item.attempt.claimed.id,
                        item.attempt.claimed.token,
                        *_log_row(item),
                        *_delivery_row(item, now),
                    )
                ),
                strict=True,
            )
        )
        for item in judged
    ]
    with connection.cursor() as cursor:
        ids = [item.attempt.claimed.id for item in judged]
        cursor.execute(statement, [json.dumps(records, default=_json_value), ids])
        return {pk for (pk,) in cursor.fetchall()}


# Datetimes and UUIDs as PostgreSQL reads them back (ISO 8601 with the offset), made
# text before encoding: the encoder's ``default`` hook, called per value, cost three
# times the encoding itself.
_AS_TEXT: dict[type, Any] = {datetime: datetime.isoformat, uuid.UUID: str}


def _as_json(values: Sequence[Any]) -> list[Any]:
    return [_AS_TEXT[type(v)](v) if type(v) in _AS_TEXT else v for v in values]


def _json_value(value: Any) -> str:
    """What ``_as_json`` did not make text: subclasses (a test's frozen clock)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# -- Other databases: a read, then one statement run for every row ----------------------


def _write_each(judged: Sequence[Judged], now: datetime) -> set[int]:
    held = _still_held(judged)
    ours = [item for item in judged if item.attempt.claimed.id in held]
    if ours:
        _insert_logs(ours)
        _update_deliveries(ours, now)
    return held


def _still_held(judged: Sequence[Judged]) -> set[int]:
    """The deliveries still claimed by the tokens that sent them; locked until commit
    where the database can, so they cannot be deleted or taken over before their
    outcome is written (SQLite's write lock, taken by the transaction, does that)."""
    tokens = {item.attempt.claimed.id: item.attempt.claimed.token for item in judged}
    ids = sorted(tokens)
    qn = connection.ops.quote_name
    meta = Delivery._meta
    sql = (
        f"SELECT {qn(meta.pk.column)}, {qn('claim_token')} FROM {qn(meta.db_table)} "
        f"WHERE {qn(meta.pk.column)} IN ({', '.join(['%s'] * len(ids))})"
    )
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)
        found = cursor.fetchall()
    token_field = meta.get_field("claim_token")
    return {
        pk
        for pk, token in found
        if token is not None and token_field.to_python(token) == tokens[pk]
    }


def _insert_logs(judged: Sequence[Judged]) -> None:
    """One single-row INSERT run for every row: its text is the same every time, so the
    driver's statement cache keeps it prepared."""
    meta = DeliveryLog._meta
    qn = connection.ops.quote_name
    columns = ", ".join(qn(meta.get_field(name).column) for name in _LOG_FIELDS)
    marks = ", ".join(["%s"] * len(_LOG_FIELDS))
    prepare = preparer(DeliveryLog, _LOG_FIELDS)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES ({marks})",
            [prepare(_log_row(item)) for item in judged],
        )


def _update_deliveries(judged: Sequence[Judged], now: datetime) -> None:
    """One parametrised UPDATE run for every row: ``bulk_update`` builds a CASE per field
    per row, which costs more than the requests themselves."""
    meta = Delivery._meta
    qn = connection.ops.quote_name
    assignments = ", ".join(f"{qn(meta.get_field(n).column)} = %s" for n in _DELIVERY_FIELDS)
    sql = f"UPDATE {qn(meta.db_table)} SET {assignments} WHERE {qn(meta.pk.column)} = %s"
    prepare = preparer(Delivery, (*_DELIVERY_FIELDS, "id"))
    rows = [prepare((*_delivery_row(item, now), item.attempt.claimed.id)) for item in judged]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _update_endpoints(
    judged: Sequence[Judged], policy: RetryPolicy, now: datetime
) -> tuple[list[tuple[int, str, str]], set[int]]:
    tallies: dict[int, EndpointTally] = {}
    for item in sorted(judged, key=lambda j: j.attempt.finished_at):
        response = item.attempt.response
        tally = tallies.setdefault(item.attempt.claimed.webhook_id, EndpointTally())
        tally.add(item.verdict, response.error or f"HTTP {response.status}")
    disabled = []
    # Sorted: workers sharing endpoints lock their rows in one order, or two groups each
    # holding one webhook row and wanting the other deadlock.
    for webhook_id, tally in sorted(tallies.items()):
        change = _endpoint_change(webhook_id, tally, policy, now)
        if change is not None:
            disabled.append(change)
    stopped = {pk for pk, tally in tallies.items() if tally.pause_until is not None}
    return disabled, stopped | {pk for pk, _, _ in disabled}


def _endpoint_change(
    webhook_id: int, tally: EndpointTally, policy: RetryPolicy, now: datetime
) -> tuple[int, str, str] | None:
    # Atomic in SQL, never read-modify-write: several workers may be recording results
    # for the same endpoint at once.
    if tally.counted and tally.had_success:
        _reset_failures(webhook_id, tally)
    if not (tally.trailing or tally.given_up or tally.gone):
        return None  # a healthy endpoint's group (most groups): nothing more to write
    webhook = Webhook.objects.filter(pk=webhook_id)
    if tally.counted and tally.trailing and not tally.had_success:
        webhook.update(
            consecutive_failures=F("consecutive_failures") + tally.trailing,
            paused_until=tally.pause_until,
        )
    if tally.given_up:
        # Counted for the managers' digest (notifications.py); rare, so its own statement.
        webhook.update(given_up_unreported=Coalesce("given_up_unreported", 0) + tally.given_up)
    if tally.gone:
        status, detail = WebhookStatus.GONE, "The endpoint answered 410 Gone."
        hit = webhook.active()
    elif tally.trailing:
        status, detail = WebhookStatus.AUTO_DISABLED, tally.describe(policy.failure_threshold)
        hit = webhook.active().filter(consecutive_failures__gte=policy.failure_threshold)
    else:
        return None
    # Disabled after failures, the retry the last failure scheduled is still made once
    # (probes.py): the schedule's last retry is sent, though nothing new is.
    probe = {"probe_at": tally.retry_at} if status == WebhookStatus.AUTO_DISABLED else {}
    # Only the worker whose UPDATE flips the flag reports it.
    if hit.update(status=status, disabled_at=now, disabled_detail=detail, **probe):
        return (webhook_id, str(status), detail)
    return None


def _reset_failures(webhook_id: int, tally: EndpointTally) -> None:
    """After a success: the failures since it, and the pause they call for. Filtered, so
    a healthy endpoint's row is not rewritten (and locked) by every group; a fixed
    statement, as every group of a healthy endpoint runs it."""
    meta = Webhook._meta
    qn = connection.ops.quote_name
    failures, paused = qn("consecutive_failures"), qn("paused_until")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {qn(meta.db_table)} SET {failures} = %s, {paused} = %s "
            f"WHERE {qn(meta.pk.column)} = %s AND NOT ({failures} = %s AND {paused} IS NULL)",
            [
                tally.trailing,
                _prepare_pause(tally.pause_until),
                webhook_id,
                tally.trailing,
            ],
        )


def _prepare_pause(value: datetime | None) -> Any:
    return None if value is None else prepare_value(Webhook, "paused_until", value)
