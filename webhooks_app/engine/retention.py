"""Keeping the delivery history bounded: finished deliveries, their attempt logs and the
events nobody is owed any more are deleted once older than ``WEBHOOKS["RETENTION"]``.

Pending deliveries (due, retrying, or held for an auto-disabled webhook) are never
purged, nor the events they carry. The purge walks old events in id order, a bounded
batch at a time, each batch its own short transaction: it never holds a lock a worker
needs for long, and it only ever locks finished rows, which claims never touch
(PostgreSQL skips a row someone is redelivering instead of waiting for it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Exists, OuterRef
from django.utils import timezone

from webhooks_app.conf import webhook_settings
from webhooks_app.models import Delivery, DeliveryLog, Event

FINISHED = (Delivery.Status.SUCCEEDED, Delivery.Status.FAILED)
BATCH_SIZE = 500  # events per transaction
_IDS_PER_STATEMENT = 5000  # below SQLite's limit on bound parameters


@dataclass
class Purged:
    deliveries: int = 0
    attempts: int = 0
    events: int = 0
    # Whether every event older than the cut-off was looked at (False: stopped at the
    # time limit; the next run carries on).
    complete: bool = True

    def add(self, other: Purged) -> None:
        self.deliveries += other.deliveries
        self.attempts += other.attempts
        self.events += other.events


def retention_cutoff(now: datetime | None = None) -> datetime | None:
    """The moment before which finished history goes, or None to keep everything."""
    days = webhook_settings.RETENTION
    if not days:
        return None
    return (now or timezone.now()) - timedelta(days=days)


def purge(
    before: datetime,
    *,
    batch_size: int = BATCH_SIZE,
    time_limit: float | None = None,
    progress: Callable[[Purged], None] | None = None,
) -> Purged:
    """Delete what finished before ``before``; see the module docstring."""
    total = Purged()
    deadline = None if time_limit is None else time.monotonic() + time_limit
    after = 0
    while True:
        if deadline is not None and time.monotonic() > deadline:
            total.complete = False
            break
        batch = list(
            Event.objects.filter(created_at__lt=before, pk__gt=after)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not batch:
            break
        after = batch[-1]
        total.add(_purge_batch(batch, before))
        if progress is not None:
            progress(total)
    return total


def _purge_batch(event_ids: list[int], before: datetime) -> Purged:
    with transaction.atomic():
        finished = Delivery.objects.filter(
            event_id__in=event_ids, status__in=FINISHED, updated_at__lt=before
        )
        if connection.features.has_select_for_update_skip_locked:
            # A redelivery may be turning one of these back into a pending delivery:
            # leave that row to it rather than wait, and let a later run decide.
            finished = finished.select_for_update(skip_locked=True)
        delivery_ids = list(finished.values_list("pk", flat=True))
        with connection.cursor() as cursor:
            attempts = _delete(cursor, "webhooks_app_deliverylog", "delivery_id", delivery_ids)
            deliveries = _delete(cursor, "webhooks_app_delivery", "id", delivery_ids)
            cursor.execute(
                "DELETE FROM webhooks_app_event WHERE id IN "
                f"({', '.join(['%s'] * len(event_ids))}) AND NOT EXISTS ("
                "SELECT 1 FROM webhooks_app_delivery d WHERE d.event_id = webhooks_app_event.id)",
                event_ids,
            )
            events = cursor.rowcount
    return Purged(deliveries=deliveries, attempts=attempts, events=events)


def _delete(cursor: CursorWrapper, table: str, column: str, ids: list[int]) -> int:
    deleted = 0
    for start in range(0, len(ids), _IDS_PER_STATEMENT):
        chunk = ids[start : start + _IDS_PER_STATEMENT]
        cursor.execute(
            f"DELETE FROM {table} WHERE {column} IN ({', '.join(['%s'] * len(chunk))})", chunk
        )
        deleted += cursor.rowcount
    return deleted


def count_purgeable(before: datetime) -> Purged:
    """What :func:`purge` would delete now (for ``--dry-run``)."""
    finished = Delivery.objects.filter(
        event__created_at__lt=before, status__in=FINISHED, updated_at__lt=before
    )
    owed = Delivery.objects.filter(event=OuterRef("pk")).exclude(pk__in=finished.values("pk"))
    return Purged(
        deliveries=finished.count(),
        attempts=DeliveryLog.objects.filter(delivery__in=finished).count(),
        events=Event.objects.filter(created_at__lt=before).exclude(Exists(owed)).count(),
    )
