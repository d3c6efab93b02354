"""Retention: old finished history goes, in bounded batches; what is owed stays."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from webhooks_app import operations
from webhooks_app.engine.retention import purge
from webhooks_app.models import Delivery, DeliveryLog, Event, Webhook, WebhookStatus
from webhooks_app.testing import Receiver, Reply

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - timedelta(days=100)


def age_everything() -> None:
    """Make all history so far 100 days old."""
    Event.objects.update(created_at=LONG_AGO)
    Delivery.objects.update(created_at=LONG_AGO, updated_at=LONG_AGO)
    DeliveryLog.objects.update(created_at=LONG_AGO)


def cutoff():
    return timezone.now() - timedelta(days=30)


def test_purging_never_touches_pending_or_held_deliveries(
    make_webhook, make_item, deliver, webhooks_settings
):
    webhooks_settings(RETRY_SCHEDULE=[60], FAILURE_THRESHOLD=100)
    with Receiver() as ok, Receiver() as failing:
        failing.default = Reply(status=500)
        delivered = make_webhook(ok.url)
        retrying = make_webhook(failing.url, ["items.store"])
        held = make_webhook(ok.url, ["items.store"])
        make_item()
        deliver()
    Webhook.objects.filter(pk=held.pk).update(status=WebhookStatus.AUTO_DISABLED)
    make_item()  # while `held` is auto-disabled: its delivery is held, not attempted
    age_everything()

    purged = purge(cutoff())

    # First event: delivered to `delivered` and `held` (both purged), failed and waiting
    # for its retry at `retrying` (kept). Second event: pending for the two enabled
    # webhooks, held for `held` (all kept).
    assert list(Delivery.objects.filter(webhook=delivered).values_list("status", flat=True)) == [
        "pending"
    ]
    assert Delivery.objects.filter(webhook=retrying, status="pending").count() == 2
    (held_delivery,) = Delivery.objects.filter(webhook=held)
    assert held_delivery.status == "pending" and held_delivery.attempts == 0
    # Every event still owed a delivery keeps its body; a pending delivery its attempts.
    assert Event.objects.count() == 2
    assert DeliveryLog.objects.filter(webhook=retrying).count() == 1
    assert (purged.deliveries, purged.attempts, purged.events) == (2, 2, 0)


def test_finished_history_and_orphaned_events_go_once_old_enough(
    webhook, receiver, make_item, deliver
):
    make_item()
    make_item()
    deliver()
    assert purge(cutoff()).deliveries == 0  # too young
    age_everything()
    make_item()  # a fresh event, delivered now: kept
    deliver()

    purged = purge(cutoff(), batch_size=1)  # one event per transaction: still all of them

    assert (purged.deliveries, purged.attempts, purged.events, purged.complete) == (2, 2, 2, True)
    assert Event.objects.count() == Delivery.objects.count() == DeliveryLog.objects.count() == 1


def test_a_redelivery_keeps_an_old_event_for_another_retention_period(
    webhook, receiver, make_item, deliver
):
    make_item()
    deliver()
    age_everything()
    operations.redeliver(Delivery.objects.get())
    deliver()

    assert purge(cutoff()).deliveries == 0
    assert Delivery.objects.get().attempts == 2


def test_the_command_counts_on_a_dry_run_and_deletes_otherwise(
    webhook, receiver, make_item, deliver
):
    make_item()
    deliver()
    age_everything()

    out = io.StringIO()
    call_command("purge_webhook_history", "--dry-run", stdout=out)
    assert "Would delete" in out.getvalue() and "1 deliveries, 1 attempt logs and 1 events" in (
        out.getvalue()
    )
    assert Delivery.objects.exists()

    out = io.StringIO()
    before = (timezone.now() - timedelta(days=50)).date().isoformat()
    call_command("purge_webhook_history", "--before", before, stdout=out)
    assert "Deleted 1 deliveries, 1 attempt logs and 1 events." in out.getvalue()
    assert not Event.objects.exists()


def test_the_scheduled_purge_follows_the_retention_setting(
    webhook, receiver, make_item, deliver, webhooks_settings
):
    from webhooks_app.tasks import purge_history

    make_item()
    deliver()
    age_everything()
    webhooks_settings(RETENTION=None)  # keep everything
    assert purge_history() == 0
    webhooks_settings(RETENTION=120)
    assert purge_history() == 0
    webhooks_settings(RETENTION=90)
    assert purge_history() == 3  # a delivery, its attempt and its event
