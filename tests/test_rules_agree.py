"""The rules that exist twice, in Python and in SQL, give the same answers.

"Who receives an event" is ``Webhook.objects.receiving()`` plus ``patterns_for()`` in
Python (the routing map, the pages' counts) and, on the write path, a statement: the
``webhooks_app_emit_v*`` function on PostgreSQL, an ``INSERT ... SELECT`` on SQLite.
"Take the task marker" is ``queue.take_marker()`` (the ORM), the same condition inside
the event's statement in autocommit mode, and the deferred trigger at commit inside a
PostgreSQL transaction (migration 0008). Each is checked against the other over every
combination that matters.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.testapp.models import Project
from webhooks_app import emit
from webhooks_app.engine import commit_marker, queue
from webhooks_app.engine.routing import routing
from webhooks_app.events import patterns_for
from webhooks_app.models import Delivery, DeliveryTaskMarker, Webhook, WebhookStatus

STATUSES = [
    WebhookStatus.ACTIVE,
    WebhookStatus.AUTO_DISABLED,
    WebhookStatus.DISABLED,
    WebhookStatus.GONE,
]
PATTERNS = [["items.store"], ["items.*"], ["*"], ["items.tags.*"], ["orders.*"], []]
EVENTS = ["items.store", "items.tags.add", "items.update"]


@pytest.fixture
def every_kind_of_webhook(make_webhook, project, other_project, organization, other_organization):
    """A webhook for each status x scope (a project, another, the project's
    organisation, another organisation, installation-wide) x subscription."""
    scopes = [
        {"project": project},
        {"project": other_project},
        {"project": None, "organization": organization},
        {"project": None, "organization": other_organization},
        {"project": None},
    ]
    made = []
    for status in STATUSES:
        for scope in scopes:
            for patterns in PATTERNS:
                made.append(
                    make_webhook("https://example.com/hook", patterns, status=status, **scope)
                )
    return made


def receivers_by_the_python_rule(event_type: str, project: Project) -> set[int]:
    patterns = set(patterns_for(event_type))
    return {
        webhook.pk
        for webhook in Webhook.objects.receiving().prefetch_related("subscriptions")
        if (
            webhook.project_id == project.pk
            or webhook.is_installation_wide
            or (
                webhook.organization_id == project.organization_id
                and webhook.organization_id is not None
            )
        )
        and patterns & {s.event_type for s in webhook.subscriptions.all()}
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("given", ["instance", "pk"])
@pytest.mark.parametrize("event_type", EVENTS)
def test_the_statement_recording_an_event_picks_who_the_python_rule_says(
    every_kind_of_webhook, project, event_type, given
):
    expected = receivers_by_the_python_rule(event_type, project)
    routing.invalidate()

    event = emit(event_type, {"n": 1}, project=project if given == "instance" else project.pk)

    recorded = set(Delivery.objects.filter(event=event).values_list("webhook_id", flat=True))
    assert recorded == expected and expected  # every status, scope and pattern was tried
    assert any(Webhook.objects.get(pk=pk).organization_id for pk in recorded)
    assert routing.may_receive(patterns_for(event_type), [project.pk]) is True
    mine = [project.organization_id]
    assert routing.current().may_receive(patterns_for(event_type), [], mine) is True


@pytest.mark.django_db(transaction=True)
def test_nobody_receiving_by_the_python_rule_records_nothing_and_the_map_agrees(
    make_webhook, project
):
    for status in STATUSES[2:]:  # disabled by hand, gone: never receiving
        make_webhook("https://example.com/hook", ["*"], status=status)
    make_webhook("https://example.com/hook", ["orders.*"])
    routing.invalidate()

    assert receivers_by_the_python_rule("items.store", project) == set()
    assert routing.may_receive(patterns_for("items.store"), [project.pk]) is False
    assert emit("items.store", {"n": 1}, project=project) is None
    assert not Delivery.objects.exists()


def marker_states():
    now = timezone.now()
    return {
        "never taken": None,
        "coverage ended": now - timedelta(seconds=1),
        "covered": now + timedelta(seconds=20),
    }


def took_by_the_orm(covered_until) -> bool:
    DeliveryTaskMarker.objects.update(covered_until=covered_until)
    return queue.take_marker()


def took_by_the_statement(make_item, covered_until) -> bool:
    """Autocommit: the event's own statement takes the marker (kick) or finds it taken."""
    DeliveryTaskMarker.objects.update(covered_until=covered_until)
    before = DeliveryTaskMarker.objects.get().covered_until
    make_item()
    return DeliveryTaskMarker.objects.get().covered_until != before


def took_at_commit(make_item, covered_until) -> bool:
    """Inside a PostgreSQL transaction: the deferred trigger's answer at commit."""
    DeliveryTaskMarker.objects.update(covered_until=covered_until)
    with transaction.atomic():
        make_item()
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the commit-time work, now
        answer = commit_marker.answer(connection)
    assert answer in (commit_marker.ENQUEUE, None)  # None: covered (nothing said)
    return answer == commit_marker.ENQUEUE


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("state", list(marker_states()))
def test_every_way_of_taking_the_marker_agrees_on_when_it_is_taken(webhook, make_item, state):
    covered_until = marker_states()[state]
    expected = state != "covered"

    assert took_by_the_orm(covered_until) is expected
    assert took_by_the_statement(make_item, covered_until) is expected
    if connection.vendor == "postgresql":
        assert took_at_commit(make_item, covered_until) is expected
