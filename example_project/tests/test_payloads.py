"""Payloads against the documented JSON, key by key and type by type."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from example_project.agile import services
from example_project.agile.dates import date_object, for_humans, hms
from example_project.agile.models import Task
from example_project.tests.factories import make_user
from example_project.tests.shapes import (
    DATE_OBJECT,
    DOCUMENTED_NULLS,
    assert_same_shape,
    expected_resource,
    load,
    shape_errors,
    sprint_resource,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy_task(board, company, alice, bob, sprint, story, columns):
    """A task with something in every part of the BoardTask resource."""
    task = services.create_task(
        board,
        "Implement login page",
        creator=alice,
        description="Email and password",
        type=company.task_types.get(title="Feature"),
        column=columns["In Progress"],
        priority=company.priorities.get(title="High"),
        effort=company.efforts.get(title="Medium"),
        labels=[services.create_label(company, "Frontend", "#8B5CF6")],
        assignees=[alice, bob],
        sprint=sprint,
        user_story=story,
        due_date=dt.date(2025, 1, 15),
    )
    for title in ("Form", "Validation", "Tests"):
        services.add_checklist_item(task, title)
    services.add_comment(task, bob, "One")
    services.add_comment(task, alice, "Two")
    services.add_attachment(
        task, alice, name="a.png", url="https://f.example.com/a.png", size=10, mime_type="image/png"
    )
    services.add_time_entry(
        task,
        alice,
        started_at=timezone.now() - dt.timedelta(hours=5),
        duration=dt.timedelta(hours=2),
    )
    services.add_time_entry(
        task,
        bob,
        started_at=timezone.now() - dt.timedelta(hours=2),
        duration=dt.timedelta(minutes=30),
    )
    return task


def test_task_payload_matches_the_board_task_resource(fired, busy_task):
    with fired() as events:
        services.update_task(busy_task, title="Implement login page with SSO")
    data = events.data
    assert_same_shape(data, load("board_task"), nullable=DOCUMENTED_NULLS["board_task"])
    assert data["type"] == {"title": "Feature", "color": "#22C55E"}
    assert data["workflow"] == {"title": "In Progress", "color": "#3B82F6", "position": 1}
    assert data["priority"] == {"title": "High", "color": "#EF4444"}
    assert data["effort"] == {"title": "Medium", "color": "#F59E0B"}
    assert data["config_sprint"] == {"title": "Q1 Week 3"}
    assert data["config_user_story"] == {"title": "As a user, I want to reset my password"}
    assert data["due_date"] == "2025-01-15"
    assert data["stats"] == {
        "checklists": 3,
        "comments": 2,
        "attachments": 1,
        "videos": 0,
        "time_trackings": "02:30:00",
    }
    assert data["users"][0] == {
        "username": "alice",
        "name": "Alice Tester",
        "avatar": data["users"][0]["avatar"],
    }
    assert data["users"][0]["avatar"].startswith("https://")


def test_task_without_sprint_story_or_due_date_sends_the_documented_nulls(fired, board, alice):
    with fired() as events:
        services.create_task(board, "Bare task", creator=alice)
    data = events.data
    assert_same_shape(data, load("board_task"), nullable=DOCUMENTED_NULLS["board_task"])
    assert data["config_sprint"] is None
    assert data["config_user_story"] is None
    assert data["due_date"] is None


def test_deleted_task_is_described_as_it_was_just_before(fired, busy_task):
    with fired() as events:
        services.delete_task(busy_task)
    assert events.data["stats"]["comments"] == 2
    assert events.data["stats"]["time_trackings"] == "02:30:00"
    assert len(events.data["users"]) == 2


def test_sprint_payload_matches_the_full_and_the_short_sprint_resources(fired, busy_task, sprint):
    services.move_task_to_column(busy_task, busy_task.project.columns.get(title="Done"))
    with fired() as events:
        services.close_sprint(sprint)
    data = events.data
    options = {
        "nullable": DOCUMENTED_NULLS["sprint"],
        "items": {"users": sprint_resource()["user"]},
    }
    assert_same_shape(data, sprint_resource(), **options)
    # Each page's keys on its own, too: a receiver may know only one of them.
    assert not [e for e in shape_errors(data, load("sprint"), **options) if "missing" in e]
    assert not [e for e in shape_errors(data, load("sprint_short"), **options) if "missing" in e]
    assert [u["username"] for u in data["users"]] == ["alice", "bob"]
    assert data["user"]["headline"] == "Lead Developer"
    assert data["user"]["timezone_name"] == "Europe/Lisbon"
    assert data["code"] == f"S-{sprint.pk}" and data["id"] == sprint.pk
    assert data["slug"] == "sprint-q1-week-3"
    assert data["status"] == {
        "slug": "closed",
        "title": "Closed",
        "color": "#22C55E",
        "description": None,
    }
    assert data["time_box"] == data["duration"] == 14
    assert data["timebox"]["start"]["iso8601"] == f"{sprint.date_start}T00:00:00+00:00"


def test_sprint_stats_count_tasks_points_hours_and_comments(fired, busy_task, sprint, board, alice):
    other = services.create_task(
        board,
        "Second",
        creator=alice,
        sprint=sprint,
        effort=board.company.efforts.get(title="Large"),
    )
    services.move_task_to_column(other, board.columns.get(title="Done"))
    with fired() as events:
        services.update_sprint(sprint, color="#EF4444")
    assert events.data["stats"] == {
        "story_points": 3 + 8,
        "worked_hours": 2.5,
        "total_tasks": 2,
        "open_tasks": 1,
        "closed_tasks": 1,
        "percentage": 50,
        "comments": 2,
        "issues_count": 2,
        "closed_issues_count": 1,
        "effort_total": 3 + 8,
    }


def test_new_sprint_has_the_documented_empty_users_and_null_closed_at(fired, board, alice):
    today = timezone.localdate()
    with fired() as events:
        services.create_sprint(
            board, "Sprint 14", creator=alice, date_start=today, date_finish=today + dt.timedelta(7)
        )
    data = events.data
    assert_same_shape(data, sprint_resource(), nullable=DOCUMENTED_NULLS["sprint"])
    assert data["users"] == [] and data["closed_at"] is None and data["description"] is None
    assert data["slug"] == "sprint-14"
    assert data["stats"]["worked_hours"] == 0


def test_user_story_payload_matches_the_user_story_resource(fired, story, company, bob):
    services.update_user_story(story, priority=company.priorities.get(title="High"))
    with fired() as events:
        services.vote_user_story(story, bob)
    assert_same_shape(events.data, load("user_story"))
    assert events.data["priority"] == "High"


def test_is_voted_is_the_voters_view_and_false_without_one(fired, story, bob):
    services.vote_user_story(story, bob)
    with fired() as events:
        services.update_user_story(story, description="Via an email link")
    assert events.data["votes_count"] == 1
    assert events.data["is_voted"] is False  # an edit has no voter to speak for


def test_time_tracking_payload_matches_the_time_tracking_resource(fired, task, alice):
    started = timezone.now().replace(microsecond=0) - dt.timedelta(hours=3)
    with fired() as events:
        services.add_time_entry(
            task,
            alice,
            started_at=started,
            duration=dt.timedelta(hours=2, minutes=30),
            comment="API",
        )
    data = events.data
    assert_same_shape(data, load("time_tracking"))
    assert data["started_at"] == started.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert data["user"] == {"username": "alice", "name": "Alice Tester"}


def test_running_timer_has_a_null_stop(fired, task, alice):
    with fired() as events:
        services.start_timer(task, alice)
    assert_same_shape(events.data, load("time_tracking"), nullable={"stopped_at": ""})
    assert events.data["stopped_at"] is None
    assert events.data["duration"] == "00:00:00"


@pytest.mark.parametrize(
    "action",
    [
        "comments.issues.store",
        "attachments.issues.store",
        "videos.issues.store",
        "discussions.vote",
    ],
)
def test_designed_resources_match_their_documented_examples(fired, task, board, bob, action):
    with fired() as events:
        if action == "comments.issues.store":
            services.add_comment(task, bob, "<p>Looks good</p>")
        elif action == "attachments.issues.store":
            services.add_attachment(
                task,
                bob,
                name="a.pdf",
                url="https://f.example.com/a.pdf",
                size=3,
                mime_type="application/pdf",
            )
        elif action == "videos.issues.store":
            services.add_video(task, bob, url="https://www.loom.com/share/abc", title="Walkthrough")
        else:
            services.vote_discussion(services.start_discussion(board, "IE11?", creator=bob), bob)
    assert events == [action]
    expected, options = expected_resource(action)
    assert_same_shape(events.data, expected, **options)
    reference = events.data.get("task")
    if reference is not None:
        assert reference == {"uuid": str(task.uuid), "code": task.code, "title": task.title}
    assert events.data["project"] == {"slug": board.slug, "name": board.name}


def test_payloads_never_contain_emails_or_password_hashes(fired, busy_task, sprint, bob):
    with fired() as events:
        services.close_sprint(sprint)
        services.add_comment(busy_task, bob, "Hi")
        services.start_timer(busy_task, bob)
    bodies = json.dumps(events.envelopes)
    for user in (busy_task.creator, bob):
        assert user.email not in bodies
        assert user.password not in bodies
    assert "@example.com" not in bodies


def test_user_without_a_profile_gets_one_with_a_stable_uuid(fired, board, alice):
    mallory = make_user("mallory")
    mallory.profile.delete()
    mallory.refresh_from_db()
    task = services.create_task(board, "Audit", creator=alice, assignees=[mallory])
    with fired() as first:
        services.update_task(task, title="Audit logs")
    with fired() as second:
        services.update_task(task, title="Audit all logs")
    assert first.data["users"][0]["avatar"] == second.data["users"][0]["avatar"]


# -- date objects ---------------------------------------------------------------------


def test_date_objects_are_the_superset_of_both_documented_forms():
    now = timezone.now()
    moment = date_object(now - dt.timedelta(hours=2), now=now)
    assert (
        set(moment) == set(DATE_OBJECT) == {"date_for_humans", "iso8601", "timestamp", "timezone"}
    )
    assert moment["date_for_humans"] == "2 hours ago"
    assert moment["timezone"] == "UTC"
    assert moment["iso8601"].endswith("+00:00")
    assert dt.datetime.fromisoformat(moment["iso8601"]).timestamp() == moment["timestamp"]

    day = date_object(dt.date(2026, 2, 10))
    assert day == {
        "date_for_humans": "Feb 10, 2026",
        "iso8601": "2026-02-10T00:00:00+00:00",
        "timestamp": 1770681600,
        "timezone": "UTC",
    }


@pytest.mark.parametrize(
    ("ago", "text"),
    [
        (dt.timedelta(seconds=5), "Just now"),
        (dt.timedelta(minutes=5), "5 minutes ago"),
        (dt.timedelta(hours=1), "1 hour ago"),
        (dt.timedelta(days=7), "1 week ago"),
        (dt.timedelta(days=400), "1 year ago"),
        (-dt.timedelta(days=2, minutes=1), "in 2 days"),
    ],
)
def test_dates_for_humans_read_relative(ago, text):
    now = timezone.now()
    assert for_humans(now - ago, now=now) == text


def test_durations_read_as_hours_minutes_seconds():
    assert hms(dt.timedelta(hours=2, minutes=30)) == "02:30:00"
    assert hms(dt.timedelta(days=1, hours=2)) == "26:00:00"
    assert hms(None) == "00:00:00"


def test_shape_check_reports_missing_extra_and_mistyped_keys():
    expected = {
        "a": 1,
        "b": {"c": "x"},
        "d": [{"e": True}],
        "t": {"date_for_humans": "", "timezone": ""},
    }
    actual = {"a": "1", "b": {"c": "x", "z": 0}, "d": [{"e": None}], "f": 2, "t": DATE_OBJECT}
    assert shape_errors(actual, expected) == [
        "<root>: undocumented keys ['f']",
        "a: string where the documentation has number",
        "b: undocumented keys ['z']",
        "d[].e: null where the documentation has boolean",
    ]


def test_for_resource_loads_the_counters_the_stats_show(busy_task):
    task = Task.objects.for_resource().get(pk=busy_task.pk)
    assert task.stat_comments == 2 and task.stat_tracked == dt.timedelta(hours=2, minutes=30)
