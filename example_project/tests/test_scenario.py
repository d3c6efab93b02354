"""The demo's scenario: one real action per event, all 26 delivered and documented."""

from __future__ import annotations

import pytest

from example_project.agile import scenario
from example_project.tests.factories import make_company, make_project
from example_project.tests.shapes import assert_same_shape, expected_resource
from webhooks_app.events import catalog
from webhooks_app.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def stage(db):
    project = make_project(make_company(), "Web Platform")
    return scenario.set_the_stage(project)


def test_scenario_has_one_action_for_each_catalogued_event():
    assert sorted(scenario.ACTIONS) == sorted(e.name for e in catalog)
    assert len(scenario.ACTIONS) == 26


def test_scenario_sends_each_of_the_26_events_exactly_once(stage, fired):
    with fired() as events:
        actions = scenario.act(stage)
    assert events == list(actions)


def test_scenario_delivers_26_signed_requests_whose_payloads_match_the_docs(
    stage, make_webhook, receiver, deliver
):
    webhook = make_webhook(receiver.url, ["*"], project=stage.project)
    receiver.secret = webhook.secret

    scenario.act(stage)
    assert deliver() == 26

    requests = receiver.wait_for(26)
    # One request per recorded event (in any order: sends to an endpoint overlap).
    assert sorted(r.headers["webhook-id"] for r in requests) == sorted(
        e.msg_id for e in Event.objects.all()
    )
    assert sorted(r.event for r in requests) == sorted(scenario.ACTIONS)
    for request in requests:
        assert request.verified is True, (request.event, request.error)
        body = request.json()
        assert body["event"] == request.event
        expected, options = expected_resource(request.event)
        assert_same_shape(body["data"], expected, **options)
