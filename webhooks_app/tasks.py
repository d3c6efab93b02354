"""django-q2 entry points. Arguments are never secrets: task packages are only signed."""

from __future__ import annotations

from webhooks_app import notifications
from webhooks_app.conf import webhook_settings
from webhooks_app.engine import delivery, probes, queue, retention


def deliver_pending() -> int:
    """Send every due delivery; enqueued by commits that no running task covers.

    It covers new commits while it runs and for a moment after, asks for a second worker
    when a claim comes back full, and hands over to a new task at its time limit (see
    webhooks_app.engine.queue). Not in sync mode, where a task runs in the enqueuing process.
    """
    return delivery.drain(task=not queue.is_sync())


def sweep() -> int:
    """Periodic (django-q2 Schedule): send due retries, and recover deliveries whose task
    was lost by the broker or whose worker died (their claim has expired); and make the
    retries webhooks disabled after failures still owe (see webhooks_app.engine.probes); and
    mail the digests of deliveries given up (see webhooks_app.notifications)."""
    sent = probes.send_due() + deliver_pending()
    notifications.send_given_up_digests()
    return sent


def purge_history() -> int:
    """Periodic (django-q2 Schedule): delete finished history older than RETENTION days,
    for at most TASK_TIME_LIMIT seconds; the next run carries on."""
    before = retention.retention_cutoff()
    if before is None:
        return 0
    purged = retention.purge(before, time_limit=webhook_settings.TASK_TIME_LIMIT)
    return purged.deliveries + purged.attempts + purged.events
