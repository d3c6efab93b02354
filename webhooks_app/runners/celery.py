"""Celery: the host's own Celery app and workers (``celery -A proj worker``).

Delivery tasks are ``webhooks_app.deliver_pending``, sent to the app's default queue.
Every worker process runs a watchdog from the moment it starts (each prefork child, or
the worker itself with another pool): it sends whatever has waited with nobody on it,
so the sweep needs no beat. The sweep and the hourly purge are also entries of the
app's beat schedule, for ``celery -A proj beat`` (or ``worker --beat``) to run; without
beat, old history is not purged (``manage.py purge_webhook_history`` from a timer does).
"""

from __future__ import annotations

from typing import Any

from celery import current_app, shared_task, signals
from celery.schedules import crontab
from django.core import checks

from webhooks_app import tasks
from webhooks_app.conf import webhook_settings
from webhooks_app.engine import watchdog
from webhooks_app.runners.base import Runner

DRAIN_TASK = "webhooks_app.deliver_pending"
SWEEP_NAME = "webhooks_app: sweep pending deliveries"
PURGE_NAME = "webhooks_app: purge old delivery history"

# A broker that does not answer fails the hand-off quickly: it runs after the host's
# commit, and the watchdogs send what it would have.
_ENQUEUE_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


@shared_task(name=DRAIN_TASK, ignore_result=True)
def deliver_pending() -> int:
    return tasks.deliver_pending()


@shared_task(name="webhooks_app.sweep", ignore_result=True)
def sweep() -> int:
    return tasks.sweep()


@shared_task(name="webhooks_app.purge_history", ignore_result=True)
def purge_history() -> int:
    return tasks.purge_history()


def _app() -> Any:
    return current_app._get_current_object()


def _defined_app() -> Any | None:
    """The host's Celery app; None when it defined none (Celery would make a default
    app that looks for a broker on localhost)."""
    from celery import _state

    app = _state._tls.current_app or _state.default_app
    fallback = app is not None and app.main == "default" and not app.set_as_current
    return None if fallback else app


def _start_in_child(**kwargs: Any) -> None:
    watchdog.start()


def _start_in_worker(sender: Any = None, **kwargs: Any) -> None:
    from celery.concurrency.prefork import TaskPool

    # A prefork parent runs no task and forks children: a thread there would be copied
    # into each child mid-flight. Its children start their own (above).
    if not isinstance(getattr(sender, "pool", None), TaskPool):
        watchdog.start()


class CeleryRunner(Runner):
    name = "celery"
    extra = "celery"
    start_command = "celery -A <your project> worker (and beat)"

    def install(self) -> None:
        signals.worker_process_init.connect(
            _start_in_child, weak=False, dispatch_uid="webhooks_app.celery_child"
        )
        signals.worker_ready.connect(
            _start_in_worker, weak=False, dispatch_uid="webhooks_app.celery_worker"
        )
        app = _defined_app()
        if app is None:
            return  # webhooks_app.E018
        minutes = webhook_settings.SWEEP_INTERVAL
        if isinstance(minutes, int) and minutes > 0:
            app.add_periodic_task(60.0 * minutes, sweep.s(), name=SWEEP_NAME)
        app.add_periodic_task(crontab(minute=17), purge_history.s(), name=PURGE_NAME)

    def ensure_schedules(self, using: str) -> None:
        """Nothing is stored: the sweep and the purge are beat entries of the app, made
        at start (:meth:`install`)."""

    def enqueue_drain(self) -> None:
        deliver_pending.apply_async(retry=True, retry_policy=_ENQUEUE_RETRY)

    def is_sync(self) -> bool:
        return bool(_app().conf.task_always_eager)

    def configuration_problems(self) -> list[checks.CheckMessage]:
        if _defined_app() is not None:
            return []
        return [
            checks.Error(
                "WEBHOOKS['RUNNER'] is 'celery' but no Celery app is defined.",
                hint="Define one as Celery's Django guide does (proj/celery.py: app = "
                "Celery('proj'); app.config_from_object('django.conf:settings', "
                "namespace='CELERY')) and import it in proj/__init__.py.",
                obj="settings.WEBHOOKS",
                id="webhooks_app.E018",
            )
        ]

    def health_problem(self) -> str | None:
        if self.is_sync():
            return None
        try:
            with _app().connection_for_write() as connection:
                connection.ensure_connection(max_retries=1)
        except Exception as exc:
            return f"Celery's broker does not answer: {exc!r}"
        return None

    def _queue_name(self) -> str:
        return str(_app().conf.task_default_queue)

    def queued(self) -> int | None:
        from kombu.exceptions import ChannelError

        with _app().connection_for_read() as connection:
            try:
                declared = connection.default_channel.queue_declare(
                    queue=self._queue_name(), passive=True
                )
            except ChannelError:
                return 0  # no such queue yet: nothing was ever sent to it
            return int(declared.message_count)

    def drop_queued(self) -> None:
        # The whole default queue: a broker's queue cannot be emptied selectively.
        with _app().connection_for_write() as connection:
            connection.default_channel.queue_purge(self._queue_name())
