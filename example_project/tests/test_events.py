"""Every action sends exactly its event, once, and nothing else."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from example_project.agile import services
from example_project.agile.models import Task, TimeEntry
from webhooks_app.models import Delivery, Event, Subscription, Webhook

pytestmark = pytest.mark.django_db


# -- tasks ---------------------------------------------------------------------------


def test_creating_a_task_sends_only_issues_store_with_its_labels_and_assignees(
    fired, board, company, alice, bob
):
    label = services.create_label(company, "Frontend", "#8B5CF6")
    with fired() as events:
        task = services.create_task(
            board, "Implement login page", creator=alice, labels=[label], assignees=[alice, bob]
        )
    assert events == ["issues.store"]
    assert events.data["uuid"] == str(task.uuid)
    assert [u["username"] for u in events.data["users"]] == ["alice", "bob"]
    assert [(x["title"], x["color"]) for x in events.data["labels"]] == [("Frontend", "#8B5CF6")]
    assert "changes" not in events.envelope


def test_creating_a_task_with_the_orm_still_sends_issues_store(fired, board):
    with fired() as events:
        Task.objects.create(project=board, title="Created in a shell")
    assert events == ["issues.store"]
    assert events.data["labels"] == [] and events.data["users"] == []


def test_editing_a_task_title_sends_only_issues_update_with_changes(fired, task):
    with fired() as events:
        services.update_task(task, title="Implement login page with SSO")
    assert events == ["issues.update"]
    assert events.envelope["changes"] == {
        "title": {"from": "Implement login page", "to": "Implement login page with SSO"}
    }
    assert events.data["title"] == "Implement login page with SSO"


def test_editing_title_and_labels_together_sends_one_issues_update(fired, task, company):
    old, new = (services.create_label(company, t, "#000000") for t in ("Old", "New"))
    services.update_task(task, labels=[old])
    with fired() as events:
        services.update_task(task, title="Retitled", labels=[new])
    assert events == ["issues.update"]
    assert events.envelope["changes"] == {
        "title": {"from": "Implement login page", "to": "Retitled"},
        "labels": {"added": [new.pk], "removed": [old.pk]},
    }


def test_assigning_a_task_to_a_sprint_reports_the_sprint_id(fired, task, sprint):
    with fired() as events:
        services.update_task(task, sprint=sprint)
    assert events == ["issues.update"]
    assert events.envelope["changes"] == {"sprint": {"from": None, "to": sprint.pk}}
    assert events.data["config_sprint"]["title"] == "Q1 Week 3"


def test_moving_task_to_another_column_sends_only_move_board(fired, task, columns):
    with fired() as events:
        services.move_task_to_column(task, columns["In Progress"])
    assert events == ["issues.move.board"]
    assert events.envelope["changes"] == {
        "column": {"from": columns["To Do"].pk, "to": columns["In Progress"].pk}
    }
    workflow = events.data["workflow"]
    assert (workflow["title"], workflow["color"], workflow["position"]) == (
        "In Progress",
        "#3B82F6",
        1,
    )


def test_adding_an_assignee_sends_only_assignees_store(fired, task, bob):
    with fired() as events:
        assert services.assign_task(task, bob) is True
    assert events == ["issues.assignees.store"]
    assert events.envelope["changes"] == {"assignees": {"added": [bob.pk]}}
    assert [u["username"] for u in events.data["users"]] == ["alice", "bob"]


def test_removing_an_assignee_sends_only_assignees_destroy(fired, task, alice):
    with fired() as events:
        assert services.unassign_task(task, alice) is True
    assert events == ["issues.assignees.destroy"]
    assert events.envelope["changes"] == {"assignees": {"removed": [alice.pk]}}
    assert events.data["users"] == []


def test_deleting_a_task_sends_only_issues_destroy_not_its_childrens_events(fired, task, alice):
    services.add_comment(task, alice, "First!")
    services.add_attachment(
        task,
        alice,
        name="a.png",
        url="https://files.example.com/a.png",
        size=1,
        mime_type="image/png",
    )
    services.add_video(task, alice, url="https://youtu.be/x", title="Demo")
    services.add_time_entry(task, alice, started_at=timezone.now(), duration=dt.timedelta(hours=1))
    uuid = str(task.uuid)
    with fired() as events:
        services.delete_task(task)
    assert events == ["issues.destroy"]
    assert events.data["uuid"] == uuid
    assert not Task.objects.filter(uuid=uuid).exists()


def test_moving_task_to_another_project_sends_only_move_project(
    fired, task, board, other_board, columns
):
    services.move_task_to_column(task, columns["In Progress"])
    with fired() as events:
        services.move_task_to_project(task, other_board)
    assert events == ["issues.move.project"]
    landed = other_board.columns.get(title="In Progress")
    assert events.envelope["changes"] == {
        "project": {"from": board.pk, "to": other_board.pk},
        "column": {"from": columns["In Progress"].pk, "to": landed.pk},
    }


def test_task_moved_to_another_project_notifies_the_webhooks_of_both(task, board, other_board):
    hooks = {}
    for project in (board, other_board):
        hooks[project.pk] = Webhook.objects.create(project=project, url="http://127.0.0.1:9/h")
        Subscription.objects.create(webhook=hooks[project.pk], event_type="issues.move.project")

    services.move_task_to_project(task, other_board)

    event = Event.objects.get(event_type="issues.move.project")
    assert set(Delivery.objects.filter(event=event).values_list("webhook", flat=True)) == {
        hooks[board.pk].pk,
        hooks[other_board.pk].pk,
    }


# -- time tracking -------------------------------------------------------------------


def test_starting_a_timer_sends_only_time_tracking_start(fired, task, alice):
    with fired() as events:
        entry = services.start_timer(task, alice, comment="API integration")
    assert events == ["time-tracking.issues.start"]
    assert events.data["uuid"] == str(entry.uuid)
    assert events.data["stopped_at"] is None


def test_stopping_a_timer_sends_only_time_tracking_stop(fired, task, alice):
    services.start_timer(task, alice)
    with fired() as events:
        entry = services.stop_timer(task, alice)
    assert events == ["time-tracking.issues.stop"]
    assert events.data["stopped_at"] is not None
    assert entry.duration is not None


def test_cancelling_a_timer_sends_only_time_tracking_cancel(fired, task, alice):
    entry = services.start_timer(task, alice)
    with fired() as events:
        services.cancel_timer(task, alice)
    assert events == ["time-tracking.issues.cancel"]  # not time-tracking.issues.destroy
    assert events.data["uuid"] == str(entry.uuid)
    assert not TimeEntry.objects.exists()


def test_logging_time_by_hand_sends_only_time_tracking_store(fired, task, alice):
    with fired() as events:
        services.add_time_entry(
            task,
            alice,
            started_at=timezone.now() - dt.timedelta(hours=3),
            duration=dt.timedelta(hours=2, minutes=30),
            comment="Pairing",
            billable=False,
        )
    assert events == ["time-tracking.issues.store"]
    assert events.data["duration"] == "02:30:00"
    assert events.data["billable"] is False


def test_deleting_a_time_entry_sends_only_time_tracking_destroy(fired, task, alice):
    entry = services.add_time_entry(
        task, alice, started_at=timezone.now(), duration=dt.timedelta(minutes=45)
    )
    with fired() as events:
        services.delete_time_entry(entry)
    assert events == ["time-tracking.issues.destroy"]
    assert events.data["uuid"] == str(entry.uuid)
    assert events.data["duration"] == "00:45:00"


# -- comments and media --------------------------------------------------------------


def test_commenting_sends_only_comments_store(fired, task, bob):
    with fired() as events:
        services.add_comment(task, bob, "Looks good")
    assert events == ["comments.issues.store"]
    assert events.data["comment"] == "Looks good"


def test_deleting_a_comment_sends_only_comments_destroy(fired, task, bob):
    comment = services.add_comment(task, bob, "Looks good")
    with fired() as events:
        services.delete_comment(comment)
    assert events == ["comments.issues.destroy"]
    assert events.data["uuid"] == str(comment.uuid)


def test_attaching_a_file_sends_only_attachments_store(fired, task, alice):
    with fired() as events:
        services.add_attachment(
            task,
            alice,
            name="spec.pdf",
            url="https://f.example.com/spec.pdf",
            size=9,
            mime_type="application/pdf",
        )
    assert events == ["attachments.issues.store"]
    assert events.data["name"] == "spec.pdf"


def test_removing_a_file_sends_only_attachments_destroy(fired, task, alice):
    attachment = services.add_attachment(
        task,
        alice,
        name="spec.pdf",
        url="https://f.example.com/spec.pdf",
        size=9,
        mime_type="application/pdf",
    )
    with fired() as events:
        services.remove_attachment(attachment)
    assert events == ["attachments.issues.destroy"]
    assert events.data["uuid"] == str(attachment.uuid)


def test_adding_a_video_sends_only_videos_store(fired, task, alice):
    with fired() as events:
        services.add_video(task, alice, url="https://www.youtube.com/watch?v=x", title="Demo")
    assert events == ["videos.issues.store"]
    assert events.data["provider"] == "youtube"


def test_removing_a_video_sends_only_videos_destroy(fired, task, alice):
    video = services.add_video(task, alice, url="https://vimeo.com/1", title="Demo")
    with fired() as events:
        services.remove_video(video)
    assert events == ["videos.issues.destroy"]
    assert events.data["uuid"] == str(video.uuid)


# -- user stories --------------------------------------------------------------------


def test_writing_a_user_story_sends_only_user_stories_store(fired, board, alice):
    with fired() as events:
        services.create_user_story(board, "Reset my password", creator=alice)
    assert events == ["user-stories.store"]
    assert events.data["votes_count"] == 0


def test_editing_a_user_story_sends_only_user_stories_update(fired, story, company):
    high = company.priorities.get(title="High")
    with fired() as events:
        services.update_user_story(story, priority=high, acceptance_criteria="Given a user...")
    assert events == ["user-stories.update"]
    assert events.envelope["changes"] == {
        "priority": {"from": company.priorities.get(title="Low").pk, "to": high.pk},
        "acceptance_criteria": {"from": "", "to": "Given a user..."},
    }
    assert events.data["priority"] == "High"


def test_voting_for_a_user_story_sends_only_user_stories_vote(fired, story, bob):
    with fired() as events:
        assert services.vote_user_story(story, bob) is True
    assert events == ["user-stories.vote"]
    assert events.data["votes_count"] == 1
    assert events.data["is_voted"] is True


def test_deleting_a_user_story_sends_only_user_stories_destroy(fired, story, task, bob):
    services.update_task(task, user_story=story)
    services.vote_user_story(story, bob)
    with fired() as events:
        services.delete_user_story(story)
    assert events == ["user-stories.destroy"]  # its task is not updated, only unlinked
    assert events.data["votes_count"] == 1
    task.refresh_from_db()
    assert task.user_story is None


# -- sprints -------------------------------------------------------------------------


def test_creating_a_sprint_sends_only_sprints_store(fired, board, alice):
    today = timezone.localdate()
    with fired() as events:
        services.create_sprint(
            board,
            "Q1 Week 3",
            creator=alice,
            date_start=today,
            date_finish=today + dt.timedelta(14),
        )
    assert events == ["sprints.store"]
    assert events.data["duration"] == 14


def test_editing_a_sprint_sends_only_sprints_update(fired, sprint):
    with fired() as events:
        services.update_sprint(sprint, title="Q1 Week 3: auth", close_on_finish=True)
    assert events == ["sprints.update"]
    assert events.envelope["changes"] == {
        "title": {"from": "Q1 Week 3", "to": "Q1 Week 3: auth"},
        "close_on_finish": {"from": False, "to": True},
    }


def test_closing_a_sprint_sends_one_sprints_update(fired, sprint):
    with fired() as events:
        services.close_sprint(sprint)
    assert events == ["sprints.update"]
    assert set(events.envelope["changes"]) == {"status", "closed_at"}
    assert events.data["status"]["slug"] == "closed"
    assert events.data["closed_at"]["iso8601"]


def test_deleting_a_sprint_sends_only_sprints_destroy(fired, sprint, task):
    services.update_task(task, sprint=sprint)
    with fired() as events:
        services.delete_sprint(sprint)
    assert events == ["sprints.destroy"]
    assert events.data["stats"]["total_tasks"] == 1
    task.refresh_from_db()
    assert task.sprint is None


# -- discussions ---------------------------------------------------------------------


def test_voting_in_a_discussion_sends_only_discussions_vote(fired, board, alice, bob):
    discussion = services.start_discussion(board, "Drop IE11?", creator=alice)
    with fired() as events:
        assert services.vote_discussion(discussion, bob) is True
    assert events == ["discussions.vote"]
    assert events.data["discussion"]["votes_count"] == 1
    assert events.data["user"]["username"] == "bob"


# -- actions that change nothing, or fail ---------------------------------------------


def test_actions_that_change_nothing_send_nothing(fired, task, columns, alice, story, board, bob):
    discussion = services.start_discussion(board, "Drop IE11?", creator=alice)
    services.vote_user_story(story, bob)
    services.vote_discussion(discussion, bob)
    with fired() as events:
        services.update_task(task, title=task.title)
        services.move_task_to_column(task, columns["To Do"])
        services.move_task_to_project(task, board)
        assert services.assign_task(task, alice) is False
        assert services.unassign_task(task, bob) is False
        assert services.vote_user_story(story, bob) is False
        assert services.vote_discussion(discussion, bob) is False
        services.update_user_story(story, title=story.title)
    assert events == []


def test_refused_actions_send_nothing(fired, task, alice, bob, other_board):
    services.start_timer(task, alice)
    with fired() as events:
        with pytest.raises(services.TimerAlreadyRunning):
            services.start_timer(task, alice)
        with pytest.raises(services.DomainError):
            services.move_task_to_column(task, other_board.columns.first())
        with pytest.raises(services.DomainError):
            services.delete_time_entry(TimeEntry.objects.get())
        with pytest.raises(services.NoRunningTimer):
            services.stop_timer(task, bob)
    assert events == []
