"""What each runner schedules without a person adding a cron line: the sweep and the
purge (django-q2 Schedules: tests/test_delivery.py; Celery beat entries; Django Tasks
chains of deferred tasks). Each test runs on the runner WEBHOOKS_RUNNER names."""

from __future__ import annotations

import pytest

from tests.conftest import RUNNER
from webhooks_app.runners import current_runner

pytestmark = pytest.mark.django_db
on_celery = pytest.mark.skipif(RUNNER != "celery", reason="Celery only")
on_tasks = pytest.mark.skipif(RUNNER != "tasks", reason="Django Tasks only")


def test_the_configured_runner_is_the_one_the_setting_names():
    assert current_runner().name == RUNNER


@on_celery
def test_celery_beat_runs_the_sweep_every_minute_and_the_purge_hourly():
    from tests.celery_app import app
    from webhooks_app.runners.celery import PURGE_NAME, SWEEP_NAME

    schedule = app.conf.beat_schedule
    assert schedule[SWEEP_NAME]["task"] == "webhooks_app.sweep"
    assert schedule[SWEEP_NAME]["schedule"] == 60.0
    assert schedule[PURGE_NAME]["task"] == "webhooks_app.purge_history"


def waiting(path: str) -> list:
    from django_tasks_db.models import DBTaskResult

    return list(DBTaskResult.objects.filter(status="READY", task_path=path))


@on_tasks
def test_migrate_starts_one_sweep_chain_and_one_purge_chain_deferred():
    from django.utils import timezone

    from webhooks_app.runners.django_tasks_jobs import ensure_chains, purge_history, sweep

    (next_sweep,) = waiting(sweep.module_path)
    (next_purge,) = waiting(purge_history.module_path)
    assert 50 <= (next_sweep.run_after - timezone.now()).total_seconds() <= 60
    assert (next_purge.run_after - timezone.now()).total_seconds() > 3500

    ensure_chains(blind=True)  # a second migrate, a worker starting: no second chain
    assert len(waiting(sweep.module_path)) == len(waiting(purge_history.module_path)) == 1


@on_tasks
def test_a_sweep_enqueues_its_successor_before_its_work(webhook, receiver, make_item):
    from django_tasks_db.models import DBTaskResult

    from webhooks_app.runners.django_tasks_jobs import sweep

    DBTaskResult.objects.all().delete()  # the chain was lost
    make_item()
    current_runner().drop_queued()

    assert sweep.call() == 1  # as a worker runs it: it delivers what is due
    assert receiver.count == 1
    assert len(waiting(sweep.module_path)) == 1  # and the chain goes on
