"""Django's Tasks framework (``django.tasks`` on Django 6; the ``django-tasks`` backport
on 5.2), on the default TASKS backend. Proven with django-tasks-db's database worker,
``manage.py db_worker``: its queue is a table, so it survives what a broker may lose.

Delivery tasks are ``webhooks_app.runners.django_tasks_jobs.deliver_pending``. The
framework has no periodic schedule: the sweep and the purge are tasks that enqueue their
successor, deferred with ``run_after`` (started after migrate and by each db_worker as
it starts). And every worker process runs a watchdog: a db_worker from its start (the
worker sends no signal then: its command line says it), any other worker from its first
task.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

from django.core import checks
from django.db import DatabaseError

from webhooks_app.engine import watchdog
from webhooks_app.exceptions import WebhookError
from webhooks_app.runners import tasks_api
from webhooks_app.runners.base import Runner

logger = logging.getLogger(__name__)

DRAIN_TASK = "webhooks_app.runners.django_tasks_jobs.deliver_pending"


def _task_started(sender: Any = None, **kwargs: Any) -> None:
    watchdog.start()


def _worker_started() -> None:
    """A db_worker starting: restart a chain that was lost, then watch."""
    from webhooks_app.runners.django_tasks_jobs import ensure_chains

    try:
        ensure_chains(blind=False)
    except DatabaseError:
        logger.exception("Could not look for the webhook sweep's next run")
    watchdog.start()


class TasksRunner(Runner):
    name = "tasks"
    extra = "tasks"
    start_command = "python manage.py db_worker (django-tasks-db), or your backend's worker"

    def install(self) -> None:
        if not tasks_api.configured() or self.is_sync():
            return  # webhooks_app.E019; an immediate backend has no worker
        tasks_api.signals().task_started.connect(
            _task_started, weak=False, dispatch_uid="webhooks_app.task_started"
        )
        if sys.argv[1:2] == ["db_worker"]:
            # Its own thread: no query while the apps are still being made ready.
            threading.Thread(target=_worker_started, name="webhooks-start", daemon=True).start()

    def ensure_schedules(self, using: str) -> None:
        if self.is_sync() or using != "default":
            return
        from webhooks_app.runners.django_tasks_jobs import ensure_chains

        ensure_chains(blind=True)

    def enqueue_drain(self) -> None:
        from webhooks_app.runners.django_tasks_jobs import deliver_pending

        deliver_pending.enqueue()

    def is_sync(self) -> bool:
        backend = tasks_api.backend()
        return type(backend).__name__ == "ImmediateBackend"

    def configuration_problems(self) -> list[checks.CheckMessage]:
        problem = self._backend_problem()
        if problem is None:
            return []
        return [
            checks.Error(
                f"WEBHOOKS['RUNNER'] is 'tasks' but {problem}",
                hint="e.g. TASKS = {'default': {'BACKEND': "
                "'django_tasks_db.DatabaseBackend'}} with 'django_tasks_db' in "
                "INSTALLED_APPS, and run `manage.py db_worker`.",
                obj="settings.TASKS",
                id="webhooks_app.E019",
            )
        ]

    def _backend_problem(self) -> str | None:
        if not tasks_api.configured():
            return "settings.TASKS names no 'default' backend."
        try:
            backend = tasks_api.backend()
        except Exception as exc:
            return f"its 'default' backend cannot be loaded ({exc})."
        if type(backend).__name__ == "DummyBackend":
            return "its 'default' backend is the DummyBackend, which never runs a task."
        return None

    def queued(self) -> int | None:
        waiting = tasks_api.waiting(DRAIN_TASK, due_only=True)
        return None if waiting is None else int(waiting.count())

    def drop_queued(self) -> None:
        waiting = tasks_api.waiting(DRAIN_TASK, due_only=True)
        if waiting is None:
            raise WebhookError("Only django-tasks-db's queue can be read and emptied.")
        waiting.delete()
