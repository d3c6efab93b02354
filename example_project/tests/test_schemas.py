"""The published event schemas are true: every payload the product sends, and every
example PAYLOADS.md shows, validates against its event's schema; the committed snapshot
is current and nothing since it breaks a receiver."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from jsonschema import Draft202012Validator

from example_project.agile import scenario
from example_project.tests.factories import make_company, make_project
from webhooks_app.events import catalog
from webhooks_app.schemas import contract, envelope_schema, example_envelope, openapi_document

SNAPSHOT = Path(__file__).resolve().parents[1] / "webhook_schemas.json"


def schema_errors(envelope: dict) -> list[str]:
    validator = Draft202012Validator(envelope_schema(contract(envelope["event"])))
    return [
        f"{envelope['event']}: {error.json_path}: {error.message}"
        for error in validator.iter_errors(envelope)
    ]


def test_every_event_of_the_catalog_has_a_declared_schema_and_an_example():
    document = openapi_document()
    assert sorted(document["webhooks"]) == sorted(e.name for e in catalog)
    for name in document["webhooks"]:
        found = contract(name)
        assert found.data is not None, name
        assert found.example is not None, name


def test_every_readme_example_validates_against_its_event_schema():
    errors = []
    for event in catalog:
        example = example_envelope(contract(event.name))
        errors += schema_errors(example)
    assert not errors, "\n".join(errors)


@pytest.mark.django_db
def test_every_payload_of_the_demo_scenario_validates_against_its_event_schema(fired):
    stage = scenario.set_the_stage(make_project(make_company(), "Web Platform"))
    with fired() as events:
        scenario.act(stage)
    assert len(events.envelopes) == 26
    errors = [e for envelope in events.envelopes for e in schema_errors(envelope)]
    assert not errors, "\n".join(errors)


def test_the_committed_snapshot_is_the_current_document():
    assert json.loads(SNAPSHOT.read_text()) == openapi_document(), (
        "Print it again: python manage.py webhooks_schema > example_project/webhook_schemas.json"
    )


def test_nothing_since_the_committed_snapshot_breaks_a_receiver(capsys):
    call_command("webhooks_schema", check=str(SNAPSHOT))
    assert "unchanged" in capsys.readouterr().out
