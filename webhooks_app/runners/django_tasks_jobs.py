"""The Django Tasks entry points (``WEBHOOKS["RUNNER"] = "tasks"``). Imported only with
that runner: declaring a task validates it against the TASKS backend. Stored task results
name these paths; they do not move.

The sweep and the purge have no schedule to live in: each run enqueues its successor,
deferred (``run_after``), before it does its work, so a worker killed during a run
breaks no chain (:mod:`webhooks_app.runners.django_tasks`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from webhooks_app import tasks
from webhooks_app.conf import webhook_settings
from webhooks_app.runners.tasks_api import api, waiting

task = api().task

PURGE_EVERY = timedelta(hours=1)


@task()
def deliver_pending() -> int:
    return tasks.deliver_pending()


@task()
def sweep() -> int:
    chain(sweep, timedelta(minutes=webhook_settings.SWEEP_INTERVAL), blind=True)
    return tasks.sweep()


@task()
def purge_history() -> int:
    chain(purge_history, PURGE_EVERY, blind=True)
    return tasks.purge_history()


def chain(job: Any, every: timedelta, *, blind: bool) -> None:
    """Enqueue ``job`` to run in ``every``, unless a run of it already waits.

    Where the queue cannot be read (a backend other than django-tasks-db's), ``blind``
    says whether to enqueue anyway: a run enqueues its successor, so its chain carries
    on; migrate starts one (each migrate another: runs that find nothing cost a query)."""
    queued = waiting(job.module_path, due_only=False)
    if queued is None and not blind:
        return
    if queued is not None and queued.exists():
        return
    job.using(run_after=timezone.now() + every).enqueue()


def ensure_chains(*, blind: bool) -> None:
    chain(sweep, timedelta(minutes=webhook_settings.SWEEP_INTERVAL), blind=blind)
    chain(purge_history, PURGE_EVERY, blind=blind)
