"""The hand-off to django-q2, and the only module that speaks to it.

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

import contextlib
import logging
from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from webhooks_app import commit_marker
from webhooks_app.conf import webhook_settings
from webhooks_app.models import DeliveryTaskMarker, RoutingVersion

logger = logging.getLogger(__name__)

DRAIN_TASK = "webhooks_app.tasks.deliver_pending"
SWEEP_NAME = "webhooks_app: sweep pending deliveries"
SWEEP_TASK = "webhooks_app.tasks.sweep"
PURGE_NAME = "webhooks_app: purge old delivery history"
PURGE_TASK = "webhooks_app.tasks.purge_history"

# How long a queued task covers: if it has not started by then the broker lost it, and
# the next commit enqueues a new one rather than wait for the sweep.
QUEUED_COVERS_FOR = timedelta(seconds=30)
# How long a running task stays on with nothing to do, looking for new work.
LINGER = 1.0
# A backlog asks for another worker at most this often.
HELP_EVERY = timedelta(seconds=5)


def covered_until_if_queued(now: datetime) -> datetime:
    return now + QUEUED_COVERS_FOR


def marker_taken_with_events() -> bool:
    """Whether the statements recording an event also take the marker.

    Yes in autocommit mode: the event is its own short transaction. On SQLite always:
    it has one writer at a time, so a task clearing the marker waits for the host's
    transaction to commit and then sees its rows. Not inside a PostgreSQL transaction:
    a waiting task may start and finish before the host commits, so whether one is still
    waiting can only be known after the commit (see :func:`request_delivery`); and taking
    the marker there would hold its row lock until the host commits, making every other
    transaction that emits wait for this one.
    """
    return connection.vendor == "sqlite" or not connection.in_atomic_block


def event_recorded(kick: bool | None) -> None:
    """Follow up an event's statements: ``kick`` says they took the marker (enqueue a
    task after commit), found it taken (nothing to do), or did not look (None)."""
    if kick is None:
        request_delivery()
    elif kick:
        _on_commit_once(_enqueue_task)


def request_delivery() -> None:
    """Ask for a delivery task once the current transaction commits, unless one is
    waiting then. However many events a transaction records, it enqueues at most one."""
    _on_commit_once(enqueue_drain)


def _on_commit_once(callback: Any) -> None:
    if connection.in_atomic_block and any(
        item[1] in (enqueue_drain, _enqueue_task) for item in connection.run_on_commit
    ):
        return
    transaction.on_commit(callback)


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


def on_worker_start(receiver: Callable[[], None]) -> None:
    """Call ``receiver`` in every django-q2 worker process as it starts (a new cluster's,
    and each worker the cluster starts in place of a dead one)."""
    from django_q.signals import post_spawn

    def started(sender: Any, proc_name: str, **kwargs: Any) -> None:
        receiver()

    post_spawn.connect(started, weak=False, dispatch_uid="webhooks_app.worker_start")


def enqueue_drain() -> None:
    """Enqueue a delivery task, unless one is already waiting in the queue.

    A waiting task has not started, so it will see everything committed before now:
    a second one would find nothing left to do. This keeps a burst of commits from
    flooding the queue with empty tasks.
    """
    from django_q.conf import Conf

    told = commit_marker.answer(connection)  # the commit's own answer, when it gave one
    if told == commit_marker.COVERED and not Conf.SYNC:
        return
    try:
        needed = Conf.SYNC or told == commit_marker.ENQUEUE or (not covered_now() and take_marker())
    except Exception:
        # Runs after the host's commit: an error here must not fail its request.
        logger.exception("Could not request webhook delivery; the sweep will send it.")
        return
    if needed:
        _enqueue_task()


_brokers: dict[str | None, Any] = {}


def broker() -> Any:
    """One broker per process: django-q2 builds a new one (for Redis, a new client and
    TCP connection) on every ``async_task`` otherwise."""
    from django_q.brokers import get_broker

    name = webhook_settings.Q_CLUSTER_NAME
    if name not in _brokers:
        _brokers[name] = get_broker(name)
    return _brokers[name]


def _enqueue_task() -> None:
    from django_q.conf import Conf
    from django_q.tasks import async_task

    options: dict[str, Any] = {"task_name": "webhooks: deliver pending", "save": False}
    if webhook_settings.Q_CLUSTER_NAME:
        options["cluster"] = webhook_settings.Q_CLUSTER_NAME
    try:
        if Conf.SYNC:
            async_task(DRAIN_TASK, q_options=options)
            return
        # Inside an atomic block django-q2's ORM broker leaves this connection open;
        # outside one it closes it (with CONN_MAX_AGE=0), and the host's next query
        # pays for a new connection.
        with transaction.atomic(using=Conf.ORM) if Conf.ORM else nullcontext():
            async_task(DRAIN_TASK, q_options={**options, "broker": broker()})
    except Exception:
        # The deliveries are committed; the periodic sweep sends them if the broker
        # is unreachable now. Failing the host's request would lose nothing but help no one.
        logger.exception("Could not enqueue webhook delivery; the sweep will send it.")


def cluster_timeouts() -> tuple[int | None, int | None]:
    """The cluster's ``timeout`` and ``retry`` (seconds; None when unset)."""
    from django_q.conf import Conf

    return Conf.TIMEOUT, Conf.RETRY


# Q_CLUSTER keys naming a broker; with none, django-q2 uses Redis on localhost.
_BROKER_KEYS = ("orm", "redis", "sqs", "mongo", "iron_mq", "disque", "broker_class")


def broker_problem() -> str | None:
    """What keeps django-q2 from reaching a broker, as settings say; None if nothing."""
    cluster = getattr(settings, "Q_CLUSTER", None)
    if not isinstance(cluster, dict):
        return "Q_CLUSTER is not set: django-q2 would look for Redis on localhost."
    if not any(key in cluster for key in _BROKER_KEYS):
        try:
            import redis  # noqa: F401
        except ImportError:
            return (
                "Q_CLUSTER names no broker, so django-q2 uses Redis, but the redis "
                "package is not installed."
            )
    return None


def is_sync() -> bool:
    """django-q2's sync mode runs a task in the enqueuing process, at once."""
    from django_q.conf import Conf

    return bool(Conf.SYNC)


def ensure_schedules(sender: Any = None, using: str = "default", **kwargs: Any) -> None:
    """Create or update the periodic tasks (the sweep, every SWEEP_INTERVAL minutes,
    which sends due retries and recovers deliveries whose task was lost or whose worker
    died; the hourly purge of old history), and the single rows of the task marker and
    the routing version. Connected to post_migrate, which also runs after a test
    database is flushed."""
    from django.db import DatabaseError
    from django_q.models import Schedule

    DeliveryTaskMarker.objects.using(using).get_or_create(pk=1)
    RoutingVersion.objects.using(using).get_or_create(pk=1)
    periodic = {
        SWEEP_NAME: {
            "func": SWEEP_TASK,
            "schedule_type": Schedule.MINUTES,
            "minutes": webhook_settings.SWEEP_INTERVAL,
        },
        PURGE_NAME: {"func": PURGE_TASK, "schedule_type": Schedule.HOURLY},
    }
    # django_q's tables may not exist yet after a partial ``migrate <app>``; the next
    # full migrate creates the schedules.
    with contextlib.suppress(DatabaseError):
        for name, fields in periodic.items():
            Schedule.objects.using(using).update_or_create(
                name=name,
                defaults={**fields, "repeats": -1, "cluster": webhook_settings.Q_CLUSTER_NAME},
            )
