"""Payloads against the documented JSON, key by key and type by type."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from example_project.agile import services
from example_project.agile.dates import date_object, for_humans, hms
from example_project.agile.examples import documented
from example_project.agile.models import Membership, Task
from example_project.tests.factories import make_user
from example_project.tests.shapes import (
    DATE_OBJECT,
    DOCUMENTED_NULLS,
    SEEDS,
    assert_documented,
    check_dump,
    load,
    options_for,
    seed_errors,
    shape_errors,
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


@pytest.mark.parametrize("name", ["board_task", "sprint", "user_story", "time_tracking"])
def test_readme_examples_contain_every_key_of_gitscrums_pages_with_its_type(name):
    example = documented(name)
    for seed in SEEDS[name]:
        assert not seed_errors(example, load(seed), **options_for(name, example)), seed


def test_task_payload_matches_the_board_task_resource(fired, busy_task, sprint, story):
    services.add_checklist_item(busy_task, "Review")
    busy_task.checklist_items.filter(title="Form").update(done=True)
    with fired() as events:
        services.update_task(busy_task, title="Implement login page with SSO")
    data = events.data
    assert_documented(data, "issues.update")
    assert (data["id"], data["code"], data["slug"]) == (
        busy_task.pk,
        f"T-{busy_task.pk}",
        "implement-login-page",
    )
    assert data["state"] == 0
    assert data["type"] == {"title": "Feature", "color": "#22C55E"}
    assert data["workflow"] == {
        "id": busy_task.column_id,
        "slug": "in-progress",
        "state": 0,
        "title": "In Progress",
        "color": "#3B82F6",
        "position": 1,
    }
    assert data["priority"] == {"title": "High", "color": "#EF4444"}
    assert data["effort"] == {"title": "Medium", "color": "#F59E0B", "effort": 3}
    assert data["labels"] == [
        {"id": data["labels"][0]["id"], "slug": "frontend", "title": "Frontend", "color": "#8B5CF6"}
    ]
    assert data["config_sprint"] == {
        "uuid": str(sprint.uuid),
        "code": sprint.code,
        "slug": "sprint-q1-week-3",
        "title": "Q1 Week 3",
    }
    assert data["config_user_story"]["title"] == "As a user, I want to reset my password"
    assert data["config_user_story"]["code"] == story.code
    assert data["due_date"] == "2025-01-15"
    assert data["total_tracked_minutes"] == 150
    assert data["stats"] == {
        "checklists": 4,
        "checklist_percentage": 25,
        "comments": 2,
        "attachments": 1,
        "videos": 0,
        "subtasks": 0,
        "time_trackers": 2,
        "time_trackings": "02:30:00",
    }
    assert [u["username"] for u in data["users"]] == ["alice", "bob"]
    assert data["user"]["username"] == "alice"
    assert data["user"]["headline"] == "Lead Developer"
    assert data["users"][0]["avatar"].startswith("https://")
    assert data["company"] == {"slug": busy_task.project.company.slug, "name": "Acme Corp"}
    assert data["project"] == {"slug": busy_task.project.slug, "name": "Web Platform"}


def test_task_moved_to_done_is_completed_by_who_moved_it_until_it_leaves(fired, task, columns, bob):
    with fired() as events:
        services.move_task_to_column(task, columns["Done"], by=bob)
    done = events.data
    assert events.envelope["changes"] == {
        "column": {"from": columns["To Do"].pk, "to": columns["Done"].pk}
    }
    assert done["state"] == done["workflow"]["state"] == 1
    assert done["completed_user"]["username"] == "bob"
    assert done["completed_date"]["date_for_humans"] == "Just now"
    assert_documented(done, "issues.move.board")

    with fired() as events:
        services.move_task_to_column(task, columns["In Progress"])
    assert events.data["state"] == 0
    assert events.data["completed_date"] is events.data["completed_user"] is None


def test_subtasks_name_their_parent_and_are_counted_by_it(fired, board, task, alice):
    with fired() as events:
        subtask = services.create_task(
            board, "Form", creator=alice, parent=task, start_date=dt.date(2026, 2, 10)
        )
    assert events.data["parent_id"] == task.pk
    assert events.data["parent"] == {"uuid": str(task.uuid), "code": task.code, "title": task.title}
    assert_documented(events.data, "issues.store")
    assert events.data["start_date"]["date_for_humans"] == "Feb 10, 2026"
    with fired() as events:
        services.update_task(task, estimated_minutes=90)
    assert events.data["stats"]["subtasks"] == 1
    assert events.data["estimated_minutes"] == 90
    with pytest.raises(services.DomainError):
        services.create_task(board, "Deeper", creator=alice, parent=subtask)
    with pytest.raises(services.DomainError):
        services.update_task(task, parent=subtask)


def test_a_task_moved_to_another_project_leaves_its_parent_and_subtasks(
    board, other_board, task, alice
):
    child = services.create_task(board, "Child", creator=alice, parent=task)
    services.move_task_to_project(task, other_board)
    child.refresh_from_db()
    assert child.parent_id is None
    subtask = services.create_task(board, "Another", creator=alice, parent=child)
    services.move_task_to_project(subtask, other_board)
    subtask.refresh_from_db()
    assert subtask.parent_id is None


def test_task_without_sprint_story_or_due_date_sends_the_documented_nulls(fired, board, alice):
    with fired() as events:
        services.create_task(board, "Bare task", creator=alice)
    data = events.data
    assert_documented(data, "issues.store")
    assert data["config_sprint"] is None
    assert data["config_user_story"] is None
    assert data["due_date"] is None
    assert data["stats"]["checklist_percentage"] is None


def test_task_created_with_the_orm_has_no_creator(fired, board):
    with fired() as events:
        Task.objects.create(project=board, title="From the shell")
    assert_documented(events.data, "issues.store")
    assert events.data["user"] is None


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
    assert_documented(data, "sprints.update")
    # Each page's keys on its own, too: a receiver may know only one of them.
    options = {"nullable": DOCUMENTED_NULLS["sprint"], "items": {"users": data["user"]}}
    assert not seed_errors(data, load("sprint"), **options)
    assert not seed_errors(data, load("sprint_short"), **options)
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
    assert_documented(data, "sprints.store")
    assert data["users"] == [] and data["closed_at"] is None and data["description"] is None
    assert data["slug"] == "sprint-14"
    assert data["stats"]["worked_hours"] == 0


def test_user_story_payload_matches_the_user_story_resource(fired, story, company, bob):
    services.update_user_story(story, priority=company.priorities.get(title="High"))
    with fired() as events:
        services.vote_user_story(story, bob)
    data = events.data
    assert_documented(data, "user-stories.vote")
    assert data["priority"] == "High"
    assert (data["id"], data["code"]) == (story.pk, f"US-{story.pk}")
    assert data["slug"] == "as-a-user-i-want-to-reset-my-password"
    assert data["votes"] == data["votes_count"] == data["total"] == 1
    assert data["is_voted"] is data["voted"] is True
    assert data["user-story"] == {"uuid": str(story.uuid), "slug": data["slug"]}
    assert data["user"]["username"] == "alice"
    assert data["epic"] is None


def test_user_story_counts_its_tasks_and_names_its_epic_and_people(
    fired, board, company, alice, bob, columns
):
    epic = services.create_epic(board, "Authentication", creator=alice)
    services.create_user_story(board, "Older story", creator=alice, epic=epic)
    story = services.create_user_story(
        board, "Reset password", creator=alice, epic=epic, description="<p>Via e-mail</p>"
    )
    large = company.efforts.get(title="Large")
    first = services.create_task(board, "Form", creator=alice, user_story=story, assignees=[bob])
    second = services.create_task(board, "Mail", creator=alice, user_story=story, effort=large)
    services.move_task_to_column(second, columns["Done"])
    services.add_comment(first, bob, "Started")
    services.add_time_entry(
        first, bob, started_at=timezone.now(), duration=dt.timedelta(hours=1, minutes=30)
    )
    with fired() as events:
        services.update_user_story(story, acceptance_criteria="Given a user...")
    data = events.data
    assert_documented(data, "user-stories.update")
    assert data["stats"] == {
        "story_points": 1 + 8,
        "worked_hours": 1.5,
        "total_tasks": 2,
        "closed_tasks": 1,
        "percentage": 50,
        "comments": 1,
    }
    assert data["epic"]["uuid"] == str(epic.uuid)
    assert data["epic"]["stats"] == {"user_stories": 2}
    assert data["epic"]["user"]["username"] == "alice"
    assert [u["username"] for u in data["users"]] == ["bob"]
    assert data["additional_information"] == data["description"] == "<p>Via e-mail</p>"


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
    assert_documented(data, "time-tracking.issues.store")
    assert data["started_at"] == started.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (data["user"]["username"], data["user"]["name"]) == ("alice", "Alice Tester")
    assert (data["status"], data["time"]) == ("create", None)
    assert data["resource"] == {"type": "task", "uuid": str(task.uuid)}
    assert data["task"]["uuid"] == str(task.uuid)


def test_running_timer_has_a_null_stop(fired, task, alice):
    with fired() as events:
        entry = services.start_timer(task, alice)
    assert_documented(events.data, "time-tracking.issues.start")
    assert events.data["stopped_at"] is None
    assert events.data["duration"] == "00:00:00"
    assert events.data["status"] == "start"
    assert events.data["time"] == entry.started_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert events.data["auto_assigned"] is False  # alice was assigned already


def test_starting_a_timer_assigns_its_user_to_the_task_in_the_same_event(fired, task, bob):
    with fired() as events:
        services.start_timer(task, bob)
    assert events == ["time-tracking.issues.start"]
    assert events.data["auto_assigned"] is True
    assert task.assignees.filter(pk=bob.pk).exists()


@pytest.mark.parametrize(
    ("action", "status"),
    [
        (lambda task, user: services.stop_timer(task, user), "stop"),
        (lambda task, user: services.cancel_timer(task, user), "cancel"),
    ],
)
def test_timer_events_say_what_happened_and_when(fired, task, alice, action, status):
    services.start_timer(task, alice)
    before = timezone.now().replace(microsecond=0)
    with fired() as events:
        action(task, alice)
    assert events.data["status"] == status
    moment = dt.datetime.strptime(events.data["time"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
    assert moment >= before


@pytest.mark.parametrize(
    "action",
    [
        "comments.issues.store",
        "attachments.issues.store",
        "videos.issues.store",
        "discussions.vote",
    ],
)
def test_task_children_and_votes_match_their_documented_examples(fired, task, board, bob, action):
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
    assert_documented(events.data, action)
    reference = events.data.get("task")
    if reference is not None:
        assert reference == {"uuid": str(task.uuid), "code": task.code, "title": task.title}
    assert events.data["project"] == {"slug": board.slug, "name": board.name}
    assert events.data["company"] == {"slug": board.company.slug, "name": board.company.name}
    assert events.data["user"]["username"] == "bob"


def test_comment_names_its_hashtags_mentions_votes_and_thread(fired, task, alice, bob):
    first = services.add_comment(
        task, alice, '<p style="color:#fff">Ready for #QA and #frontend &#35;1</p>'
    )
    services.vote_comment(first, bob)
    services.vote_comment(first, bob)  # once per user
    services.add_comment(task, alice, "<p>Answer</p>", reply_to=first)
    with fired() as events:
        reply = services.add_comment(task, bob, "<p>@alice, @nobody: see #QA</p>", reply_to=first)
    data = events.data
    assert_documented(data, "comments.issues.store")
    assert data["keywords"] == ["qa"]
    assert [u["username"] for u in data["users"]] == ["alice"]
    assert (data["is_mine"], data["can_delete"], data["replies"]) == (True, True, [])
    assert reply.parent_id == first.pk

    with fired() as events:
        services.delete_comment(first, by=bob)
    thread = events.data
    assert_documented(thread, "comments.issues.destroy")
    assert thread["keywords"] == ["qa", "frontend"]
    assert thread["votes"] == 1
    assert (thread["is_mine"], thread["can_delete"]) == (False, False)
    assert [r["comment"] for r in thread["replies"]] == ["<p>Answer</p>", reply.text]
    assert [u["username"] for u in thread["replies"][1]["users"]] == ["alice"]


def test_a_reply_to_a_reply_joins_the_thread(task, alice, bob):
    first = services.add_comment(task, alice, "One")
    second = services.add_comment(task, bob, "Two", reply_to=first)
    third = services.add_comment(task, alice, "Three", reply_to=second)
    assert third.parent_id == first.pk


def test_project_managers_can_delete_anyones_comment(fired, task, board, alice, bob):
    Membership.objects.create(project=board, user=bob, role=Membership.Role.SCRUM_MASTER)
    comment = services.add_comment(task, alice, "Off topic")
    with fired() as events:
        services.delete_comment(comment, by=bob)
    assert (events.data["is_mine"], events.data["can_delete"]) == (False, True)


def test_attachment_sends_gitscrums_names_and_its_gallery_flag(fired, task, alice):
    with fired() as events:
        services.add_attachment(
            task,
            alice,
            name="mockup.png",
            url="https://f.example.com/mockup.png",
            size=48213,
            mime_type="image/png",
            description="Desktop layout",
            show_in_carousel=True,
        )
    data = events.data
    assert_documented(data, "attachments.issues.store")
    assert (data["filename"], data["mimetype"], data["size"]) == ("mockup.png", "image/png", 48213)
    assert (data["description"], data["show_in_carousel"], data["is_mine"]) == (
        "Desktop layout",
        True,
        True,
    )


@pytest.mark.parametrize(
    ("url", "provider", "video_id", "thumbnail"),
    [
        (
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42",
            "youtube",
            "dQw4w9WgXcQ",
            "https://img.youtube.com/vi/dQw4w9WgXcQ/maxresdefault.jpg",
        ),
        (
            "https://youtu.be/dQw4w9WgXcQ",
            "youtube",
            "dQw4w9WgXcQ",
            "https://img.youtube.com/vi/dQw4w9WgXcQ/maxresdefault.jpg",
        ),
        ("https://vimeo.com/76979871", "vimeo", "76979871", None),
        (
            "https://www.loom.com/share/0f1e2d3c",
            "loom",
            "0f1e2d3c",
            "https://cdn.loom.com/sessions/thumbnails/0f1e2d3c-with-play.gif",
        ),
        ("https://videos.example.com/demo.mp4", "other", None, None),
    ],
)
def test_video_names_its_provider_id_and_thumbnail(
    fired, task, bob, url, provider, video_id, thumbnail
):
    with fired() as events:
        services.add_video(task, bob, url=url, title="Demo")
    data = events.data
    assert_documented(data, "videos.issues.store")
    assert (data["provider"], data["video_id"], data["thumbnail"]) == (
        provider,
        video_id,
        thumbnail,
    )


def test_removing_someone_elses_video_is_not_mine(fired, task, alice, bob):
    video = services.add_video(task, alice, url="https://vimeo.com/1", title="Demo")
    with fired() as events:
        services.remove_video(video, by=bob)
    assert events.data["is_mine"] is False


def test_discussion_vote_counts_every_vote_so_far(fired, board, alice, bob):
    discussion = services.start_discussion(board, "IE11?", creator=alice)
    services.vote_discussion(discussion, alice)
    with fired() as events:
        services.vote_discussion(discussion, bob)
    data = events.data
    assert (data["total"], data["discussion"]["votes_count"], data["voted"]) == (2, 2, True)


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


def test_dump_check_reports_payloads_that_differ_from_the_docs(tmp_path):
    good = documented("video")
    bad = {key: value for key, value in good.items() if key != "thumbnail"}
    for event, data in (("videos.issues.store", good), ("videos.issues.destroy", bad)):
        body = {"event": event, "timestamp": "2026-02-06T14:30:00Z", "data": data}
        (tmp_path / f"{event}.json").write_text(json.dumps({"headers": {}, "body": body}))
    assert check_dump(tmp_path) == [
        "videos.issues.destroy: <root>: missing keys ['thumbnail']",
        "videos.issues.destroy: schema: $.data: 'thumbnail' is a required property",
        f"2 events in {tmp_path}, not 26",
    ]


def test_for_resource_loads_the_counters_the_stats_show(busy_task):
    task = Task.objects.for_resource().get(pk=busy_task.pk)
    assert task.stat_comments == 2 and task.stat_tracked == dt.timedelta(hours=2, minutes=30)
