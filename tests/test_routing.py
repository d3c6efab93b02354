"""Who receives which events: the per-process map, its freshness, and the triggers."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from tests.conftest import run_elsewhere
from webhooks_app.conf import webhook_settings
from webhooks_app.models import Delivery, Event, RoutingVersion, Subscription, Webhook
from webhooks_app.routing import routing


def version() -> int:
    return RoutingVersion.objects.get().version


@pytest.mark.django_db
def test_every_change_that_can_reroute_an_event_bumps_the_version(make_webhook, other_project):
    seen = [version()]

    def bumped() -> bool:
        seen.append(version())
        return seen[-1] > seen[-2]

    webhook = make_webhook("http://127.0.0.1:9/a", ["issues.store"])
    assert bumped()
    Subscription.objects.create(webhook=webhook, event_type="sprints.*")
    assert bumped()
    Subscription.objects.filter(event_type="sprints.*").update(event_type="sprints.store")
    assert bumped()
    Subscription.objects.filter(event_type="sprints.store").delete()
    assert bumped()
    Webhook.objects.filter(pk=webhook.pk).update(enabled=False, disabled_reason="manual")
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
    make_webhook, make_task
):
    webhook = make_webhook("http://127.0.0.1:9/a", ["sprints.*"])
    make_task()  # read the map: nobody wants issues.*
    assert not Event.objects.exists()
    Subscription.objects.bulk_create([Subscription(webhook=webhook, event_type="issues.*")])
    make_task()
    assert Delivery.objects.filter(webhook=webhook).count() == 1


@pytest.mark.django_db
def test_a_stale_map_records_nothing_for_a_webhook_that_no_longer_receives(
    make_webhook, make_task, project
):
    make_webhook("http://127.0.0.1:9/a")
    make_task()
    assert routing.current().may_receive(["issues.*"], [project.pk])  # the map says yes...
    with connection.cursor() as cursor:  # ...when the subscription goes behind its back
        cursor.execute("DELETE FROM webhooks_app_subscription")
    make_task()
    assert Event.objects.count() == 1 and Delivery.objects.count() == 1  # no orphan event


@pytest.mark.django_db(transaction=True)
def test_a_subscription_created_in_another_process_is_honoured_within_the_bound(
    project, make_task
):
    make_task()  # this process's map: nobody subscribes
    assert not Event.objects.exists()

    run_elsewhere(
        "from webhooks_app.models import Subscription, Webhook\n"
        f"webhook = Webhook.objects.create(project_id={project.pk}, url='http://127.0.0.1:9/x')\n"
        "Subscription.objects.create(webhook=webhook, event_type='issues.store')\n"
    )
    # The documented bound: an event emitted this long after the commit is recorded.
    time.sleep(webhook_settings.SUBSCRIPTION_REFRESH)
    make_task()

    (delivery,) = Delivery.objects.select_related("webhook", "event")
    assert delivery.webhook.url == "http://127.0.0.1:9/x"
    assert delivery.event.event_type == "issues.store"
