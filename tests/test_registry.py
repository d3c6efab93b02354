"""Which model changes emit which events: the test host's ``ItemEvents`` registration."""

from __future__ import annotations

import json

import pytest

from tests.testapp.models import Item, Tag
from webhooks_app.models import Event
from webhooks_app.registry import changes_between, emit_for_instance, muted, tracked_values

pytestmark = pytest.mark.django_db


@pytest.fixture
def emitted(make_webhook):
    """The (event type, changes, project) of each event recorded so far, in order."""
    make_webhook("https://example.com/everything", ["*"], project=None)

    def read() -> list[tuple]:
        events = Event.objects.order_by("pk")
        return [(e.event_type, json.loads(e.body).get("changes"), e.project_id) for e in events]

    return read


@pytest.fixture
def tags(db) -> list[Tag]:
    return [Tag.objects.create(name=name) for name in ("urgent", "docs", "ops")]


def test_create_update_and_delete_emit_their_events(emitted, make_item, project):
    item = make_item(title="Draft")
    item.title = "Final"
    item.save()
    item.save()  # nothing changed: nothing emitted
    item.delete()

    assert emitted() == [
        ("items.store", None, project.pk),
        ("items.update", {"title": {"from": "Draft", "to": "Final"}}, project.pk),
        ("items.destroy", None, project.pk),
    ]


def test_a_field_event_replaces_the_update_for_its_field(emitted, make_item):
    item = make_item(title="Draft")
    item.done = True
    item.title = "Final"
    item.save()

    assert [(name, changes) for name, changes, _ in emitted()[1:]] == [
        ("items.done", {"done": {"from": False, "to": True}}),
        ("items.update", {"title": {"from": "Draft", "to": "Final"}}),
    ]


def test_moving_to_another_project_notifies_both(
    emitted, make_item, make_webhook, project, other_project
):
    old_home = make_webhook("https://example.com/old", ["items.move"])
    new_home = make_webhook("https://example.com/new", ["items.move"], project=other_project)
    item = make_item()
    item.project = other_project
    item.save()

    (name, changes, _), *rest = emitted()[1:]
    assert name == "items.move" and rest == []
    assert changes == {"project": {"from": project.pk, "to": other_project.pk}}
    moved = Event.objects.get(event_type="items.move")
    assert {d.webhook_id for d in moved.deliveries.all()} >= {old_home.pk, new_home.pk}


def test_update_fields_limits_what_is_compared(emitted, make_item):
    item = make_item(title="Draft")
    item.title, item.done = "Final", True
    item.save(update_fields=["title"])

    assert [name for name, _, _ in emitted()[1:]] == ["items.update"]


def test_tags_added_removed_and_cleared_from_the_item(emitted, make_item, tags):
    urgent, docs, ops = tags
    item = make_item()
    item.tags.add(urgent, docs)
    item.tags.remove(urgent)
    item.tags.add(ops)
    item.tags.clear()
    item.tags.clear()  # nothing left: nothing emitted

    assert [(name, changes) for name, changes, _ in emitted()[1:]] == [
        ("items.tags.add", {"tags": {"added": [urgent.pk, docs.pk]}}),
        ("items.tags.remove", {"tags": {"removed": [urgent.pk]}}),
        ("items.tags.add", {"tags": {"added": [ops.pk]}}),
        ("items.tags.remove", {"tags": {"removed": [docs.pk, ops.pk]}}),
    ]


def test_tags_changed_from_the_tags_side_emit_per_item(emitted, make_item, tags):
    urgent = tags[0]
    first, second = make_item(title="first"), make_item(title="second")
    urgent.items.add(first, second)
    urgent.items.remove(first)
    urgent.items.clear()

    events = [(name, changes) for name, changes, _ in emitted()[2:]]
    assert sorted(events[:2], key=str) == [
        ("items.tags.add", {"tags": {"added": [urgent.pk]}}),
        ("items.tags.add", {"tags": {"added": [urgent.pk]}}),
    ]
    assert events[2:] == [
        ("items.tags.remove", {"tags": {"removed": [urgent.pk]}}),
        ("items.tags.remove", {"tags": {"removed": [urgent.pk]}}),
    ]
    bodies = [json.loads(e.body)["data"]["title"] for e in Event.objects.order_by("pk")[2:4]]
    assert sorted(bodies) == ["first", "second"]


def test_muted_changes_emit_nothing_and_an_explicit_event_describes_the_action(
    emitted, make_item, tags
):
    with muted():
        item = make_item(title="Imported")
        item.tags.set(tags)
        before = tracked_values(item)
        item.title = "Imported and tagged"
        item.save()
    emit_for_instance(
        item, "items.store", changes=changes_between(Item, before, tracked_values(item))
    )

    assert [(name, changes) for name, changes, _ in emitted()] == [
        ("items.store", {"title": {"from": "Imported", "to": "Imported and tagged"}}),
    ]


def test_loaddata_rows_are_not_events(emitted, project, tmp_path):
    from django.core.management import call_command

    fixture = tmp_path / "items.json"
    fixture.write_text(
        json.dumps(
            [
                {
                    "model": "testapp.item",
                    "fields": {
                        "uuid": "5b0c54d0-7b55-4bd6-9f31-2b1f3f2a0f9e",
                        "project": project.pk,
                        "title": "From a fixture",
                        "done": False,
                        "updated_at": "2026-11-01T00:00:00Z",
                    },
                }
            ]
        )
    )
    call_command("loaddata", str(fixture), verbosity=0)

    assert Item.objects.filter(title="From a fixture").exists()
    assert emitted() == []


def test_a_json_field_edited_in_place_is_an_update(emitted, make_item, project):
    item = make_item(title="Draft", details={"labels": ["a"]})
    item.details["labels"].append("b")
    item.details["colour"] = "red"
    item.save()

    assert emitted()[1:] == [
        (
            "items.update",
            {
                "details": {
                    "from": {"labels": ["a"]},
                    "to": {"labels": ["a", "b"], "colour": "red"},
                }
            },
            project.pk,
        )
    ]


def test_a_json_field_of_a_loaded_row_edited_in_place_is_an_update(emitted, make_item):
    make_item(title="Draft", details={"estimate": 3})
    item = Item.objects.get()
    item.details["estimate"] = 5
    item.save()
    item.save()  # the snapshot taken after the save holds the new value: nothing more

    assert [(name, changes) for name, changes, _ in emitted()[1:]] == [
        ("items.update", {"details": {"from": {"estimate": 3}, "to": {"estimate": 5}}}),
    ]


def test_tracked_values_are_copies_that_a_later_edit_in_place_does_not_change(make_item):
    item = make_item(details={"estimate": 3})
    before = tracked_values(item)
    item.details["estimate"] = 5

    assert changes_between(Item, before, tracked_values(item)) == {
        "details": {"from": {"estimate": 3}, "to": {"estimate": 5}}
    }
