"""Rendering and dispatching cost a fixed number of queries, whatever the sizes."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from example_project.agile import services, task_rows
from example_project.agile.models import BoardColumn, Comment, Project, Sprint, Task, UserStory
from example_project.tests.factories import make_labels, make_user
from webhooks_app.models import Delivery, Event, Subscription, Webhook
from webhooks_app.registry import registry

pytestmark = pytest.mark.django_db


def _task_with(board, company, alice, *, labels: int, assignees: int) -> Task:
    users = [alice] + [make_user() for _ in range(assignees - 1)]
    task = services.create_task(
        board, "Crowded", creator=alice, labels=make_labels(company, labels), assignees=users
    )
    services.add_comment(task, alice, "Hi")
    services.add_time_entry(task, alice, started_at=timezone.now(), duration=dt.timedelta(hours=1))
    return task


def _render(task: Task) -> dict:
    return registry.get(Task).serialize(Task.objects.get(pk=task.pk))


def test_rendering_a_task_with_20_labels_and_10_assignees_takes_the_queries_of_one_each(
    board, company, alice, django_assert_num_queries
):
    small = _task_with(board, company, alice, labels=1, assignees=1)
    big = _task_with(board, company, alice, labels=20, assignees=10)
    fetched = Task.objects.get(pk=small.pk), Task.objects.get(pk=big.pk)

    # The task with its counters; the rows it points at, by their keys; its labels; its
    # assignees with profiles.
    with django_assert_num_queries(4):
        one = registry.get(Task).serialize(fetched[0])
    with django_assert_num_queries(4):
        many = registry.get(Task).serialize(fetched[1])

    assert (len(one["labels"]), len(one["users"])) == (1, 1)
    assert (len(many["labels"]), len(many["users"])) == (20, 10)


def test_rendering_a_sprint_with_many_members_takes_constant_queries(
    board, company, alice, sprint, django_assert_num_queries
):
    services.create_task(board, "One", creator=alice, sprint=sprint, assignees=[alice])
    config = registry.get(Sprint)
    with django_assert_num_queries(2) as few:
        config.serialize(sprint)
    for _ in range(5):
        services.create_task(
            board, "More", creator=alice, sprint=sprint, assignees=[make_user(), make_user()]
        )
    with django_assert_num_queries(len(few.captured_queries)):
        data = config.serialize(sprint)
    assert len(data["users"]) == 11


def test_rendering_a_user_story_takes_constant_queries_whatever_its_tasks(
    board, company, alice, django_assert_num_queries
):
    epic = services.create_epic(board, "Authentication", creator=alice)
    story = services.create_user_story(board, "Reset password", creator=alice, epic=epic)
    services.create_task(board, "One", creator=alice, user_story=story, assignees=[alice])
    config = registry.get(UserStory)
    # The story with its epic, creator, counters; the people on its tasks.
    with django_assert_num_queries(2):
        config.serialize(story)
    for _ in range(5):
        task = services.create_task(
            board, "More", creator=alice, user_story=story, assignees=[make_user(), make_user()]
        )
        services.add_comment(task, alice, "Hi")
        services.add_time_entry(task, alice, started_at=timezone.now(), duration=dt.timedelta(1))
    with django_assert_num_queries(2):
        data = config.serialize(story)
    assert (len(data["users"]), data["stats"]["total_tasks"]) == (11, 6)


def test_rendering_a_comment_thread_takes_constant_queries_whatever_its_replies(
    task, alice, bob, django_assert_num_queries
):
    first = services.add_comment(task, alice, "Thoughts, @bob?")
    services.add_comment(task, bob, "Yes @alice", reply_to=first)
    config = registry.get(Comment)
    # The comment with its task, project and votes; its replies; the users they mention.
    with django_assert_num_queries(3):
        config.serialize(first)
    for i in range(10):
        reply = services.add_comment(
            task, make_user(), f"@alice @{bob.username} #{i}", reply_to=first
        )
        services.vote_comment(reply, alice)
    with django_assert_num_queries(3):
        data = config.serialize(first)
    assert len(data["replies"]) == 11
    assert [u["username"] for u in data["replies"][-1]["users"]] == ["alice", "bob"]


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda task, user: services.add_time_entry(
                task, user, started_at=timezone.now(), duration=dt.timedelta(hours=1)
            ),
            id="time entry",
        ),
        pytest.param(
            lambda task, user: services.add_attachment(
                task, user, name="a.png", url="https://f.example.com/a", size=1, mime_type="x/y"
            ),
            id="attachment",
        ),
        pytest.param(
            lambda task, user: services.add_video(task, user, url="https://youtu.be/x", title="V"),
            id="video",
        ),
        pytest.param(
            lambda task, user: (
                services.vote_discussion(
                    services.start_discussion(task.project, "IE11?", creator=user), user
                )
                and task.project.discussions.get().votes.get()
            ),
            id="discussion vote",
        ),
    ],
)
def test_rendering_a_task_child_or_a_vote_takes_one_query(
    task, alice, make, django_assert_num_queries
):
    instance = make(task, alice)
    with django_assert_num_queries(1):
        data = registry.get(type(instance)).serialize(instance)
    assert data["user"]["username"] == "alice"


def _subscribe(project, count: int) -> None:
    for i in range(count):
        webhook = Webhook.objects.create(project=project, url=f"http://127.0.0.1:9/{i}")
        Subscription.objects.create(webhook=webhook, event_type="issues.*")


@pytest.mark.parametrize(
    "action",
    [
        pytest.param(lambda task, column, user: services.update_task(task, title="x"), id="update"),
        pytest.param(
            lambda task, column, user: services.move_task_to_column(task, column), id="move"
        ),
        pytest.param(lambda task, column, user: services.assign_task(task, user), id="assign"),
    ],
)
def test_dispatching_a_task_event_to_50_webhooks_takes_the_queries_of_one(
    board, company, alice, bob, columns, django_assert_num_queries, action
):
    first = _task_with(board, company, alice, labels=2, assignees=2)
    second = _task_with(board, company, alice, labels=2, assignees=2)
    first, second = Task.objects.get(pk=first.pk), Task.objects.get(pk=second.pk)

    _subscribe(board, 1)
    with CaptureQueriesContext(connection) as one:
        action(first, columns["Done"], bob)
    _subscribe(board, 49)
    with django_assert_num_queries(len(one.captured_queries)):
        action(second, columns["Done"], bob)

    assert Delivery.objects.count() == 1 + 50


def test_plain_create_with_a_subscriber_costs_no_rendering_query(board, django_assert_num_queries):
    _subscribe(board, 1)
    Task.objects.create(project=board, title="Warm-up")  # this process reads its routing map
    # Insert the task, then record the event: one statement on PostgreSQL (recipients,
    # event, deliveries, task marker), three on SQLite.
    recording = 1 if connection.vendor == "postgresql" else 3
    with django_assert_num_queries(1 + recording):
        Task.objects.create(project=board, title="From the shell")


def test_plain_create_given_ids_costs_one_rendering_query(
    board, alice, columns, django_assert_num_queries
):
    _subscribe(board, 1)
    Task.objects.create(project=board, title="Warm-up")
    recording = 1 if connection.vendor == "postgresql" else 3
    # Insert the task, load the rows its resource shows (one query for all), record.
    with django_assert_num_queries(1 + 1 + recording):
        Task.objects.create(
            project_id=board.pk, column_id=columns["Done"].pk, creator_id=alice.pk, title="Ids"
        )
    data = json.loads(Event.objects.latest("pk").body)["data"]
    assert (data["workflow"]["title"], data["user"]["username"]) == ("Done", "alice")
    assert data["company"] == {"slug": board.company.slug, "name": board.company.name}


# -- tasks loaded by plain queries, or created from ids ----------------------------------
# However the caller loaded the task and its project, rendering it loads only the rows it
# does not hold, by their keys: PostgreSQL plans a query afresh on every save, and a join
# of every row the resource shows through the task's table (13 tables) cost milliseconds
# of planning per save.


def _joined(sql: str) -> list[str]:
    """The tables ``sql`` joins to its first one, in order (subqueries' included)."""
    return re.findall(r'JOIN "(\w+)"', sql)


def _task_reads(captured) -> list[str]:
    """The SELECTs of the task row among ``captured``'s queries."""
    return [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith("SELECT") and re.search(r'FROM "agile_task"\s', q["sql"])
    ]


def _row_reads(captured) -> list[str]:
    """The SELECTs of related rows by their keys (agile.task_rows) among ``captured``'s."""
    return [q["sql"] for q in captured.captured_queries if "FROM (SELECT 1) AS base" in q["sql"]]


def _last_event_data() -> dict:
    return json.loads(Event.objects.latest("pk").body)["data"]


def test_plain_create_given_objects_loaded_by_plain_queries_costs_one_small_query(
    board, alice, columns, django_assert_num_queries
):
    _subscribe(board, 1)
    Task.objects.create(project=board, title="Warm-up")
    project = Project.objects.get(pk=board.pk)  # as a view loads it: without its company
    column = BoardColumn.objects.get(pk=columns["Done"].pk)
    user = get_user_model().objects.get(pk=alice.pk)  # as request.user: without a profile
    recording = 1 if connection.vendor == "postgresql" else 3
    # Insert the task, load what the given objects lack (one query), record.
    with django_assert_num_queries(1 + 1 + recording) as captured:
        Task.objects.create(project=project, column=column, creator=user, title="Plain")
    (render,) = _row_reads(captured)
    assert sorted(_joined(render)) == sorted(
        ["agile_project", "agile_company", "auth_user", "agile_profile"]
    )
    data = _last_event_data()
    assert data["company"] == {"slug": board.company.slug, "name": board.company.name}
    assert (data["workflow"]["title"], data["user"]["uuid"]) == ("Done", str(alice.profile.uuid))
    # The caller's objects are left as they were loaded.
    assert not Project._meta.get_field("company").is_cached(project)


def test_plain_create_given_ids_joins_only_the_rows_it_names(
    board, alice, columns, django_assert_num_queries
):
    _subscribe(board, 1)
    Task.objects.create(project=board, title="Warm-up")
    recording = 1 if connection.vendor == "postgresql" else 3
    with django_assert_num_queries(1 + 1 + recording) as captured:
        Task.objects.create(
            project_id=board.pk, column_id=columns["To Do"].pk, creator_id=alice.pk, title="Ids"
        )
    (render,) = _row_reads(captured)
    # Not the type, priority, effort, sprint, story, parent or completer: there are none.
    assert sorted(_joined(render)) == sorted(
        ["agile_boardcolumn", "auth_user", "agile_profile", "agile_project", "agile_company"]
    )
    assert '"agile_task"' not in render  # the ids are parameters: not the task's table
    data = _last_event_data()
    assert (data["project"]["slug"], data["workflow"]["title"]) == (board.slug, "To Do")


def test_creating_a_task_given_a_project_and_user_loaded_by_plain_queries(
    board, alice, django_assert_num_queries
):
    _subscribe(board, 1)
    services.create_task(board, "Warm-up", creator=alice)
    project = Project.objects.get(pk=board.pk)
    user = get_user_model().objects.get(pk=alice.pk)
    with CaptureQueriesContext(connection) as captured:
        services.create_task(project, "From a view", creator=user)
    # The action reads the project's company itself; the resource then lacks only the
    # creator's profile: the task with its counters, the user with the profile, then its
    # labels and its assignees.
    (stored,) = _task_reads(captured)
    (rows,) = _row_reads(captured)
    assert (_joined(stored), _joined(rows)) == ([], ["auth_user", "agile_profile"])
    assert len([q for q in captured.captured_queries if "agile_task_labels" in q["sql"]]) == 2
    assert _last_event_data()["user"]["headline"] == "Lead Developer"


def test_rendering_a_task_joins_only_the_rows_the_caller_does_not_hold(
    board, alice, django_assert_num_queries
):
    held = services.create_task(board, "Held", creator=alice)  # holds every related row
    plain = Task.objects.get(pk=held.pk)  # holds none
    config = registry.get(Task)
    with django_assert_num_queries(3) as captured:
        from_held = config.serialize(held)
    assert _joined(_task_reads(captured)[0]) == []
    with django_assert_num_queries(4) as captured:
        from_plain = config.serialize(plain)
    # The task with its counters, then the rows it points at by their keys (and no
    # sprint, story, parent or completer: it has none), its labels, its assignees.
    (stored,) = _task_reads(captured)
    (rows,) = _row_reads(captured)
    assert _joined(stored) == []
    assert len(_joined(rows)) <= task_rows.MOST_JOINED
    assert sorted(_joined(rows)) == sorted(
        [
            "agile_tasktype",
            "agile_boardcolumn",
            "agile_priority",
            "agile_effort",
            "auth_user",
            "agile_profile",
            "agile_project",
            "agile_company",
        ]
    )
    assert from_held == from_plain


def test_rendering_a_stale_task_shows_the_stored_rows(board, alice, columns):
    task = services.create_task(board, "Moved behind its back", creator=alice)
    Task.objects.filter(pk=task.pk).update(column=columns["Done"])
    # ``task`` still holds its first column: the stored row's is shown.
    assert registry.get(Task).serialize(task)["workflow"]["title"] == "Done"


def test_updating_a_task_loaded_by_a_plain_query_renders_in_four_narrow_queries(
    board, alice, django_assert_num_queries
):
    _subscribe(board, 1)
    task = services.create_task(board, "Edited from a view", creator=alice)
    services.update_task(Task.objects.get(pk=task.pk), title="Warm-up")
    plain = Task.objects.get(pk=task.pk)
    with CaptureQueriesContext(connection) as captured:
        services.update_task(plain, title="Edited")
    # The task with its counters; its stages, creator, project and company by their keys
    # (the project the action loaded lacks its company); its labels; its assignees.
    reads = [q for q in captured.captured_queries if q["sql"].startswith("SELECT")]
    (stored,) = _task_reads(captured)
    (rows,) = _row_reads(captured)
    assert _joined(stored) == []
    assert len(_joined(rows)) == 8 <= task_rows.MOST_JOINED
    assert len([q for q in reads if "agile_task_labels" in q["sql"]]) == 1
    assert len([q for q in reads if "agile_task_assignees" in q["sql"]]) == 1
    assert _last_event_data()["title"] == "Edited"
