"""Claiming due deliveries for one worker, fairly across endpoints.

A worker asks for as many deliveries as it has room for. Each endpoint with due
deliveries gets a quota, and the quotas are dealt one delivery at a time, the
longest-waiting endpoint first, so one endpoint's backlog never fills a batch while
others wait. An endpoint's quota is:

* nothing while another worker works it: a worker that takes an endpoint's deliveries
  leases the endpoint (``Webhook.worked_by``), and sends them ``ENDPOINT_CONCURRENCY`` at
  a time, so no more than that is ever in flight to it across workers and clusters;
* ``ENDPOINT_HOLD`` (at least twice ``ENDPOINT_CONCURRENCY``), minus what is held of it:
  one transaction claims (and records) dozens of a fast endpoint's deliveries. A slow
  one is held only ``ENDPOINT_CONCURRENCY`` deep, so its backlog never fills a worker;
* nothing while it is paused: an endpoint that is down or overloaded waits for its next
  retry; then one delivery at a time until one succeeds (a probe: a dead endpoint is
  not sent a batch to fail);
* within its rate limit, if it has one: deliveries are spaced ``1 / rate_limit``
  seconds apart on a schedule stored with the webhook (GCRA), at most one second ahead.

A worker's claims and endpoint leases last ``WORKER_LEASE`` seconds and are renewed
every ``RENEW_EVERY`` while it holds them (:func:`renew`), so a worker that dies, idle
or busy, frees its endpoints and deliveries within seconds.

On PostgreSQL the endpoints being planned are locked (``SKIP LOCKED``); a claim writes
its lease into the endpoint's row, so a planner that locks the row after that commit
re-reads the lease and skips it. SQLite has one writer at a time. Claiming takes the
rows in one statement that returns them with what sending needs, and never scans
delivered rows.

Every function here runs inside the caller's transaction.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction

from webhooks_app.conf import webhook_settings
from webhooks_app.engine.sql import prepare_value, preparer
from webhooks_app.models import Delivery, Event, Webhook
from webhooks_app.signing import SigningSecrets, active_secrets

# Deliveries of one endpoint a worker may hold at once (sending or queued to send).
ENDPOINT_HOLD = 32
# A worker's claims and endpoint leases end this many seconds after their last renewal,
# and are renewed this often: a dead worker's endpoints are free again within seconds.
# (Five renewals to a lease: a live worker whose database stalls a moment keeps it.)
WORKER_LEASE = 10.0
RENEW_EVERY = 2.0


def endpoint_hold() -> int:
    return max(ENDPOINT_HOLD, 2 * webhook_settings.ENDPOINT_CONCURRENCY)


def lease_seconds() -> float:
    """How long a one-off claim holds a delivery: one sent here and now by the process
    that wrote it (a test ping, a "redeliver now"), which renews nothing. Longer than
    its request can last (TIMEOUT) plus recording it."""
    return webhook_settings.TIMEOUT + 60


def new_claim(now: datetime) -> tuple[uuid.UUID, datetime]:
    """A claim token and its lease end, for code that claims rows as it writes them."""
    return uuid.uuid4(), now + timedelta(seconds=lease_seconds())


def worker_lease_end(now: datetime) -> datetime:
    return now + timedelta(seconds=WORKER_LEASE)


@dataclass(slots=True)
class Claimed:
    """One delivery this worker holds, with everything sending and recording need."""

    id: int
    token: uuid.UUID
    webhook_id: int
    project_id: Any  # the webhook's project (None: an organisation's, installation-wide)
    event_id: int
    event_uuid: uuid.UUID
    event_type: str
    body: bytes
    url: str
    secrets: SigningSecrets
    verify_tls: bool
    schemes: tuple[str, ...]
    extra_headers: dict[str, str]
    form: bool  # sent as payload=<the JSON>, form-encoded
    signing_key: str  # the whsk_ key of v1a signatures, if the webhook has one
    attempts: int
    round_offset: int
    trigger: str
    due_at: datetime  # when it was due (what a release puts back)
    send_at: datetime | None = None  # not before (rate limit)
    # The event's project (when it has one): the plan gate's subject for deliveries to an
    # organisation's or installation-wide webhook.
    event_project_id: Any = None

    @property
    def msg_id(self) -> str:
        return f"msg_{self.event_uuid.hex}"


@dataclass(slots=True)
class Endpoint:
    id: int
    probing: bool  # its pause has ended, and nothing has succeeded since
    in_flight: int  # held by any worker: claimed, lease not over
    rate_limit: int | None
    next_slot_at: datetime | None
    oldest_due: datetime

    def room(self, now: datetime, *, slow: bool = False) -> int:
        if self.probing:
            held = 1
        elif slow:
            held = webhook_settings.ENDPOINT_CONCURRENCY
        else:
            held = endpoint_hold()
        room = held - self.in_flight
        if self.rate_limit:
            start = max(self.next_slot_at or now, now)
            ahead = (start - now).total_seconds()
            room = min(room, math.floor((1.0 - ahead) * self.rate_limit + 1e-9))
        return max(room, 0)

    def slots(self, count: int, now: datetime) -> list[datetime | None]:
        """When each of ``count`` deliveries may start."""
        if not self.rate_limit:
            return [None] * count
        start = max(self.next_slot_at or now, now)
        step = timedelta(seconds=1 / self.rate_limit)
        return [start + i * step for i in range(count)]


def claim(
    limit: int,
    now: datetime,
    *,
    token: uuid.UUID | None = None,
    slow: Collection[int] = (),
    leased: set[int] | None = None,
) -> list[Claimed]:
    """Take up to ``limit`` due deliveries for the worker holding ``token`` (a new one if
    None), and lease their endpoints to it (see the module docstring). ``slow``: endpoints
    to hold only ENDPOINT_CONCURRENCY deep. ``leased``: the endpoints this worker knows it
    leases, kept up to date here (it saves writing a lease it already holds)."""
    token = token or uuid.uuid4()
    leased = set() if leased is None else leased
    endpoints = _endpoints_with_due_work(now, token)
    quotas = deal(endpoints, limit, now, slow)
    if not quotas:
        return []
    lease_until = worker_lease_end(now)
    taken = _take(quotas, token, now, lease_until)
    _lease_endpoints({c.webhook_id for c in taken} - leased, token, lease_until)
    leased.update(c.webhook_id for c in taken)
    _schedule_rate_limited([e for e in endpoints if e.rate_limit], taken, now)
    return taken


def hold(claimed: Collection[Claimed], until: datetime) -> None:
    """Give back deliveries that must not go out now, unsent, due again at ``until``; their
    endpoints wait until then too (so no worker claims them again meanwhile)."""
    ids = [c.id for c in claimed]
    endpoints = sorted({c.webhook_id for c in claimed})
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE webhooks_app_delivery SET claim_token = NULL, next_attempt_at = %s "
            f"WHERE id IN ({_marks(ids)})",
            [_prep_datetime(until), *ids],
        )
        cursor.execute(
            f"UPDATE webhooks_app_webhook SET paused_until = %s WHERE id IN ({_marks(endpoints)})",
            [_prep_datetime(until), *endpoints],
        )


def renew(
    token: uuid.UUID,
    holding: Collection[int],
    keep: Collection[int],
    drop: Collection[int],
    now: datetime,
) -> None:
    """A live worker's leases, renewed: the deliveries it is ``holding`` (ids) and the
    endpoints it will go on sending to (``keep``). The endpoints it is done with
    (``drop``) are given up, so another worker may take them at once."""
    until = _prep_datetime(worker_lease_end(now))
    prepared = _prep_uuid(token)
    with connection.cursor() as cursor:
        if holding:
            cursor.execute(
                "UPDATE webhooks_app_delivery SET next_attempt_at = %s "
                f"WHERE claim_token = %s AND id IN ({_marks(holding)})",
                [until, prepared, *holding],
            )
        if keep:
            cursor.execute(
                "UPDATE webhooks_app_webhook SET worked_until = %s "
                f"WHERE worked_by = %s AND id IN ({_marks(keep)})",
                [until, prepared, *keep],
            )
        if drop:
            cursor.execute(
                "UPDATE webhooks_app_webhook SET worked_by = NULL, worked_until = NULL "
                f"WHERE worked_by = %s AND id IN ({_marks(drop)})",
                [prepared, *drop],
            )


def _lease_endpoints(endpoints: Collection[int], token: uuid.UUID, until: datetime) -> None:
    if not endpoints:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE webhooks_app_webhook SET worked_by = %s, worked_until = %s "
            f"WHERE id IN ({_marks(endpoints)})",
            [_prep_uuid(token), _prep_datetime(until), *endpoints],
        )


def _marks(values: Collection[Any]) -> str:
    return ", ".join(["%s"] * len(values))


def release(claimed: Sequence[Claimed]) -> None:
    """Give back deliveries this worker holds but did not send (their endpoint was paused
    or disabled meanwhile, or the task ran out of time): due again, attempts unchanged."""
    if not claimed:
        return
    with connection.cursor() as cursor:
        prepare = preparer(Delivery, ("next_attempt_at", "id", "claim_token"))
        cursor.executemany(
            "UPDATE webhooks_app_delivery SET claim_token = NULL, next_attempt_at = %s "
            "WHERE id = %s AND claim_token = %s",
            [prepare((c.due_at, c.id, c.token)) for c in claimed],
        )


def has_due_work(now: datetime, token: uuid.UUID | None = None) -> bool:
    """Whether a claim now could take anything (for the worker holding ``token``; None:
    a worker that holds nothing); a read, for deciding to open one."""
    return bool(_endpoints_with_due_work(now, token, lock=False))


def oldest_unworked(now: datetime) -> datetime | None:
    """When the longest-waiting delivery that a worker holding nothing could claim now
    became due; None if there is none. A read."""
    endpoints = _endpoints_with_due_work(now, None, lock=False)
    return min((e.oldest_due for e in endpoints if e.room(now)), default=None)


def deal(
    endpoints: Sequence[Endpoint], limit: int, now: datetime, slow: Collection[int] = ()
) -> dict[int, int]:
    """Quotas by endpoint: one delivery at a time, longest-waiting endpoint first."""
    room = {e.id: e.room(now, slow=e.id in slow) for e in endpoints}
    order = [e.id for e in sorted(endpoints, key=lambda e: e.oldest_due) if room[e.id]]
    quotas: dict[int, int] = {}
    while limit > 0 and order:
        for endpoint_id in list(order):
            if limit == 0:
                break
            quotas[endpoint_id] = quotas.get(endpoint_id, 0) + 1
            limit -= 1
            if quotas[endpoint_id] >= room[endpoint_id]:
                order.remove(endpoint_id)
    return quotas


_ENDPOINT_COLUMNS = "w.id, w.paused_until, w.rate_limit, w.next_slot_at"
_IN_FLIGHT = (
    "(SELECT count(*) FROM webhooks_app_delivery f WHERE f.webhook_id = w.id "
    "AND f.claim_token IS NOT NULL AND f.status = 'pending' AND f.next_attempt_at > %(now)s)"
)
_CLAIMABLE = (
    "w.status = 'active' AND (w.paused_until IS NULL OR w.paused_until <= %(now)s) "
    "AND (w.worked_by IS NULL OR w.worked_until <= %(now)s OR w.worked_by = %(token)s)"
)


def _endpoints_with_due_work(
    now: datetime, token: uuid.UUID | None, *, lock: bool = True
) -> list[Endpoint]:
    if connection.vendor == "postgresql":
        # Driven by the webhooks: each probe is one look into the per-endpoint index,
        # and a paused endpoint's backlog is never read.
        sql = (
            f"SELECT {_ENDPOINT_COLUMNS}, due.oldest, {_IN_FLIGHT} "
            "FROM webhooks_app_webhook w CROSS JOIN LATERAL ("
            "SELECT min(d.next_attempt_at) AS oldest FROM webhooks_app_delivery d "
            "WHERE d.webhook_id = w.id AND d.status = 'pending' "
            "AND d.next_attempt_at <= %(now)s) due "
            f"WHERE {_CLAIMABLE} AND due.oldest IS NOT NULL"
        )
        if lock:
            sql += " FOR NO KEY UPDATE OF w SKIP LOCKED"
    else:
        # Driven by the due rows (the one pending index SQLite keeps).
        sql = (
            f"SELECT {_ENDPOINT_COLUMNS}, due.oldest, {_IN_FLIGHT} "
            "FROM (SELECT d.webhook_id, min(d.next_attempt_at) AS oldest "
            "FROM webhooks_app_delivery d WHERE d.status = 'pending' "
            "AND d.next_attempt_at <= %(now)s GROUP BY d.webhook_id) due "
            f"JOIN webhooks_app_webhook w ON w.id = due.webhook_id WHERE {_CLAIMABLE}"
        )
    # A None token matches no lease (``= NULL`` is never true): a worker holding nothing.
    params = {"now": _prep_datetime(now), "token": None if token is None else _prep_uuid(token)}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        Endpoint(
            id=pk,
            probing=paused is not None,
            rate_limit=rate,
            next_slot_at=_datetime(slot),
            oldest_due=_datetime(oldest),
            in_flight=flying,
        )
        for pk, paused, rate, slot, oldest, flying in rows
    ]


_TAKEN_COLUMNS = (
    "d.id, {due}, d.webhook_id, d.event_id, d.attempts, d.round_offset, d.{trigger}, "
    "e.uuid, e.event_type, e.body, w.url, w.secret, w.previous_secret, "
    "w.previous_secret_expires_at, w.secret_switched_at, w.verify_tls, w.project_id, "
    "w.signatures, w.extra_headers, w.content_type, w.signing_key, e.project_id"
)


# What the PostgreSQL claim's UPDATE returns of each row it took.
_RETURNED = (
    "x.id, picked.next_attempt_at AS due, x.webhook_id, x.event_id, x.attempts, "
    'x.round_offset, x."trigger"'
)


def _take(
    quotas: dict[int, int], token: uuid.UUID, now: datetime, lease_until: datetime
) -> list[Claimed]:
    trigger = connection.ops.quote_name("trigger")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            columns = _TAKEN_COLUMNS.format(trigger=trigger, due="d.due")
            cursor.execute(
                "WITH quota (webhook_id, n) AS (SELECT * FROM unnest(%s::bigint[], %s::int[])), "
                "picked AS (SELECT p.id, p.next_attempt_at FROM quota CROSS JOIN LATERAL ("
                "SELECT x.id, x.next_attempt_at FROM webhooks_app_delivery x "
                "WHERE x.webhook_id = quota.webhook_id AND x.status = 'pending' "
                "AND x.next_attempt_at <= %s ORDER BY x.next_attempt_at, x.id "
                "LIMIT quota.n FOR UPDATE OF x SKIP LOCKED) p), "
                # RETURNING names what it needs, the due time included: joining the
                # updated rows back to ``picked`` compared every pair.
                "d AS (UPDATE webhooks_app_delivery x SET claim_token = %s, next_attempt_at = %s "
                f"FROM picked WHERE x.id = picked.id RETURNING {_RETURNED}) "
                f"SELECT {columns} FROM d "
                "JOIN webhooks_app_event e ON e.id = d.event_id "
                "JOIN webhooks_app_webhook w ON w.id = d.webhook_id "
                "ORDER BY d.due, d.id",
                [list(quotas), list(quotas.values()), now, token, lease_until],
            )
            rows = cursor.fetchall()
        else:
            picked = _pick_by_window(cursor, quotas, now)
            if not picked:
                return []
            ids, due = list(picked), picked
            columns = _TAKEN_COLUMNS.format(trigger=trigger, due="d.next_attempt_at")
            marks = ", ".join(["%s"] * len(ids))
            cursor.execute(
                "UPDATE webhooks_app_delivery SET claim_token = %s, next_attempt_at = %s "
                f"WHERE id IN ({marks}) AND status = 'pending' AND next_attempt_at <= %s",
                [_prep_uuid(token), _prep_datetime(lease_until), *ids, _prep_datetime(now)],
            )
            cursor.execute(
                f"SELECT {columns} FROM webhooks_app_delivery d "
                "JOIN webhooks_app_event e ON e.id = d.event_id "
                "JOIN webhooks_app_webhook w ON w.id = d.webhook_id "
                f"WHERE d.id IN ({marks}) AND d.claim_token = %s",
                [*ids, _prep_uuid(token)],
            )
            order = {pk: index for index, pk in enumerate(ids)}
            rows = sorted(
                ((row[0], due[row[0]], *row[2:]) for row in cursor.fetchall()),
                key=lambda row: order[row[0]],
            )
    senders: dict[int, _Sender] = {}
    return [_claimed(row, token, now, senders) for row in rows]


def held(pk: int, token: uuid.UUID, now: datetime) -> Claimed | None:
    """One delivery claimed as it was written (a test ping, a "redeliver now"), ready to
    send; None if that claim no longer holds it."""
    columns = _TAKEN_COLUMNS.format(
        trigger=connection.ops.quote_name("trigger"), due="d.next_attempt_at"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM webhooks_app_delivery d "
            "JOIN webhooks_app_event e ON e.id = d.event_id "
            "JOIN webhooks_app_webhook w ON w.id = d.webhook_id "
            "WHERE d.id = %s AND d.claim_token = %s",
            [pk, _prep_uuid(token)],
        )
        row = cursor.fetchone()
    return None if row is None else _claimed(row, token, now, {})


def _pick_by_window(cursor: Any, quotas: dict[int, int], now: datetime) -> dict[int, Any]:
    """SQLite: each endpoint's oldest due rows, up to its quota, oldest first overall
    (ids, in order, with when each was due)."""
    quota_rows = " UNION ALL ".join(["SELECT %s AS webhook_id, %s AS n"] * len(quotas))
    params: list[Any] = [value for pair in quotas.items() for value in pair]
    cursor.execute(
        f"WITH quota AS ({quota_rows}) "
        "SELECT r.id, r.next_attempt_at FROM (SELECT d.id, d.webhook_id, d.next_attempt_at, "
        "row_number() OVER "
        "(PARTITION BY d.webhook_id ORDER BY d.next_attempt_at, d.id) AS rank "
        "FROM webhooks_app_delivery d WHERE d.status = 'pending' AND d.next_attempt_at <= %s "
        f"AND d.webhook_id IN ({', '.join(['%s'] * len(quotas))})) r "
        "JOIN quota ON quota.webhook_id = r.webhook_id WHERE r.rank <= quota.n "
        "ORDER BY r.next_attempt_at, r.id",
        [*params, _prep_datetime(now), *quotas],
    )
    return {pk: due for pk, due in cursor.fetchall()}


@dataclass(frozen=True, slots=True)
class _Sender:
    """What every delivery to one endpoint is sent with, read once per claim."""

    url: str
    secrets: SigningSecrets
    verify_tls: bool
    project_id: Any
    schemes: tuple[str, ...]
    extra_headers: dict[str, str]
    form: bool
    signing_key: str


def _claimed(
    row: Sequence[Any], token: uuid.UUID, now: datetime, senders: dict[int, _Sender]
) -> Claimed:
    """A claimed row as a :class:`Claimed`. ``senders``: the endpoints already read in this
    claim, whose columns every one of their rows repeats (parsing them again per row was
    most of this function)."""
    pk, due_at, webhook_id, event_id, attempts, round_offset, trigger = row[:7]
    event_uuid, event_type, body = row[7:10]
    sender = senders.get(webhook_id)
    if sender is None:
        sender = senders[webhook_id] = _sender(row[10:21], now)
    return Claimed(
        id=pk,
        due_at=_datetime(due_at),
        token=token,
        webhook_id=webhook_id,
        project_id=sender.project_id,
        event_id=event_id,
        event_uuid=_uuid(event_uuid),
        event_type=event_type,
        body=body.encode("utf-8"),
        url=sender.url,
        secrets=sender.secrets,
        verify_tls=sender.verify_tls,
        schemes=sender.schemes,
        extra_headers=sender.extra_headers,
        form=sender.form,
        signing_key=sender.signing_key,
        attempts=attempts,
        round_offset=round_offset,
        trigger=trigger,
        event_project_id=row[21],
    )


def _sender(columns: Sequence[Any], now: datetime) -> _Sender:
    (
        url,
        secret,
        previous,
        previous_until,
        switched_at,
        verify_tls,
        project_id,
        signatures,
        extra_headers,
        content_type,
        signing_key,
    ) = columns
    return _Sender(
        url=url,
        secrets=active_secrets(
            secret, previous, _datetime(previous_until), now, _datetime(switched_at)
        ),
        verify_tls=bool(verify_tls),
        project_id=project_id,
        schemes=tuple(_json(signatures)),
        extra_headers=_json(extra_headers),
        form=content_type == "form",
        signing_key=signing_key,
    )


def _schedule_rate_limited(endpoints: list[Endpoint], taken: list[Claimed], now: datetime) -> None:
    """Give each rate-limited delivery its start time, and move the schedule on."""
    for endpoint in endpoints:
        mine = [c for c in taken if c.webhook_id == endpoint.id]
        if not mine:
            continue
        slots = endpoint.slots(len(mine) + 1, now)
        for claimed, slot in zip(mine, slots, strict=False):
            claimed.send_at = slot
        Webhook.objects.filter(pk=endpoint.id).update(next_slot_at=slots[-1])  # not routing


def _prep_datetime(value: datetime) -> Any:
    return prepare_value(Event, "created_at", value)


def _prep_uuid(value: uuid.UUID) -> Any:
    return prepare_value(Event, "uuid", value)


def _json(value: Any) -> Any:
    """JSON columns come back as text from a raw cursor (PostgreSQL's too, under Django)."""
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


def _datetime(value: Any) -> Any:
    """Raw rows hold aware datetimes on PostgreSQL, and text or naive UTC on SQLite."""
    if value is None or (isinstance(value, datetime) and value.tzinfo is not None):
        return value
    real = connections[DEFAULT_DB_ALIAS]
    return real.ops.convert_datetimefield_value(value, None, real)
