"""django-q2, the default runner: ``manage.py qcluster``.

Delivery tasks are ``webhooks_app.tasks.deliver_pending``; the sweep and the purge are
django-q2 ``Schedule`` rows naming ``webhooks_app.tasks.sweep`` and
``webhooks_app.tasks.purge_history`` (stored rows name these paths: they do not move).
Every worker the cluster starts, a replacement for a dead one too, runs a watchdog.
"""

from __future__ import annotations

import contextlib
from contextlib import nullcontext
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.db import transaction

from webhooks_app.conf import webhook_settings
from webhooks_app.runners.base import Runner

DRAIN_TASK = "webhooks_app.tasks.deliver_pending"
SWEEP_NAME = "webhooks_app: sweep pending deliveries"
SWEEP_TASK = "webhooks_app.tasks.sweep"
PURGE_NAME = "webhooks_app: purge old delivery history"
PURGE_TASK = "webhooks_app.tasks.purge_history"

# Q_CLUSTER keys naming a broker; with none, django-q2 uses Redis on localhost.
_BROKER_KEYS = ("orm", "redis", "sqs", "mongo", "iron_mq", "disque", "broker_class")

_brokers: dict[str | None, Any] = {}


def broker() -> Any:
    """One broker per process: django-q2 builds a new one (for Redis, a new client and
    TCP connection) on every ``async_task`` otherwise."""
    from django_q.brokers import get_broker

    name = webhook_settings.Q_CLUSTER_NAME
    if name not in _brokers:
        _brokers[name] = get_broker(name)
    return _brokers[name]


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


def cluster_timeouts() -> tuple[int | None, int | None]:
    """The cluster's ``timeout`` and ``retry`` (seconds; None when unset)."""
    from django_q.conf import Conf

    return Conf.TIMEOUT, Conf.RETRY


class DjangoQ2Runner(Runner):
    name = "django-q2"
    start_command = "python manage.py qcluster"

    def install(self) -> None:
        from django_q.signals import post_spawn

        from webhooks_app.engine import watchdog

        def started(sender: Any, proc_name: str, **kwargs: Any) -> None:
            watchdog.start()

        # Every worker process as it starts: a new cluster's, and each worker the
        # cluster starts in place of a dead one.
        post_spawn.connect(started, weak=False, dispatch_uid="webhooks_app.worker_start")

    def ensure_schedules(self, using: str) -> None:
        """The sweep every SWEEP_INTERVAL minutes and the hourly purge, as Schedules."""
        from django.db import DatabaseError
        from django_q.models import Schedule

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

    def enqueue_drain(self) -> None:
        from django_q.conf import Conf
        from django_q.tasks import async_task

        options: dict[str, Any] = {"task_name": "webhooks: deliver pending", "save": False}
        if webhook_settings.Q_CLUSTER_NAME:
            options["cluster"] = webhook_settings.Q_CLUSTER_NAME
        if Conf.SYNC:
            async_task(DRAIN_TASK, q_options=options)
            return
        # Inside an atomic block django-q2's ORM broker leaves this connection open;
        # outside one it closes it (with CONN_MAX_AGE=0), and the host's next query
        # pays for a new connection.
        with transaction.atomic(using=Conf.ORM) if Conf.ORM else nullcontext():
            async_task(DRAIN_TASK, q_options={**options, "broker": broker()})

    def is_sync(self) -> bool:
        from django_q.conf import Conf

        return bool(Conf.SYNC)

    def configuration_problems(self) -> list[checks.CheckMessage]:
        if not apps.is_installed("django_q"):
            return [
                checks.Error(
                    "django_q is not in INSTALLED_APPS: webhook deliveries would stay pending.",
                    hint="Add 'django_q' to INSTALLED_APPS and run `manage.py qcluster`, or "
                    "name another runner in WEBHOOKS['RUNNER'].",
                    obj="settings.INSTALLED_APPS",
                    id="webhooks_app.E011",
                )
            ]
        problems: list[checks.CheckMessage] = []
        problem = broker_problem()
        if problem:
            problems.append(
                checks.Error(
                    problem,
                    hint="e.g. Q_CLUSTER = {'name': 'webhooks', 'orm': 'default', "
                    "'timeout': 120, 'retry': 180} for the database broker, or "
                    "'redis': {...} with the redis package.",
                    obj="settings.Q_CLUSTER",
                    id="webhooks_app.E015",
                )
            )
        return problems + self._timeout_problems()

    def _timeout_problems(self) -> list[checks.CheckMessage]:
        limit, timeout = webhook_settings.TASK_TIME_LIMIT, webhook_settings.TIMEOUT
        if not all(isinstance(v, (int, float)) for v in (limit, timeout)):
            return []  # reported by the settings' own checks
        problems: list[checks.CheckMessage] = []
        needed = limit + timeout
        task_timeout, retry = cluster_timeouts()
        if task_timeout is not None and task_timeout < needed:
            problems.append(
                checks.Warning(
                    f"Q_CLUSTER['timeout'] ({task_timeout}s) is shorter than a delivery task "
                    f"may run (TASK_TIME_LIMIT + TIMEOUT = {needed}s).",
                    hint="Raise Q_CLUSTER['timeout'] or lower WEBHOOKS['TASK_TIME_LIMIT'].",
                    obj="settings.Q_CLUSTER",
                    id="webhooks_app.W002",
                )
            )
        if retry is not None and task_timeout is not None and retry <= task_timeout:
            problems.append(
                checks.Warning(
                    "Q_CLUSTER['retry'] must exceed Q_CLUSTER['timeout'], or tasks run twice.",
                    obj="settings.Q_CLUSTER",
                    id="webhooks_app.W003",
                )
            )
        return problems

    def health_problem(self) -> str | None:
        if self.is_sync():
            return None
        try:
            broker().ping()
        except Exception as exc:
            return f"django-q2's broker does not answer: {exc!r}"
        return None

    def queued(self) -> int | None:
        return int(broker().queue_size())

    def drop_queued(self) -> None:
        broker().purge_queue()
