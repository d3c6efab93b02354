"""The task events' plain-Python renderer gives what the BoardTask serializer gives.

``agile.rendering.board_task`` renders the task resource on the save path; the DRF
serializer is the documented contract (schemas, PAYLOADS.md, the API). Both render the
same tasks here, every optional part present or absent, and must agree key for key, in
order, value for value and type for type; so must the events, however the task and its
related rows were loaded.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from example_project.agile import rendering, services
from example_project.agile.models import Profile, Project, Task
from example_project.agile.serializers import BoardTaskSerializer
from example_project.tests.factories import make_labels, make_user
from webhooks_app.registry import registry
from webhooks_app.testing import capture_events

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 14, 15, 9, 26, tzinfo=dt.UTC)


def _exact(data: Any) -> str:
    """Keys in order, and each value's JSON type (1 and 1.0 and True differ)."""
    return json.dumps(data, indent=1)


@pytest.fixture
def frozen(monkeypatch):
    """Relative dates ("3 hours ago") read one clock in both renderings."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def _users(count: int) -> list:
    users = [make_user() for _ in range(count)]
    if users:
        # A user known only by username, and one whose profile is not made yet.
        get_user_model().objects.filter(pk=users[0].pk).update(first_name="", last_name="")
        Profile.objects.filter(user=users[-1]).delete()
        for user, days in zip(users, (3, 400, 40), strict=False):
            get_user_model().objects.filter(pk=user.pk).update(
                date_joined=NOW - dt.timedelta(days=days)
            )
    return users


def _varied_tasks(board, company, alice, sprint, story, columns, count: int = 40) -> list[int]:
    """``count`` tasks, each with a random choice of what the resource can show."""
    rng = random.Random(17)
    people = [alice, *_users(3)]
    labels = make_labels(company, 4)
    catalogs = [
        list(company.task_types.all()),
        list(company.priorities.all()),
        list(company.efforts.all()),
    ]
    parents: list[Task] = []
    made = []
    for i in range(count):
        chance = rng.random
        task = services.create_task(
            board,
            f"Task {i} " + rng.choice(["", "with a longer title, ünïcode ✓"]),
            creator=rng.choice(people),
            description=rng.choice(["", "<p>Some <b>HTML</b></p>"]),
            type=rng.choice(catalogs[0]),
            priority=rng.choice(catalogs[1]),
            effort=rng.choice(catalogs[2]),
            column=rng.choice(list(columns.values())),
            labels=rng.sample(labels, rng.randint(0, 4)),
            assignees=rng.sample(people, rng.randint(0, 3)),
            sprint=sprint if chance() < 0.5 else None,
            user_story=story if chance() < 0.5 else None,
            parent=rng.choice(parents) if parents and chance() < 0.3 else None,
            start_date=dt.date(2026, 1, rng.randint(1, 28)) if chance() < 0.5 else None,
            due_date=dt.date(2026, 2, rng.randint(1, 28)) if chance() < 0.5 else None,
            estimated_minutes=rng.choice([0, 30, 90, 600]),
        )
        if task.parent_id is None:
            parents.append(task)
        for n in range(rng.choice([0, 0, 1, 3])):
            item = services.add_checklist_item(task, f"Step {n}")
            if chance() < 0.5:
                item.done = True
                item.save()
        for _ in range(rng.choice([0, 1, 2])):
            services.add_comment(task, rng.choice(people[:1]), "A comment")
        if chance() < 0.3:
            services.add_attachment(
                task, alice, name="a.png", url="https://f.example.com/a", size=1, mime_type="x/y"
            )
        if chance() < 0.3:
            services.add_video(task, alice, url="https://youtu.be/dQw4w9WgXcQ", title="Demo")
        for _ in range(rng.choice([0, 1, 2])):
            worked = dt.timedelta(minutes=rng.choice([1, 59, 61, 1500]))
            services.add_time_entry(task, alice, started_at=NOW - worked, duration=worked)
        if chance() < 0.2:
            services.update_task(task, type=None, priority=None, effort=None)
        if chance() < 0.1:
            Task.objects.filter(pk=task.pk).update(column=None, creator=None)
        ago = rng.choice([dt.timedelta(seconds=5), dt.timedelta(hours=3), dt.timedelta(days=800)])
        Task.objects.filter(pk=task.pk).update(created_at=NOW - ago, updated_at=NOW - ago / 2)
        made.append(task.pk)
    return made


@pytest.fixture
def varied(board, company, alice, sprint, story, columns) -> list[int]:
    pks = _varied_tasks(board, company, alice, sprint, story, columns)
    # Done tasks have their completion (when, by whom); a reopened one has none.
    done = [pk for pk in pks if Task.objects.get(pk=pk).column_id == columns["Done"].pk]
    assert done and Task.objects.filter(pk__in=done, completed_by__isnull=False).exists()
    return pks


def _contract(pk: int) -> dict:
    return BoardTaskSerializer(Task.objects.for_resource().get(pk=pk)).data


def test_the_renderer_gives_what_the_serializer_gives_for_varied_tasks(varied, frozen):
    for task in Task.objects.for_resource().filter(pk__in=varied):
        assert _exact(rendering.board_task(task)) == _exact(BoardTaskSerializer(task).data)


def test_a_task_event_renders_the_contract_however_the_task_was_loaded(varied, frozen):
    config = registry.get(Task)
    kinds = set()
    for pk in varied:
        expected = _exact(_contract(pk))
        plain = Task.objects.get(pk=pk)  # as a view loads it: no related row held
        held = Task.objects.select_related("project", "column", "creator").get(pk=pk)
        assert _exact(config.serialize(plain)) == expected
        assert _exact(config.serialize(held)) == expected
        data = json.loads(expected)
        kinds.add((data["parent"] is None, data["config_sprint"] is None, not data["labels"]))
    assert len(kinds) == 8  # every mix of the optional parts was rendered


@pytest.mark.parametrize("given", ["ids", "objects loaded plainly", "objects held"])
def test_a_created_task_renders_the_contract(board, company, alice, sprint, columns, given):
    creator = make_user()
    project = {
        "ids": None,
        "objects loaded plainly": Project.objects.get(pk=board.pk),
        "objects held": board,
    }[given]
    fields: dict[str, Any] = dict(
        title="Created",
        description="From the shell",
        estimated_minutes=45,
        due_date=dt.date(2026, 5, 1),
    )
    related = {
        "project": project,
        "column": columns["Done"],
        "creator": creator,
        "type": company.task_types.last(),
        "sprint": sprint,
    }
    if given == "ids":
        fields.update({f"{name}_id": obj.pk for name, obj in related.items() if obj is not None})
        fields["project_id"] = board.pk
    else:
        fields.update(related)
    with capture_events() as captured:
        task = Task.objects.create(**fields)
    assert captured.names == ["issues.store"]
    assert _exact(captured[0].data) == _exact(_contract(task.pk))


def test_a_task_changed_behind_a_loaded_instance_renders_as_stored(board, alice, columns, frozen):
    task = services.create_task(board, "Moved", creator=alice, column=columns["To Do"])
    plain = Task.objects.get(pk=task.pk)  # lacks every related row
    held = Task.objects.select_related("column", "creator").get(pk=task.pk)
    Task.objects.filter(pk=task.pk).update(column=columns["Done"], creator=None)
    expected = _exact(_contract(task.pk))
    assert '"title": "Done"' in expected
    for instance in (plain, held):
        assert _exact(registry.get(Task).serialize(instance)) == expected
