"""Who receives which events: the per-process map, its freshness, and the triggers."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from tests.conftest import run_elsewhere
from webhooks_app.conf import webhook_settings
from webhooks_app.engine.routing import routing
from webhooks_app.models import (
    Delivery,
    Event,
    RoutingVersion,
    Subscription,
    Webhook,
    WebhookStatus,
)


def version() -> int:
    return RoutingVersion.objects.get().version


@pytest.mark.django_db
def test_every_change_that_can_reroute_an_event_bumps_the_version(make_webhook, other_project):
    seen = [version()]

    def bumped() -> bool:
        seen.append(version())
        return seen[-1] > seen[-2]

    webhook = make_webhook("http://127.0.0.1:9/a", ["items.store"])
    assert bumped()
    Subscription.objects.create(webhook=webhook, event_type="items.tags.*")
    assert bumped()
    Subscription.objects.filter(event_type="items.tags.*").update(event_type="items.tags.add")
    assert bumped()
    Subscription.objects.filter(event_type="items.tags.add").delete()
    assert bumped()
    Webhook.objects.filter(pk=webhook.pk).update(status=WebhookStatus.DISABLED)
    assert bumped()
    Webhook.objects.filter(pk=webhook.pk).update(project=other_project)
    assert bumped()
    # What workers write on every batch does not reroute anything.
    Webhook.objects.filter(pk=webhook.pk).update(consecutive_failures=3)
    assert not bumped()
    webhook.delete()
    assert bumped()


@pytest.mark.django_db
def test_a_subscription_added_in_this_process_is_honoured_by_the_next_event(
    make_webhook, make_item
):
    webhook = make_webhook("http://127.0.0.1:9/a", ["items.tags.*"])
    make_item()  # read the map: nobody wants items.store
    assert not Event.objects.exists()
    Subscription.objects.bulk_create([Subscription(webhook=webhook, event_type="items.*")])
    make_item()
    assert Delivery.objects.filter(webhook=webhook).count() == 1


@pytest.mark.django_db
def test_a_stale_map_records_nothing_for_a_webhook_that_no_longer_receives(
    make_webhook, make_item, project
):
    make_webhook("http://127.0.0.1:9/a")
    make_item()
    assert routing.current().may_receive(["items.*"], [project.pk])  # the map says yes...
    with connection.cursor() as cursor:  # ...when the subscription goes behind its back
        cursor.execute("DELETE FROM webhooks_app_subscription")
    make_item()
    assert Event.objects.count() == 1 and Delivery.objects.count() == 1  # no orphan event


@pytest.mark.django_db(transaction=True)
def test_a_subscription_created_in_another_process_is_honoured_within_the_bound(project, make_item):
    make_item()  # this process's map: nobody subscribes
    assert not Event.objects.exists()

    run_elsewhere(
        "from webhooks_app.models import Subscription, Webhook\n"
        f"webhook = Webhook.objects.create(project_id={project.pk}, url='http://127.0.0.1:9/x')\n"
        "Subscription.objects.create(webhook=webhook, event_type='items.store')\n"
    )
    # The documented bound: an event emitted this long after the commit is recorded.
    time.sleep(webhook_settings.SUBSCRIPTION_REFRESH)
    make_item()

    (delivery,) = Delivery.objects.select_related("webhook", "event")
    assert delivery.webhook.url == "http://127.0.0.1:9/x"
    assert delivery.event.event_type == "items.store"
