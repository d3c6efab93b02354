"""django-q2 entry points. Arguments are never secrets: task packages are only signed."""

from __future__ import annotations

from webhooks_app import delivery, queue, retention
from webhooks_app.conf import webhook_settings


def deliver_pending() -> int:
    """Send every due delivery; enqueued after each transaction that emits events."""
    queue.task_started()
    # When a batch comes back full there is a backlog: ask for one more task so another
    # worker can share it. Not in sync mode, where "enqueue" would recurse in-process.
    helper = None if queue.is_sync() else queue.enqueue_drain
    attempted = delivery.drain(on_full_batch=helper)
    if helper is not None and delivery.has_due():
        # Stopped at the time limit with work left: hand over rather than overrun.
        queue.enqueue_drain()
    return attempted


def sweep() -> int:
    """Periodic (django-q2 Schedule): send due retries, and recover deliveries whose task
    was lost by the broker or whose worker died (their claim has expired)."""
    return deliver_pending()


def purge_history() -> int:
    """Periodic (django-q2 Schedule): delete finished history older than RETENTION days,
    for at most TASK_TIME_LIMIT seconds; the next run carries on."""
    before = retention.retention_cutoff()
    if before is None:
        return 0
    purged = retention.purge(before, time_limit=webhook_settings.TASK_TIME_LIMIT)
    return purged.deliveries + purged.attempts + purged.events
