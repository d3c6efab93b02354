"""The product's rules, independent of webhooks."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from example_project.agile import services
from example_project.agile.models import Company, Project, TimeEntry
from example_project.tests.factories import make_company, make_project, make_user

pytestmark = pytest.mark.django_db


def test_new_workspace_and_project_come_with_catalogs_and_a_board(company, board):
    assert [t.title for t in company.task_types.all()] == ["Feature", "Bug", "Chore"]
    assert [p.title for p in company.priorities.all()] == ["Low", "Medium", "High", "Urgent"]
    assert [(e.title, e.points) for e in company.efforts.all()] == [
        ("Small", 1),
        ("Medium", 3),
        ("Large", 8),
    ]
    assert [(c.title, c.position, c.is_done) for c in board.columns.all()] == [
        ("To Do", 0, False),
        ("In Progress", 1, False),
        ("Done", 2, True),
    ]
    assert board.plan == Project.Plan.PRO


def test_project_created_without_a_workspace_joins_the_default_one(db):
    project = Project.objects.create(name="Loose", slug="loose")
    assert project.company.slug == Company.DEFAULT_SLUG


def test_new_task_gets_a_code_a_slug_and_the_board_defaults(board, alice):
    task = services.create_task(board, "Implement Login Page!", creator=alice)
    assert task.code == f"T-{task.pk}"
    assert task.slug == "implement-login-page"
    assert task.column.title == "To Do"
    assert (task.type.title, task.priority.title, task.effort.title) == ("Feature", "Low", "Small")
    services.update_task(task, title="Something else")
    assert task.slug == "implement-login-page"  # links keep working


def test_task_details_come_from_its_own_workspace_and_project(board, alice, sprint):
    elsewhere = make_company("Globex")
    foreign = make_project(elsewhere)
    with pytest.raises(services.DomainError, match="another workspace"):
        services.create_task(board, "x", creator=alice, type=elsewhere.task_types.first())
    with pytest.raises(services.DomainError, match="another project"):
        services.create_task(foreign, "x", creator=alice, sprint=sprint)
    with pytest.raises(services.DomainError, match="Not editable"):
        services.update_task(services.create_task(board, "x", creator=alice), column=None)


def test_tasks_move_to_columns_of_their_own_board_only(task, other_board):
    with pytest.raises(services.DomainError):
        services.move_task_to_column(task, other_board.columns.first())


def test_moved_task_lands_on_the_same_stage_and_leaves_its_sprint_and_story(
    task, other_board, columns, sprint, story
):
    services.update_task(task, sprint=sprint, user_story=story)
    services.move_task_to_column(task, columns["Done"])
    services.move_task_to_project(task, other_board)
    task.refresh_from_db()
    assert task.project == other_board
    assert task.column == other_board.columns.get(title="Done")
    assert task.sprint is None and task.user_story is None


def test_tasks_move_between_projects_of_one_workspace_only(task):
    foreign = make_project(make_company("Globex"))
    with pytest.raises(services.DomainError, match="same workspace"):
        services.move_task_to_project(task, foreign)


def test_one_timer_runs_per_user(task, board, alice, bob):
    other = services.create_task(board, "Other", creator=alice)
    services.start_timer(task, alice)
    with pytest.raises(services.TimerAlreadyRunning):
        services.start_timer(other, alice)
    services.start_timer(other, bob)  # colleagues time in parallel
    with pytest.raises(IntegrityError), transaction.atomic():
        TimeEntry.objects.create(task=other, user=alice, started_at=timezone.now())


def test_stopping_a_timer_records_its_duration(task, alice):
    entry = services.start_timer(task, alice)
    TimeEntry.objects.filter(pk=entry.pk).update(started_at=timezone.now() - dt.timedelta(hours=1))
    entry = services.stop_timer(task, alice, comment="Done for today")
    assert dt.timedelta(minutes=59) < entry.duration < dt.timedelta(minutes=61)
    assert entry.comment == "Done for today"
    with pytest.raises(services.NoRunningTimer):
        services.stop_timer(task, alice)


def test_a_running_timer_is_cancelled_not_deleted(task, alice):
    entry = services.start_timer(task, alice)
    with pytest.raises(services.DomainError, match="cancelled"):
        services.delete_time_entry(entry)
    services.cancel_timer(task, alice)
    assert not TimeEntry.objects.exists()


def test_manual_time_entry_lasts_more_than_nothing(task, alice):
    with pytest.raises(services.DomainError):
        services.add_time_entry(task, alice, started_at=timezone.now(), duration=dt.timedelta(0))


def test_sprint_timebox_code_slug_and_lifecycle(board, alice):
    today = timezone.localdate()
    with pytest.raises(services.DomainError):
        services.create_sprint(
            board, "Backwards", creator=alice, date_start=today, date_finish=today - dt.timedelta(1)
        )
    sprint = services.create_sprint(
        board, "Q1 Week 3", creator=alice, date_start=today, date_finish=today + dt.timedelta(14)
    )
    assert (sprint.code, sprint.slug, sprint.duration) == (f"S-{sprint.pk}", "sprint-q1-week-3", 14)
    with pytest.raises(services.DomainError):
        services.archive_sprint(sprint)
    services.close_sprint(sprint)
    assert sprint.closed_at is not None
    with pytest.raises(services.DomainError):
        services.close_sprint(sprint)
    services.archive_sprint(sprint)
    sprint.refresh_from_db()
    assert sprint.status == "archived"


def test_votes_count_once_per_user(story, alice, bob):
    assert services.vote_user_story(story, alice) is True
    assert services.vote_user_story(story, alice) is False
    assert services.vote_user_story(story, bob) is True
    assert story.voters.count() == 2


@pytest.mark.parametrize(
    ("url", "provider"),
    [
        ("https://www.youtube.com/watch?v=x", "youtube"),
        ("https://youtu.be/x", "youtube"),
        ("https://vimeo.com/1", "vimeo"),
        ("https://www.loom.com/share/x", "loom"),
        ("https://videos.example.com/x.mp4", "other"),
    ],
)
def test_video_provider_comes_from_the_url(url, provider):
    assert services.video_provider(url) == provider


@pytest.mark.parametrize(
    ("url", "video_id"),
    [
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&list=x", "dQw4w9WgXcQ"),
        ("https://www.youtube.com/embed/dQw4w9WgXcQ", "dQw4w9WgXcQ"),
        ("https://youtube.com/shorts/abc123", "abc123"),
        ("https://www.youtube.com/watch", ""),
        ("https://www.youtube.com/@channel", ""),
        ("https://player.vimeo.com/video/76979871", ""),  # a host we do not read
        ("https://vimeo.com/channels/staffpicks/76979871", "76979871"),
        ("https://vimeo.com/about", ""),
        ("https://www.loom.com/embed/0f1e2d3c", "0f1e2d3c"),
        ("https://videos.example.com/x.mp4", ""),
    ],
)
def test_video_id_comes_from_the_url_when_its_shape_is_known(url, video_id):
    assert services.video_id(url) == video_id


def test_comment_votes_count_once_per_user(task, alice, bob):
    comment = services.add_comment(task, alice, "Ship it")
    assert services.vote_comment(comment, bob) is True
    assert services.vote_comment(comment, bob) is False
    assert comment.voters.count() == 1


def test_a_reply_belongs_to_the_task_of_its_comment(task, board, alice):
    other = services.create_task(board, "Other", creator=alice)
    comment = services.add_comment(task, alice, "One")
    with pytest.raises(services.DomainError):
        services.add_comment(other, alice, "Two", reply_to=comment)


def test_stories_and_epics_belong_to_their_project(board, other_board, alice):
    epic = services.create_epic(other_board, "Elsewhere", creator=alice)
    with pytest.raises(services.DomainError):
        services.create_user_story(board, "Story", creator=alice, epic=epic)
    story = services.create_user_story(board, "Reset my password!", creator=alice)
    assert (story.slug, story.code) == ("reset-my-password", f"US-{story.pk}")
    services.update_user_story(story, title="Reset it")
    story.refresh_from_db()
    assert story.slug == "reset-my-password"  # fixed at creation


def test_every_user_gets_a_profile(db):
    user = make_user("carol")
    assert user.profile.timezone_name == "UTC" and user.profile.language == "en"
    assert user.profile.avatar_url.startswith("https://")
    assert "carol" not in user.profile.avatar_url
