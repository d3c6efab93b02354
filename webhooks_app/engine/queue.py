"""The hand-off to the task runner (:mod:`webhooks_app.runners`, which alone speaks to it).

The database holds the deliveries; the queue only carries the order "drain what is due".
One row, :class:`~webhooks_app.models.DeliveryTaskMarker`, says until when a delivery
task covers new commits. A commit that finds itself covered needs no task of its own:
the covering task is queued (and starts after that commit) or running (and claims again
before its coverage ends). An uncovered commit takes the marker, a conditional UPDATE of
which concurrent takers win exactly one, and enqueues a task.

A running task keeps itself covering while it works, and for ``LINGER`` seconds after,
looking for new work: under a steady stream of saves one task stays on and no save
enqueues anything. Leaving, it uncovers, then claims one last time, so a commit made as
it leaves is either claimed or finds itself uncovered and enqueues a new task.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from webhooks_app.engine import commit_marker
from webhooks_app.models import DeliveryTaskMarker, RoutingVersion
from webhooks_app.runners import current_runner

logger = logging.getLogger(__name__)

# How long a queued task covers: if it has not started by then the broker lost it, and
# the next commit enqueues a new one rather than wait for the sweep.
QUEUED_COVERS_FOR = timedelta(seconds=30)
# How long a running task stays on with nothing to do, looking for new work.
LINGER = 1.0
# A backlog asks for another worker at most this often.
HELP_EVERY = timedelta(seconds=5)


def covered_until_if_queued(now: datetime) -> datetime:
    return now + QUEUED_COVERS_FOR


def marker_taken_with_events(conn: Any = connection) -> bool:
    """Whether the statements recording an event also take the marker.

    Yes in autocommit mode: the event is its own short transaction. On SQLite always:
    it has one writer at a time, so a task clearing the marker waits for the host's
    transaction to commit and then sees its rows. Not inside a PostgreSQL transaction:
    a waiting task may start and finish before the host commits, so whether one is still
    waiting can only be known after the commit (see :func:`request_delivery`); and taking
    the marker there would hold its row lock until the host commits, making every other
    transaction that emits wait for this one.
    """
    return conn.vendor == "sqlite" or not conn.in_atomic_block


def event_recorded(kick: bool | None, *, asked: bool = False) -> None:
    """Follow up an event's statements: ``kick`` says they took the marker (enqueue a
    task after commit), found it taken (nothing to do), or did not look (None).
    ``asked``: they asked the commit to take it (PostgreSQL, in a transaction)."""
    if kick is None:
        _on_commit_once(_enqueue_if_the_commit_took_the_marker if asked else enqueue_drain)
    elif kick:
        _on_commit_once(_enqueue_task)


def request_delivery() -> None:
    """Ask for a delivery task once the current transaction commits, unless one is
    waiting then. However many events a transaction records, it enqueues at most one."""
    _on_commit_once(enqueue_drain)


def _on_commit_once(callback: Any) -> None:
    if connection.in_atomic_block and any(
        item[1] in _FOLLOW_UPS for item in connection.run_on_commit
    ):
        return
    transaction.on_commit(callback)


def _enqueue_if_the_commit_took_the_marker() -> None:
    """After a commit whose trigger was asked to take the marker: it says ``enqueue``
    when it took it, and nothing when a task covers the commit (migration 0018; this
    callback runs only if the asking statement's savepoint committed, so the silence is
    this commit's). A trigger still on 0008's function says ``covered``."""
    if commit_marker.answer(connection) == commit_marker.ENQUEUE or is_sync():
        _enqueue_task()


def covered_now() -> bool:
    """Whether a task covers commits made until now. A read: it takes no lock and adds
    no commit. Asked after a commit, a yes is as good as a failed take: the covering
    task, queued or running, claims again after this commit (a task leaving uncovers
    before its last claim), so it will see the commit's rows.

    Every commit of a PostgreSQL transaction that emitted asks it, so it is one plain
    statement: the ORM's ``exists()`` costs as much again as the round trip."""
    field = DeliveryTaskMarker._meta.get_field("covered_until")
    with connection.cursor() as cursor:
        cursor.execute(
            _covered_sql(connection.vendor), [field.get_db_prep_value(timezone.now(), connection)]
        )
        return cursor.fetchone() is not None


@cache
def _covered_sql(vendor: str) -> str:
    quote, meta = connection.ops.quote_name, DeliveryTaskMarker._meta
    column = quote(meta.get_field("covered_until").column)
    return (
        f"SELECT 1 FROM {quote(meta.db_table)} WHERE {quote(meta.pk.column)} = 1 AND {column} > %s"
    )


def take_marker() -> bool:
    """Cover new commits with a task about to be enqueued; False if a task already
    covers them. One conditional UPDATE, so of concurrent callers exactly one wins. (The
    row is created by migrate.)"""
    now = timezone.now()
    return bool(
        DeliveryTaskMarker.objects.filter(
            Q(covered_until__isnull=True) | Q(covered_until__lt=now), pk=1
        ).update(covered_until=covered_until_if_queued(now))
    )


def cover(until: datetime) -> None:
    """A running task promises to claim again before ``until`` (only ever extends)."""
    DeliveryTaskMarker.objects.filter(
        Q(covered_until__isnull=True) | Q(covered_until__lt=until), pk=1
    ).update(covered_until=until)


def uncover(promised: datetime) -> None:
    """A task leaving takes its coverage back, unless a newer promise replaced it."""
    DeliveryTaskMarker.objects.filter(pk=1, covered_until__lte=promised).update(covered_until=None)


def task_started(promise: datetime) -> None:
    """A task starting takes the coverage over from the queued task it was (which
    covered for long, in case the broker lost it): it will claim again before
    ``promise``. It also answers a request for help (a backlog may ask again), and shows
    the queue takes tasks."""
    DeliveryTaskMarker.objects.filter(pk=1).update(
        covered_until=promise,
        help_requested_at=None,
        task_started_at=timezone.now(),
        task_waiting_since=None,
    )


def ask_for_help() -> None:
    """A backlog, or due work a watchdog found that no task came for: enqueue a task
    (once in a while), which another worker takes. Until one starts, the marker says
    since when one has been waiting: a queue that takes no tasks shows in the health
    report."""
    now = timezone.now()
    since = _queued_since(now) or now
    asked = DeliveryTaskMarker.objects.filter(
        Q(help_requested_at__isnull=True) | Q(help_requested_at__lt=now - HELP_EVERY), pk=1
    ).update(
        help_requested_at=now,
        task_waiting_since=Coalesce(F("task_waiting_since"), Value(since)),
    )
    if asked:
        _enqueue_task()


def _queued_since(now: datetime) -> datetime | None:
    """When the task that covers commits now was enqueued, if it is queued, not running:
    a queued task covers for QUEUED_COVERS_FOR, a running one for LINGER at a time."""
    until = DeliveryTaskMarker.objects.filter(pk=1).values_list("covered_until", flat=True)
    covered_until = until.first()
    if covered_until is None or covered_until - now <= timedelta(seconds=2 * LINGER):
        return None
    return min(now, covered_until - QUEUED_COVERS_FOR)


def hand_over() -> None:
    """A task at its time limit: a new one takes over (and covers new commits) while
    the old one waits for its last requests."""
    now = timezone.now()
    DeliveryTaskMarker.objects.filter(pk=1).update(
        covered_until=covered_until_if_queued(now),
        task_waiting_since=Coalesce(F("task_waiting_since"), Value(now)),
    )
    _enqueue_task()


def task_waiting() -> bool:
    """Whether a delivery task was asked for and none has started since."""
    return DeliveryTaskMarker.objects.filter(pk=1, task_waiting_since__isnull=False).exists()


def enqueue_drain() -> None:
    """Enqueue a delivery task, unless one is already waiting in the queue.

    A waiting task has not started, so it will see everything committed before now:
    a second one would find nothing left to do. This keeps a burst of commits from
    flooding the queue with empty tasks.
    """
    told = commit_marker.answer(connection)  # the commit's own answer, when it gave one
    sync = is_sync()
    if told == commit_marker.COVERED and not sync:
        return
    try:
        needed = sync or told == commit_marker.ENQUEUE or (not covered_now() and take_marker())
    except Exception:
        # Runs after the host's commit: an error here must not fail its request.
        logger.exception("Could not request webhook delivery; the sweep will send it.")
        return
    if needed:
        _enqueue_task()


def _enqueue_task() -> None:
    try:
        current_runner().enqueue_drain()
    except Exception:
        # The deliveries are committed; the watchdogs and the sweep send them if the
        # broker is unreachable now. Failing the host's request would lose nothing.
        logger.exception("Could not enqueue webhook delivery; the sweep will send it.")


_FOLLOW_UPS = (enqueue_drain, _enqueue_task, _enqueue_if_the_commit_took_the_marker)


def is_sync() -> bool:
    """Whether the runner runs a task in the enqueuing process, at once."""
    return current_runner().is_sync()


def ensure_schedules(sender: Any = None, using: str = "default", **kwargs: Any) -> None:
    """Create the single rows of the task marker and the routing version, and have the
    runner create or update what runs the sweep (every SWEEP_INTERVAL minutes: due
    retries, deliveries whose task was lost or whose worker died) and the hourly purge
    of old history. Connected to post_migrate, which also runs after a test database
    is flushed."""
    DeliveryTaskMarker.objects.using(using).get_or_create(pk=1)
    RoutingVersion.objects.using(using).get_or_create(pk=1)
    current_runner().ensure_schedules(using)
