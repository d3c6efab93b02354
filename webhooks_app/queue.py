"""The hand-off to django-q2, and the only module that speaks to it.

The database holds the deliveries; the queue only carries the order "drain what is due".
One row, :class:`~webhooks_app.models.DeliveryTaskMarker`, says a delivery task is
waiting: a commit that finds it set needs no task of its own, because the waiting one
starts after that commit and sees its rows. Taking the marker is a conditional UPDATE, so
of concurrent takers exactly one enqueues. A task clears it as it starts.
"""

from __future__ import annotations

import contextlib
import logging
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from webhooks_app.conf import webhook_settings
from webhooks_app.models import DeliveryTaskMarker, RoutingVersion

logger = logging.getLogger(__name__)

DRAIN_TASK = "webhooks_app.tasks.deliver_pending"
SWEEP_NAME = "webhooks_app: sweep pending deliveries"
SWEEP_TASK = "webhooks_app.tasks.sweep"
PURGE_NAME = "webhooks_app: purge old delivery history"
PURGE_TASK = "webhooks_app.tasks.purge_history"

# A marker older than this is ignored: its task was lost by the broker, and the next
# commit enqueues a new one rather than wait for the sweep.
MARKER_STALE_AFTER = timedelta(seconds=30)


def marker_stale_before(now: datetime) -> datetime:
    return now - MARKER_STALE_AFTER


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


def take_marker() -> bool:
    """Mark a delivery task as waiting; False if one already is. One conditional UPDATE,
    so of concurrent callers exactly one wins. (The row is created by migrate.)"""
    now = timezone.now()
    return bool(
        DeliveryTaskMarker.objects.filter(
            Q(waiting_since__isnull=True) | Q(waiting_since__lt=marker_stale_before(now)), pk=1
        ).update(waiting_since=now)
    )


def enqueue_drain() -> None:
    """Enqueue a delivery task, unless one is already waiting in the queue.

    A waiting task has not started, so it will see everything committed before now:
    a second one would find nothing left to do. This keeps a burst of commits from
    flooding the queue with empty tasks.
    """
    from django_q.conf import Conf

    try:
        needed = Conf.SYNC or take_marker()
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
