"""Turning an event into pending deliveries, inside the caller's transaction.

A save nobody subscribes to costs a dictionary look-up: the process's routing map
(:mod:`webhooks_app.engine.routing`) says no, and nothing touches the database. Otherwise the
event is rendered once and recorded:

* on PostgreSQL in one statement, a call to ``webhooks_app_emit_v3()`` (created by the
  migrations). It looks the recipients up, inserts the event and one delivery per
  recipient, and takes the task marker; its plan is cached per connection, which halves
  the cost of sending the same work as one plain statement. In autocommit mode that
  statement is its own transaction, and by default it does not wait for the disk
  (``synchronous_commit = off`` for it alone): Django has already committed the host's
  row on its own, so the two were never all-or-nothing, and a database crash within a
  fraction of a second of the commit loses the event as a crash of the web process
  between the two commits would. ``WEBHOOKS["DURABLE_AUTOCOMMIT"]`` makes it wait.
  Inside the host's transaction the event commits with the host's change, and the same
  statement asks a deferred trigger to take the task marker at commit
  (:mod:`webhooks_app.engine.commit_marker`), so nothing is asked after the commit;
* elsewhere (SQLite) in three statements (event, deliveries, marker) in one transaction:
  SQLite runs in-process, so statements are cheap and commits are what count.

An ``idempotency_key`` makes a retried emit (a host task run twice) record nothing new:
the key is stored with the event, unique per event type, and while the event is younger
than ``WEBHOOKS["IDEMPOTENCY_WINDOW"]`` an emit of the same type and key returns that
event. The database decides (a partial unique index), so concurrent emits with one key
record one event; without a key the statements are the same as before.

No HTTP, and no queue call until the transaction commits. Rolled back, the rows vanish
with it and nothing is sent. Building N deliveries creates no model instance: the
database copies the recipients' ids.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Model
from django.utils import timezone

from webhooks_app.conf import webhook_settings
from webhooks_app.engine import commit_marker, queue
from webhooks_app.engine.routing import organization_ids, project_gate, routing
from webhooks_app.engine.sql import Prepare, prepare_value, preparer
from webhooks_app.events import catalog, patterns_for
from webhooks_app.exceptions import InvalidIdempotencyKey
from webhooks_app.models import RECEIVING_SQL, Event, Webhook
from webhooks_app.signals import event_emitted

logger = logging.getLogger(__name__)

Data = Mapping[str, Any] | Callable[[], Mapping[str, Any]]
Capture = Callable[..., None]

# Set by webhooks_app.testing.capture_events(): every emit of this context is shown to it
# first, whoever subscribes.
capture: ContextVar[Capture | None] = ContextVar("webhooks_app_capture", default=None)
KEY_LENGTH = 200


def render_body(
    event_type: str, data: Mapping[str, Any], occurred_at: datetime, changes: Mapping | None
) -> str:
    envelope: dict[str, Any] = {
        "event": event_type,
        "timestamp": occurred_at.astimezone(UTC)
        .isoformat(timespec="seconds")
        .replace("+00:00", "Z"),
        "data": data,
    }
    if changes is not None:
        envelope["changes"] = changes
    return json.dumps(envelope, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))


def _projects(project: Any) -> list:
    """Project instances or pks, flattened, None dropped, each once."""
    if project is None:
        return []
    if isinstance(project, (list, tuple, set)):
        found: dict[Any, Any] = {}
        for item in project:
            for one in _projects(item):
                found.setdefault(one.pk if isinstance(one, Model) else one, one)
        return list(found.values())
    return [project]


def emit(
    event_type: str,
    data: Data,
    *,
    project: Any = None,
    changes: Mapping | None = None,
    occurred_at: datetime | None = None,
    idempotency_key: str | None = None,
) -> Event | None:
    """Record ``event_type`` for every subscribed webhook of ``project``.

    ``data`` is the resource (or a callable returning it, called only when someone is
    subscribed). ``project`` is a project instance or pk, several of them (a task moved
    between projects notifies both), or None for installation-wide webhooks only. The
    webhooks of the projects' organisations receive it too.
    ``idempotency_key``: an emit of the same event type and key within the window
    records nothing and returns the first one's event.
    Returns the stored Event, or None when no webhook is subscribed.
    """
    catalog.get(event_type)  # raises UnknownEventError for a typo, before anything is written
    _check_key(idempotency_key)
    observer = capture.get()
    if observer is not None:
        data = data() if callable(data) else data  # rendered once, for both
        observer(event_type, data, changes, occurred_at, project, idempotency_key)
    projects = _projects(project)
    # A project the activation rule refuses (a Free plan) has no webhook receiving its
    # events, its organisation's and installation-wide ones included.
    project_ids = project_gate.allowed(projects)
    if projects and not project_ids:
        return None
    patterns = patterns_for(event_type)
    snapshot = routing.current()
    organizations: list[Any] = []
    if project_ids and snapshot.organizations_subscribe(patterns):
        organizations = organization_ids(projects, project_ids)
    if not snapshot.may_receive(patterns, project_ids, organizations):
        return None
    now = timezone.now()
    payload = data() if callable(data) else data
    event = Event(
        uuid=uuid.uuid4(),
        event_type=event_type,
        project_id=project_ids[0] if len(project_ids) == 1 else None,
        body=render_body(event_type, payload, occurred_at or now, changes),
        created_at=now,
        idempotency_key=idempotency_key,
    )
    recorded = _record(event, Audience(patterns, project_ids, organizations))
    if recorded is None:
        return None  # the map was stale: nobody receives it any more
    if recorded.duplicate_of is not None:
        return Event.objects.get(pk=recorded.duplicate_of)  # the key's event: nothing new
    queue.event_recorded(recorded.kick, asked=recorded.asked)
    _on_commit_send_emitted(event, recorded.deliveries)
    return event


def _check_key(key: Any) -> None:
    if key is not None and not (isinstance(key, str) and 0 < len(key) <= KEY_LENGTH):
        raise InvalidIdempotencyKey(
            f"idempotency_key must be a non-empty string of at most {KEY_LENGTH} "
            f"characters; got {key!r}."
        )


def _key_since(now: datetime) -> datetime:
    """Events created before this no longer hold their idempotency key."""
    return now - timedelta(seconds=webhook_settings.IDEMPOTENCY_WINDOW)


@dataclass(frozen=True)
class Recorded:
    deliveries: int
    # True: this statement took the task marker; False: a task already covers it;
    # None: it did not look (see queue.marker_taken_with_events).
    kick: bool | None
    # The event already recorded with this idempotency key (nothing was recorded).
    duplicate_of: int | None = None
    # The statement asked the commit to take the marker (see commit_marker).
    asked: bool = False


@dataclass(frozen=True)
class Audience:
    """Whose webhooks may receive an event: its patterns, its projects (those the plan
    gate allows) and their organisations."""

    patterns: Sequence[str]
    projects: Sequence[Any]
    organizations: Sequence[Any]


def _record(event: Event, audience: Audience) -> Recorded | None:
    # The connection itself, looked up once: every attribute read through the
    # ``connection`` proxy looks it up again, a tenth of an emit's Python.
    conn = connections[DEFAULT_DB_ALIAS]
    take_marker = queue.marker_taken_with_events(conn)
    if conn.vendor == "postgresql":
        recorded = _record_in_one_statement(conn, event, audience, take_marker)
    else:
        # savepoint=False: an error here must fail the caller's transaction, not leave
        # the host's change committed without its deliveries.
        with transaction.atomic(savepoint=False):
            recorded = _record_in_statements(event, audience, take_marker)
    if recorded is not None and recorded.duplicate_of is None:
        event._state.adding = False
        event._state.db = conn.alias
    return recorded


@cache
def _event_values(vendor: str) -> Prepare:
    """The uuid and datetimes of the SQLite statements, in the database's form."""
    return preparer(Event, ["uuid", "created_at", "created_at"])


@cache
def _key_db_type(vendor: str, field: str) -> str:
    """The type of the project (or organisation) keys the emit function takes."""
    return Webhook._meta.get_field(field).target_field.rel_db_type(connection)


def _record_in_one_statement(
    conn: Any, event: Event, audience: Audience, take_marker: bool
) -> Recorded | None:
    pk_type = _key_db_type("postgresql", "project")
    org_type = _key_db_type("postgresql", "organization")
    now = event.created_at
    # In the host's transaction the marker is taken at commit (migration 0008), asked
    # for in this same statement.
    at_commit = not take_marker and commit_marker.listen(conn)
    ask = f", ({commit_marker.ASK}) AS asked" if at_commit else ""
    with conn.cursor() as cursor:
        cursor.execute(
            f"SELECT e.*{ask} FROM webhooks_app_emit_v3(%s::varchar[], "
            f"%s::{pk_type}[], %s::{org_type}[], %s::uuid, %s::varchar, %s::{pk_type}, "
            "%s::text, %s::timestamptz, %s::timestamptz, %s::boolean, %s::varchar, "
            "%s::timestamptz) e",
            [
                list(audience.patterns),
                list(audience.projects),
                list(audience.organizations),
                event.uuid,
                event.event_type,
                event.project_id,
                event.body,
                now,
                queue.covered_until_if_queued(now) if take_marker else None,
                # Autocommit: the host's row is already committed on its own; the event's
                # transaction need not wait for the disk too (see DURABLE_AUTOCOMMIT).
                take_marker and not webhook_settings.DURABLE_AUTOCOMMIT,
                event.idempotency_key,
                _key_since(now) if event.idempotency_key is not None else None,
            ],
        )
        event_id, deliveries, kick, version, duplicate_of = cursor.fetchone()[:5]
    routing.saw_version(version)
    if duplicate_of is not None:
        return Recorded(0, None, duplicate_of)
    if event_id is None:
        return None
    event.pk = event_id
    return Recorded(deliveries, kick if take_marker else None, asked=at_commit)


_INSERT_EVENT = (
    "INSERT INTO webhooks_app_event (uuid, event_type, project_id, body, created_at) "
    "VALUES (%s, %s, %s, %s, %s)"
)
# With an idempotency key: a key older than the window is released first, and the
# insert records nothing when the (event type, key) index already holds it. The release
# is a write, so it is the statement that waits for a concurrent emit's commit.
_RELEASE_KEY = (
    "UPDATE webhooks_app_event SET idempotency_key = NULL "
    "WHERE event_type = %s AND idempotency_key = %s AND created_at < %s"
)
_INSERT_KEYED_EVENT = (
    "INSERT INTO webhooks_app_event (uuid, event_type, project_id, body, created_at, "
    "idempotency_key) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (event_type, "
    "idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING"
)
_KEYED_EVENT = "SELECT id FROM webhooks_app_event WHERE event_type = %s AND idempotency_key = %s"
_TAKE_MARKER = (
    "UPDATE webhooks_app_deliverytaskmarker SET covered_until = %s "
    "WHERE id = 1 AND (covered_until IS NULL OR covered_until < %s)"
)


@cache
def _insert_deliveries_sql(vendor: str, patterns: int, projects: int, organizations: int) -> str:
    """Insert one delivery per recipient, found by the same rule as the routing map:
    installation-wide webhooks, the projects' and their organisations' (as
    ``webhooks_app_emit_v3`` finds them on PostgreSQL)."""
    scopes = ["(w.project_id IS NULL AND w.organization_id IS NULL)"]
    if projects:
        scopes.append(f"w.project_id IN ({', '.join(['%s'] * projects)})")
    if organizations:
        scopes.append(f"w.organization_id IN ({', '.join(['%s'] * organizations)})")
    scope = f"({' OR '.join(scopes)})"
    trigger = connection.ops.quote_name("trigger")
    return (
        "INSERT INTO webhooks_app_delivery (webhook_id, event_id, status, "
        f"{trigger}, attempts, round_offset, next_attempt_at, created_at, updated_at) "
        "SELECT w.id, %s, 'pending', 'event', 0, 0, %s, %s, %s "
        f"FROM webhooks_app_webhook w WHERE {scope} AND {RECEIVING_SQL} AND EXISTS ("
        "SELECT 1 FROM webhooks_app_subscription s WHERE s.webhook_id = w.id "
        f"AND s.event_type IN ({', '.join(['%s'] * patterns)}))"
    )


def _record_in_statements(event: Event, audience: Audience, take_marker: bool) -> Recorded | None:
    until = queue.covered_until_if_queued(event.created_at) if take_marker else None
    msg_uuid, now, until = _event_values(connection.vendor)([event.uuid, event.created_at, until])
    values = [msg_uuid, event.event_type, event.project_id, event.body, now]
    with connection.cursor() as cursor:
        if event.idempotency_key is None:
            cursor.execute(_INSERT_EVENT, values)
        else:
            duplicate_of = _insert_keyed_event(cursor, event, values)
            if duplicate_of is not None:
                return Recorded(0, None, duplicate_of)
        event.pk = cursor.lastrowid
        patterns, projects, organizations = (
            audience.patterns,
            audience.projects,
            audience.organizations,
        )
        sql = _insert_deliveries_sql(
            connection.vendor, len(patterns), len(projects), len(organizations)
        )
        cursor.execute(sql, [event.pk, now, now, now, *projects, *organizations, *patterns])
        deliveries = cursor.rowcount
        if not deliveries:  # the map was stale
            cursor.execute("DELETE FROM webhooks_app_event WHERE id = %s", [event.pk])
            return None
        kick = None
        if take_marker:
            cursor.execute(_TAKE_MARKER, [until, now])
            kick = cursor.rowcount == 1
    return Recorded(deliveries, kick)


def _insert_keyed_event(cursor: Any, event: Event, values: list) -> int | None:
    """Insert ``event`` unless its key is taken; the id of the event holding it if so."""
    key, since = (
        event.idempotency_key,
        prepare_value(Event, "created_at", _key_since(event.created_at)),
    )
    cursor.execute(_RELEASE_KEY, [event.event_type, key, since])
    cursor.execute(_INSERT_KEYED_EVENT, [*values, key])
    if cursor.rowcount == 1:
        return None
    cursor.execute(_KEYED_EVENT, [event.event_type, key])
    return cursor.fetchone()[0]


def _on_commit_send_emitted(event: Event, count: int) -> None:
    if event_emitted.has_listeners(Event):
        transaction.on_commit(
            lambda: event_emitted.send(sender=Event, event=event, deliveries=count)
        )
