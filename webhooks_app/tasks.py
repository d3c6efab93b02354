"""django-q2 entry points. Arguments are never secrets: task packages are only signed."""

from __future__ import annotations

from webhooks_app import delivery, queue, retention
from webhooks_app.conf import webhook_settings


def deliver_pending() -> int:
    """Send every due delivery; enqueued after each transaction that emits events.

    Its first claim clears the task marker: from then on, commits need a new task. When
    a claim comes back full, or the time limit leaves work, it asks for another task,
    so another worker shares the backlog. (Not in sync mode, where "enqueue" would
    recurse in-process.)
    """
    helper = None if queue.is_sync() else queue.enqueue_drain
    return delivery.drain(on_backlog=helper, clear_marker=True)


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
