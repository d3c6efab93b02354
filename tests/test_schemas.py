"""Event schemas: read from the host's declarations, published as OpenAPI 3.1, true of
what is sent, and checked against a committed snapshot for changes that break receivers."""

from __future__ import annotations

import json
from typing import Any, TypedDict

import pytest
from django.core.management import CommandError, call_command
from jsonschema import Draft202012Validator
from rest_framework import serializers

from tests.testapp.models import Item
from tests.testapp.webhooks import ItemEvents
from webhooks_app.events import catalog
from webhooks_app.registry import registry
from webhooks_app.schemas import contract, envelope_schema, openapi_document
from webhooks_app.serializer_schemas import returns, serializer_schema
from webhooks_app.testing import capture_events


def test_the_document_is_openapi_3_1_with_one_webhook_per_catalogued_event():
    document = openapi_document()
    assert document["openapi"] == "3.1.0"
    assert sorted(document["webhooks"]) == sorted(e.name for e in catalog)
    assert len(document["webhooks"]) == 7
    post = document["webhooks"]["items.done"]["post"]
    headers = {p["name"] for p in post["parameters"] if p["in"] == "header"}
    assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= headers
    assert "X-Webhook-Signature-256" in headers
    body = post["requestBody"]["content"]["application/json"]
    assert body["schema"]["required"] == ["event", "timestamp", "data", "changes"]
    assert body["schema"]["properties"]["changes"]["properties"]["done"]["properties"] == {
        "from": {"type": "boolean"},
        "to": {"type": "boolean"},
    }
    assert body["example"]["data"]["title"] == "Ship it"
    Draft202012Validator(body["schema"]).validate(body["example"])


def test_created_and_deleted_events_carry_no_changes():
    schema = envelope_schema(contract("items.store"))
    assert "changes" not in schema["properties"]
    assert schema["required"] == ["event", "timestamp", "data"]


def test_the_command_prints_the_document_as_json(capsys):
    call_command("webhooks_schema")
    assert json.loads(capsys.readouterr().out) == openapi_document()


@pytest.mark.django_db
def test_what_a_save_sends_validates_against_its_event_schema(project, make_item):
    with capture_events() as captured:
        item = make_item()
        item.title, item.done = "Renamed", True
        item.save()
        item.delete()
    assert captured.names == ["items.store", "items.done", "items.update", "items.destroy"]
    for event in captured:
        Draft202012Validator(envelope_schema(contract(event.event))).validate(event.envelope)


class Stats(TypedDict):
    comments: int
    percentage: float | None


class Person(serializers.Serializer):
    name = serializers.CharField()


class Resource(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    uuid = serializers.UUIDField()
    due = serializers.DateField(allow_null=True)
    owner = Person(allow_null=True)
    people = Person(many=True)
    kind = serializers.ChoiceField(choices=["a", "b"])
    stats = serializers.SerializerMethodField()
    note = serializers.SerializerMethodField()
    watchers = serializers.SerializerMethodField()
    secret = serializers.CharField(write_only=True)

    def get_stats(self, obj) -> Stats:
        return {"comments": 0, "percentage": None}

    def get_note(self, obj) -> str | None:
        return None

    @returns(Person(many=True))
    def get_watchers(self, obj) -> list[dict[str, Any]]:
        return []


def test_a_serializer_becomes_a_json_schema_of_what_it_renders():
    schema = serializer_schema(Resource)
    assert schema["required"] == [
        "id", "uuid", "due", "owner", "people", "kind", "stats", "note", "watchers"
    ]  # fmt: skip
    properties = schema["properties"]
    assert properties["id"] == {"type": "integer"}
    assert properties["due"] == {"type": ["string", "null"], "format": "date"}
    assert properties["owner"]["type"] == ["object", "null"]
    assert properties["people"]["items"]["required"] == ["name"]
    assert properties["kind"] == {"enum": ["a", "b"]}
    assert properties["stats"]["properties"] == {
        "comments": {"type": "integer"},
        "percentage": {"type": ["number", "null"]},
    }
    assert properties["note"] == {"type": ["string", "null"]}
    assert properties["watchers"]["items"]["properties"] == {"name": {"type": "string"}}
    assert "secret" not in properties


# -- the breaking-change check ----------------------------------------------------------


@pytest.fixture
def snapshot(tmp_path):
    path = tmp_path / "webhook_schemas.json"
    path.write_text(json.dumps(openapi_document()))
    return str(path)


@pytest.fixture
def items_declare():
    """Re-register the test host's items with another ``data`` schema for one test."""

    def declare(change):
        schema = json.loads(json.dumps(ItemEvents.schema))
        change(schema)
        registry.register(Item, type("ChangedItemEvents", (ItemEvents,), {"schema": schema}))

    yield declare
    registry.register(Item, ItemEvents)


def test_the_check_passes_against_an_unchanged_snapshot(snapshot, capsys):
    call_command("webhooks_schema", check=snapshot)
    assert "7 events, unchanged" in capsys.readouterr().out


def test_the_check_fails_naming_the_event_and_path_of_a_removed_key(snapshot, items_declare):
    def remove_done(schema):
        del schema["properties"]["done"]
        schema["required"].remove("done")

    items_declare(remove_done)
    with pytest.raises(CommandError) as failed:
        call_command("webhooks_schema", check=snapshot)
    assert "items.store: $.data.done removed" in str(failed.value)
    assert "items.tags.add: $.data.done removed" in str(failed.value)


def test_the_check_fails_naming_the_event_and_path_of_a_changed_type(snapshot, items_declare):
    def title_as_number(schema):
        schema["properties"]["title"] = {"type": "integer"}

    items_declare(title_as_number)
    with pytest.raises(CommandError) as failed:
        call_command("webhooks_schema", check=snapshot)
    assert "items.update: $.data.title type changed from string to integer" in str(failed.value)


def test_the_check_fails_when_a_value_may_now_be_null(snapshot, items_declare):
    items_declare(lambda schema: schema["properties"].update(title={"type": ["string", "null"]}))
    with pytest.raises(CommandError, match=r"\$\.data\.title type changed"):
        call_command("webhooks_schema", check=snapshot)


def test_the_check_passes_on_an_added_optional_key(snapshot, items_declare, capsys):
    items_declare(lambda schema: schema["properties"].update(notes={"type": "string"}))
    call_command("webhooks_schema", check=snapshot)
    assert "without breaking receivers" in capsys.readouterr().out


def test_the_check_fails_on_a_removed_event(snapshot, tmp_path):
    document = openapi_document()
    document["webhooks"]["items.archived"] = document["webhooks"]["items.store"]
    (tmp_path / "old.json").write_text(json.dumps(document))
    with pytest.raises(CommandError, match=r"items\.archived: event removed"):
        call_command("webhooks_schema", check=str(tmp_path / "old.json"))


def test_a_required_key_added_to_what_receivers_send_back_breaks_them(tmp_path):
    def answering(required):
        document = openapi_document()
        responses = document["webhooks"]["items.store"]["post"]["responses"]
        schema = {"type": "object", "properties": {"ok": {}, "id": {}}, "required": required}
        responses["2XX"]["content"] = {"application/json": {"schema": schema}}
        return document

    from webhooks_app.engine.compatibility import breaking_changes

    assert breaking_changes(answering(["ok"]), answering(["ok", "id"])) == [
        "items.store: 2XX $.id required key added"
    ]
    assert breaking_changes(answering(["ok", "id"]), answering(["ok"])) == []


def test_an_unreadable_snapshot_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="not a readable JSON snapshot"):
        call_command("webhooks_schema", check=str(tmp_path / "missing.json"))


def test_the_document_is_served_at_the_url_the_host_mounts(client):
    answer = client.get("/webhooks/schema.json")
    assert answer.status_code == 200
    assert answer.json() == openapi_document()


def test_the_document_merges_into_the_apis_own():
    from drf_spectacular.generators import SchemaGenerator

    from webhooks_app.schemas import merge_into

    api = SchemaGenerator().get_schema(request=None, public=True)
    merged = merge_into(api)
    assert merged["openapi"] == "3.1.0"
    assert merged["paths"]  # the API's operations stay
    assert sorted(merged["webhooks"]) == sorted(openapi_document()["webhooks"])


@pytest.mark.django_db
def test_capture_events_sees_emits_nobody_subscribes_to_and_rolled_back_ones(project, make_item):
    from django.db import transaction

    from webhooks_app.registry import muted

    with capture_events() as captured:
        with transaction.atomic():
            make_item(title="Rolled back")
            transaction.set_rollback(True)
        with muted():
            make_item(title="Muted")
    assert captured.names == ["items.store"]
    assert captured[0].data["title"] == "Rolled back"
    assert captured[0].project == project.pk
