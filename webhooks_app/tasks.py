"""django-q2 entry points. Arguments are never secrets: task packages are only signed."""

from __future__ import annotations

from django_q.conf import Conf

from webhooks_app import delivery
from webhooks_app.dispatch import enqueue_drain, task_started


def deliver_pending() -> int:
    """Send every due delivery; enqueued after each transaction that emits events."""
    task_started()
    # When a batch comes back full there is a backlog: ask for one more task so another
    # worker can share it. Not in sync mode, where "enqueue" would recurse in-process.
    helper = None if Conf.SYNC else enqueue_drain
    attempted = delivery.drain(on_full_batch=helper)
    if helper is not None and delivery.has_due():
        # Stopped at the time limit with work left: hand over rather than overrun.
        enqueue_drain()
    return attempted


def sweep() -> int:
    """Periodic (django-q2 Schedule): send due retries, and recover deliveries whose task
    was lost by the broker or whose worker died (their claim has expired)."""
    return deliver_pending()
