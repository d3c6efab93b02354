"""The demo's story: one real product action for each of the 26 events.

:func:`set_the_stage` builds a workspace (before any webhook exists, so it sends
nothing); :func:`act` then performs the actions in :data:`ACTIONS` order, each through
:mod:`example_project.agile.services`, and each sends exactly its event.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from example_project.agile import services
from example_project.agile.models import (
    Attachment,
    BoardColumn,
    Comment,
    Discussion,
    Epic,
    Label,
    Project,
    Sprint,
    Task,
    TimeEntry,
    UserStory,
    Video,
)

# event -> the action the demo performs to send it, in the order it performs them.
ACTIONS: dict[str, str] = {
    "sprints.store": "create a sprint",
    "sprints.update": "rename the sprint",
    "user-stories.store": "write a user story",
    "user-stories.update": "add acceptance criteria to the story",
    "user-stories.vote": "vote for the story",
    "issues.store": "create a task with labels and an assignee",
    "issues.update": "retitle the task",
    "issues.move.board": "move the task to In Progress",
    "issues.assignees.store": "add a second assignee",
    "issues.assignees.destroy": "remove the second assignee",
    "time-tracking.issues.start": "start a timer on the task",
    "time-tracking.issues.stop": "stop the timer",
    "time-tracking.issues.cancel": "cancel a colleague's running timer",
    "time-tracking.issues.store": "log 2 h 30 by hand",
    "time-tracking.issues.destroy": "delete the manual entry",
    "comments.issues.store": "comment on the task",
    "comments.issues.destroy": "delete the comment",
    "attachments.issues.store": "attach a file",
    "attachments.issues.destroy": "remove the file",
    "videos.issues.store": "add a Loom video",
    "videos.issues.destroy": "remove the video",
    "discussions.vote": "vote in a discussion",
    "issues.move.project": "move another task to the Mobile project",
    "issues.destroy": "delete a task",
    "user-stories.destroy": "delete a user story",
    "sprints.destroy": "delete a sprint",
}


@dataclass
class Stage:
    project: Project
    other_project: Project
    alice: AbstractBaseUser
    bob: AbstractBaseUser
    in_progress: BoardColumn
    labels: list[Label]
    task_to_move: Task
    task_to_delete: Task
    old_story: UserStory
    old_sprint: Sprint
    discussion: Discussion
    epic: Epic


def _user(username: str, first: str, last: str, **profile: str) -> AbstractBaseUser:
    user = get_user_model().objects.create_user(
        username, email=f"{username}@example.com", first_name=first, last_name=last
    )
    for name, value in profile.items():
        setattr(user.profile, name, value)
    user.profile.save()
    return user


def set_the_stage(
    project: Project, other_project: Project | None = None, *, tag: str = ""
) -> Stage:
    """Users, labels, a second project, and the objects later actions delete or move.

    ``project`` must be a project made by :func:`services.create_project` (it has a board).
    """
    company = project.company
    alice = _user(
        f"alice{tag}",
        "Alice",
        "Martin",
        headline="Lead Developer",
        location="Porto, Portugal",
        timezone_name="Europe/Lisbon",
    )
    bob = _user(f"bob{tag}", "Bob", "Silva", headline="Designer", location="Lyon, France")
    labels = [
        services.create_label(company, f"Frontend{tag}", "#8B5CF6"),
        services.create_label(company, f"Security{tag}", "#EF4444"),
    ]
    if other_project is None:
        other_project = services.create_project(company, f"Mobile{tag}", slug=f"mobile{tag}")
    today = timezone.localdate()
    task_to_move = services.create_task(project, "Ship the iOS login screen", creator=alice)
    task_to_delete = services.create_task(project, "Duplicate of login page", creator=bob)
    # A colleague's running timer, for the cancel action.
    services.start_timer(task_to_delete, bob)
    return Stage(
        project=project,
        other_project=other_project,
        alice=alice,
        bob=bob,
        in_progress=project.columns.get(title="In Progress"),
        labels=labels,
        task_to_move=task_to_move,
        task_to_delete=task_to_delete,
        old_story=services.create_user_story(project, "Legacy export", creator=alice),
        old_sprint=services.create_sprint(
            project,
            "Q4 Week 9",
            creator=alice,
            date_start=today - dt.timedelta(days=70),
            date_finish=today - dt.timedelta(days=56),
        ),
        discussion=services.start_discussion(
            project, "Drop support for IE11?", creator=bob, body="<p>Usage is under 0.1%.</p>"
        ),
        epic=services.create_epic(project, "Authentication", creator=alice),
    )


def act(stage: Stage) -> dict[str, str]:
    """Perform one action per event, in :data:`ACTIONS` order; returns :data:`ACTIONS`."""
    s = stage
    today = timezone.localdate()
    sprint = services.create_sprint(
        s.project,
        "Q1 Week 3",
        creator=s.alice,
        date_start=today,
        date_finish=today + dt.timedelta(days=14),
        description="<p>Focus on authentication and payment integration.</p>",
    )
    services.update_sprint(sprint, title="Q1 Week 3: authentication")
    story = services.create_user_story(
        s.project,
        "As a user, I want to reset my password",
        creator=s.alice,
        description="Password reset via email link",
        priority=s.project.company.priorities.get(title="High"),
        epic=s.epic,
    )
    services.update_user_story(story, acceptance_criteria="Given a registered user...")
    services.vote_user_story(story, s.bob)

    task = services.create_task(
        s.project,
        "Implement login page",
        creator=s.alice,
        description="Email and password, with a 'remember me' option.",
        labels=s.labels,
        assignees=[s.alice],
        sprint=sprint,
        user_story=story,
        start_date=today,
        due_date=today + dt.timedelta(days=7),
        estimated_minutes=240,
    )
    services.update_task(task, title="Implement login page with SSO")
    services.move_task_to_column(task, s.in_progress)
    services.assign_task(task, s.bob)
    services.unassign_task(task, s.bob)

    services.start_timer(task, s.alice, comment="Worked on API integration")
    services.stop_timer(task, s.alice)
    services.cancel_timer(s.task_to_delete, s.bob)
    entry: TimeEntry = services.add_time_entry(
        task,
        s.alice,
        started_at=timezone.now() - dt.timedelta(hours=3),
        duration=dt.timedelta(hours=2, minutes=30),
        comment="Pairing on the OAuth callback",
    )
    services.delete_time_entry(entry)

    comment: Comment = services.add_comment(
        task, s.bob, f"<p>Can we reuse the #mobile form, @{s.alice.get_username()}?</p>"
    )
    services.delete_comment(comment)
    attachment: Attachment = services.add_attachment(
        task,
        s.alice,
        name="login-mockup.png",
        url="https://files.example.com/login-mockup.png",
        size=48213,
        mime_type="image/png",
        description="Desktop and mobile layouts",
        show_in_carousel=True,
    )
    services.remove_attachment(attachment)
    video: Video = services.add_video(
        task, s.alice, url="https://www.loom.com/share/0f1e2d3c", title="Login walkthrough"
    )
    services.remove_video(video)
    services.vote_discussion(s.discussion, s.alice)

    services.move_task_to_project(s.task_to_move, s.other_project)
    services.delete_task(s.task_to_delete)
    services.delete_user_story(s.old_story)
    services.delete_sprint(s.old_sprint)
    return ACTIONS
