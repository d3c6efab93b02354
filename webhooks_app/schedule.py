"""The periodic sweep, kept as a django-q2 Schedule row."""

from __future__ import annotations

import contextlib
from typing import Any

from webhooks_app.conf import webhook_settings

SWEEP_NAME = "webhooks_app: sweep pending deliveries"
SWEEP_FUNC = "webhooks_app.tasks.sweep"


def ensure_sweep_schedule(sender: Any = None, using: str = "default", **kwargs: Any) -> None:
    """Create or update the sweep schedule, and the delivery task marker's row;
    connected to post_migrate (which also runs after a test database is flushed)."""
    from django.db import DatabaseError
    from django_q.models import Schedule

    from webhooks_app.models import DeliveryTaskMarker

    DeliveryTaskMarker.objects.using(using).get_or_create(pk=1)

    # django_q's tables may not exist yet after a partial ``migrate <app>``; the next
    # full migrate creates the schedule.
    with contextlib.suppress(DatabaseError):
        Schedule.objects.using(using).update_or_create(
            name=SWEEP_NAME,
            defaults={
                "func": SWEEP_FUNC,
                "schedule_type": Schedule.MINUTES,
                "minutes": webhook_settings.SWEEP_INTERVAL,
                "repeats": -1,
                "cluster": webhook_settings.Q_CLUSTER_NAME,
            },
        )
