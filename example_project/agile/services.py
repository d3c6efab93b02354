"""What users do in the product. Each function is one action, runs in one transaction,
and sends exactly one webhook event (or none when it changes nothing).

Where the event follows from a single row changing, the model's registration in
``agile/webhooks.py`` sends it. Where an action changes several rows, the function does
its ORM work inside :func:`~webhooks_app.registry.muted` and emits the action's
event itself, once the resource is complete.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from example_project.agile.models import (
    Attachment,
    BoardColumn,
    ChecklistItem,
    Comment,
    CommentVote,
    Company,
    Discussion,
    DiscussionVote,
    Effort,
    Epic,
    Label,
    Priority,
    Project,
    Sprint,
    Task,
    TaskType,
    TimeEntry,
    UserStory,
    UserStoryVote,
    Video,
)
from example_project.agile.webhooks import performed_by
from webhooks_app.registry import changes_between, emit_for_instance, muted, tracked_values

# Any user of the project's auth user model.
User = AbstractBaseUser


class DomainError(ValueError):
    """An action the product refuses (the caller shows the message to the user)."""


class TimerAlreadyRunning(DomainError):
    pass


class NoRunningTimer(DomainError):
    pass


# -- workspaces and projects ---------------------------------------------------------

DEFAULT_COLUMNS = (
    ("To Do", "#6B7280", False),
    ("In Progress", "#3B82F6", False),
    ("Done", "#22C55E", True),
)
DEFAULT_TYPES = (("Feature", "#22C55E"), ("Bug", "#EF4444"), ("Chore", "#6B7280"))
DEFAULT_PRIORITIES = (
    ("Low", "#6B7280"),
    ("Medium", "#F59E0B"),
    ("High", "#EF4444"),
    ("Urgent", "#B91C1C"),
)
DEFAULT_EFFORTS = (("Small", "#22C55E", 1), ("Medium", "#F59E0B", 3), ("Large", "#EF4444", 8))


@transaction.atomic
def create_company(name: str, *, slug: str | None = None) -> Company:
    """A workspace with the default task types, priorities and efforts."""
    company = Company.objects.create(name=name, slug=slug or slugify(name))
    TaskType.objects.bulk_create(
        TaskType(company=company, title=t, color=c, position=i)
        for i, (t, c) in enumerate(DEFAULT_TYPES)
    )
    Priority.objects.bulk_create(
        Priority(company=company, title=t, color=c, position=i)
        for i, (t, c) in enumerate(DEFAULT_PRIORITIES)
    )
    Effort.objects.bulk_create(
        Effort(company=company, title=t, color=c, points=p, position=i)
        for i, (t, c, p) in enumerate(DEFAULT_EFFORTS)
    )
    return company


@transaction.atomic
def create_project(
    company: Company, name: str, *, slug: str | None = None, plan: str = Project.Plan.PRO
) -> Project:
    """A project with a To Do / In Progress / Done board."""
    project = Project.objects.create(
        company=company, name=name, slug=slug or slugify(name), plan=plan
    )
    BoardColumn.objects.bulk_create(
        BoardColumn(project=project, title=t, color=c, position=i, is_done=done)
        for i, (t, c, done) in enumerate(DEFAULT_COLUMNS)
    )
    return project


def create_label(company: Company, title: str, color: str) -> Label:
    return Label.objects.create(company=company, title=title, color=color)


# -- tasks ---------------------------------------------------------------------------

TASK_EDITABLE = (
    "title",
    "description",
    "type",
    "priority",
    "effort",
    "start_date",
    "due_date",
    "estimated_minutes",
    "sprint",
    "user_story",
    "parent",
)


def _check_belongs(project: Project, *objects: Any) -> None:
    """Catalog entries come from the project's workspace; columns, sprints and stories
    from the project itself."""
    for obj in objects:
        if obj is None:
            continue
        what = f"The {obj._meta.verbose_name} {obj}"
        if isinstance(obj, (TaskType, Priority, Effort, Label)):
            if obj.company_id != project.company_id:
                raise DomainError(f"{what} belongs to another workspace.")
        elif obj.project_id != project.pk:
            raise DomainError(f"{what} belongs to another project.")


@transaction.atomic
def create_task(
    project: Project,
    title: str,
    *,
    creator: User,
    description: str = "",
    type: TaskType | None = None,
    column: BoardColumn | None = None,
    priority: Priority | None = None,
    effort: Effort | None = None,
    labels: Iterable[Label] = (),
    assignees: Iterable[User] = (),
    sprint: Sprint | None = None,
    user_story: UserStory | None = None,
    parent: Task | None = None,
    start_date: dt.date | None = None,
    due_date: dt.date | None = None,
    estimated_minutes: int = 0,
) -> Task:
    """Create a task (on the board's first column, with the workspace's first type,
    priority and effort unless given), or a subtask of ``parent``. Sends ``issues.store``
    once, with its labels and assignees already in the payload."""
    labels, assignees = list(labels), list(assignees)
    company = project.company
    type = type or company.task_types.first()
    priority = priority or company.priorities.first()
    effort = effort or company.efforts.first()
    column = column or project.columns.first()
    _check_belongs(project, type, priority, effort, column, sprint, user_story, parent, *labels)
    _check_parent(None, parent)
    task = Task(
        project=project,
        title=title,
        description=description,
        type=type,
        column=column,
        priority=priority,
        effort=effort,
        sprint=sprint,
        user_story=user_story,
        parent=parent,
        start_date=start_date,
        due_date=due_date,
        estimated_minutes=estimated_minutes,
        creator=creator,
    )
    _complete_on(task, column, creator)
    with muted():
        task.save()
        task.labels.set(labels)
        task.assignees.set(assignees)
    emit_for_instance(task, "issues.store")
    return task


@transaction.atomic
def update_task(task: Task, *, labels: Iterable[Label] | None = None, **fields: Any) -> Task:
    """Edit a task's details (any of ``TASK_EDITABLE``) and/or replace its labels.

    Sends one ``issues.update`` whose ``changes`` list every changed field and, for
    labels, ``{"labels": {"added": [...], "removed": [...]}}``; nothing if nothing changed.
    Moving between columns or projects has its own actions.
    """
    unknown = set(fields) - set(TASK_EDITABLE)
    if unknown:
        raise DomainError(f"Not editable here: {', '.join(sorted(unknown))}.")
    related = ("type", "priority", "effort", "sprint", "user_story", "parent")
    _check_belongs(task.project, *(fields[name] for name in related if name in fields))
    if "parent" in fields:
        _check_parent(task, fields["parent"])
    before = tracked_values(task)
    for name, value in fields.items():
        setattr(task, name, value)
    changes = changes_between(Task, before, tracked_values(task))
    label_changes: dict[str, list[int]] = {}
    with muted():
        if labels is not None:
            labels = list(labels)
            _check_belongs(task.project, *labels)
            current = set(task.labels.values_list("pk", flat=True))
            wanted = {label.pk for label in labels}
            if wanted - current:
                label_changes["added"] = sorted(wanted - current)
            if current - wanted:
                label_changes["removed"] = sorted(current - wanted)
            task.labels.set(labels)
        if changes:
            task.save()
        elif label_changes:
            task.save(update_fields=["updated_at"])
    if label_changes:
        changes["labels"] = label_changes
    if changes:
        emit_for_instance(task, "issues.update", changes=changes)
    return task


def _check_parent(task: Task | None, parent: Task | None) -> None:
    """Subtasks are one level deep: a parent is a top-level task, and a task with
    subtasks is not one."""
    if parent is None:
        return
    if parent.parent_id is not None:
        raise DomainError(f"{parent.code} is a subtask; a subtask's parent is a top-level task.")
    if task is not None and (parent.pk == task.pk or task.subtasks.exists()):
        raise DomainError(f"{task.code} cannot become a subtask of {parent.code}.")


def _complete_on(task: Task, column: BoardColumn | None, by: User | None) -> None:
    """Reaching a column of done tasks completes a task (when, and by whom); leaving
    one reopens it."""
    if column is not None and column.is_done:
        if task.completed_at is None:
            task.completed_at, task.completed_by = timezone.now(), by
    else:
        task.completed_at, task.completed_by = None, None


@transaction.atomic
def move_task_to_column(task: Task, column: BoardColumn, *, by: User | None = None) -> Task:
    """Move a task to another stage of its board: ``issues.move.board``. ``by``: who
    moves it (named as the one who completed it, when the column is a done one)."""
    if column.project_id != task.project_id:
        raise DomainError("A task moves to a column of its own board; use move_task_to_project.")
    if column.pk != task.column_id:
        task.column = column
        _complete_on(task, column, by)
        task.save(update_fields=["column", "completed_at", "completed_by", "updated_at"])
    return task


@transaction.atomic
def move_task_to_project(
    task: Task, project: Project, *, column: BoardColumn | None = None
) -> Task:
    """Move a task to another project of the same workspace: ``issues.move.project``,
    sent to the webhooks of both projects.

    The task lands on ``column``, else on the column of the same title, else on the first
    one; its sprint, user story and parent belong to the old project and are cleared.
    """
    if project.pk == task.project_id:
        return task
    old = task.project
    if project.company_id != old.company_id:
        raise DomainError("Tasks move between projects of the same workspace only.")
    if column is None:
        columns = list(project.columns.all())
        same = [c for c in columns if task.column and c.title == task.column.title]
        column = (same or columns or [None])[0]
    elif column.project_id != project.pk:
        raise DomainError(f"The column {column} belongs to another project.")
    before = tracked_values(task)
    task.project, task.column, task.sprint, task.user_story = project, column, None, None
    # A parent task stays in its project: the moved task leaves its parent, and its own
    # subtasks stay behind as tasks of their own.
    task.parent = None
    _complete_on(task, column, task.completed_by)
    with muted():
        task.save()
        task.subtasks.update(parent=None)
    emit_for_instance(
        task,
        "issues.move.project",
        changes=changes_between(Task, before, tracked_values(task)),
        project=[old.pk, project.pk],
    )
    return task


@transaction.atomic
def assign_task(task: Task, user: User) -> bool:
    """Add an assignee: ``issues.assignees.store``. False if already assigned."""
    if task.assignees.filter(pk=user.pk).exists():
        return False
    task.assignees.add(user)
    return True


@transaction.atomic
def unassign_task(task: Task, user: User) -> bool:
    """Remove an assignee: ``issues.assignees.destroy``. False if not assigned."""
    if not task.assignees.filter(pk=user.pk).exists():
        return False
    task.assignees.remove(user)
    return True


@transaction.atomic
def delete_task(task: Task) -> None:
    """Delete a task with its comments, files, videos, checklist and time: only
    ``issues.destroy`` is sent, describing the task as it was."""
    emit_for_instance(task, "issues.destroy")
    with muted():
        task.delete()


def add_checklist_item(task: Task, title: str) -> ChecklistItem:
    position = task.checklist_items.count()
    return ChecklistItem.objects.create(task=task, title=title, position=position)


# -- time tracking -------------------------------------------------------------------


def _running_entry(task: Task, user: User) -> TimeEntry:
    entry = (
        TimeEntry.objects.select_for_update()
        .filter(task=task, user=user, stopped_at__isnull=True)
        .first()
    )
    if entry is None:
        raise NoRunningTimer(f"{user} has no timer running on {task.code}.")
    return entry


@transaction.atomic
def start_timer(task: Task, user: User, *, comment: str = "", billable: bool = True) -> TimeEntry:
    """Start a timer on a task: ``time-tracking.issues.start``. One runs per user.

    Whoever times a task works on it: a user not assigned to the task is assigned, within
    the same action (the one event says so with ``auto_assigned``)."""
    if TimeEntry.objects.filter(user=user, stopped_at__isnull=True).exists():
        raise TimerAlreadyRunning(f"{user} already has a timer running.")
    auto_assigned = not task.assignees.filter(pk=user.pk).exists()
    try:
        with transaction.atomic(), muted():
            entry = TimeEntry.objects.create(
                task=task,
                user=user,
                started_at=timezone.now(),
                comment=comment,
                billable=billable,
                auto_assigned=auto_assigned,
            )
            if auto_assigned:
                task.assignees.add(user)
    except IntegrityError:
        # Another request started one between the check and the insert.
        raise TimerAlreadyRunning(f"{user} already has a timer running.") from None
    emit_for_instance(entry, "time-tracking.issues.start")
    return entry


@transaction.atomic
def stop_timer(task: Task, user: User, *, comment: str | None = None) -> TimeEntry:
    """Stop the user's timer on a task: ``time-tracking.issues.stop``."""
    entry = _running_entry(task, user)
    entry.stopped_at = max(timezone.now(), entry.started_at)
    entry.duration = entry.stopped_at - entry.started_at
    if comment is not None:
        entry.comment = comment
    entry.save()
    emit_for_instance(entry, "time-tracking.issues.stop")
    return entry


@transaction.atomic
def cancel_timer(task: Task, user: User) -> None:
    """Discard the user's running timer: ``time-tracking.issues.cancel`` (not a
    deletion event), describing the timer as it was."""
    entry = _running_entry(task, user)
    emit_for_instance(entry, "time-tracking.issues.cancel")
    with muted():
        entry.delete()


@transaction.atomic
def add_time_entry(
    task: Task,
    user: User,
    *,
    started_at: dt.datetime,
    duration: dt.timedelta,
    comment: str = "",
    billable: bool = True,
) -> TimeEntry:
    """Log time by hand: ``time-tracking.issues.store``."""
    if duration <= dt.timedelta(0):
        raise DomainError("A time entry lasts more than nothing.")
    entry = TimeEntry.objects.create(
        task=task,
        user=user,
        started_at=started_at,
        stopped_at=started_at + duration,
        duration=duration,
        comment=comment,
        billable=billable,
        is_manual=True,
    )
    emit_for_instance(entry, "time-tracking.issues.store")
    return entry


@transaction.atomic
def delete_time_entry(entry: TimeEntry) -> None:
    """Delete a finished entry: ``time-tracking.issues.destroy``."""
    if entry.is_running:
        raise DomainError("A running timer is cancelled, not deleted.")
    entry.delete()


# -- comments and media --------------------------------------------------------------


@transaction.atomic
def add_comment(task: Task, user: User, text: str, *, reply_to: Comment | None = None) -> Comment:
    """``comments.issues.store``. A reply joins its comment's thread (threads are one level
    deep, so replying to a reply answers the thread's first comment)."""
    parent = None
    if reply_to is not None:
        if reply_to.task_id != task.pk:
            raise DomainError("A reply belongs to the task of the comment it answers.")
        parent = reply_to.parent or reply_to
    return Comment.objects.create(task=task, user=user, text=text, parent=parent)


@transaction.atomic
def vote_comment(comment: Comment, user: User) -> bool:
    """Upvote a comment; False if the user had voted already. GitScrum has no event for
    it: the count shows in the comment's resource (``votes``)."""
    _, created = CommentVote.objects.get_or_create(comment=comment, user=user)
    return created


@transaction.atomic
def delete_comment(comment: Comment, *, by: User | None = None) -> None:
    """``comments.issues.destroy`` (its replies go with it and send nothing). ``by``:
    who deletes it, when not its author."""
    performed_by(comment, by)
    emit_for_instance(comment, "comments.issues.destroy")
    with muted():
        comment.delete()


@transaction.atomic
def add_attachment(
    task: Task,
    user: User,
    *,
    name: str,
    url: str,
    size: int,
    mime_type: str,
    description: str = "",
    show_in_carousel: bool = False,
) -> Attachment:
    """Record a file the storage received: ``attachments.issues.store``."""
    return Attachment.objects.create(
        task=task,
        user=user,
        name=name,
        url=url,
        size=size,
        mime_type=mime_type,
        description=description,
        show_in_carousel=show_in_carousel,
    )


@transaction.atomic
def remove_attachment(attachment: Attachment, *, by: User | None = None) -> None:
    """``attachments.issues.destroy``. ``by``: who removes it, when not its uploader."""
    performed_by(attachment, by)
    attachment.delete()


VIDEO_HOSTS = {
    "youtube.com": Video.Provider.YOUTUBE,
    "youtu.be": Video.Provider.YOUTUBE,
    "vimeo.com": Video.Provider.VIMEO,
    "loom.com": Video.Provider.LOOM,
}


def video_provider(url: str) -> str:
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    return VIDEO_HOSTS.get(host, Video.Provider.OTHER)


def video_id(url: str) -> str:
    """The provider's id of the video: ``youtube.com/watch?v=<id>``, ``youtu.be/<id>``,
    ``youtube.com/embed|shorts/<id>``, ``vimeo.com/<id>``, ``loom.com/share|embed/<id>``;
    empty for a URL of another shape."""
    parts = urlsplit(url)
    path = [segment for segment in parts.path.split("/") if segment]
    provider = video_provider(url)
    if provider == Video.Provider.YOUTUBE:
        if parts.hostname == "youtu.be" and path:
            return path[0]
        if path[:1] == ["watch"]:
            return parse_qs(parts.query).get("v", [""])[0]
        if len(path) >= 2 and path[0] in ("embed", "shorts", "live"):
            return path[1]
    if provider == Video.Provider.VIMEO and path and path[-1].isdigit():
        return path[-1]
    if provider == Video.Provider.LOOM and len(path) >= 2 and path[0] in ("share", "embed"):
        return path[1]
    return ""


# Stills the providers serve at a URL made from the video's id.
THUMBNAILS = {
    Video.Provider.YOUTUBE: "https://img.youtube.com/vi/{}/maxresdefault.jpg",
    Video.Provider.LOOM: "https://cdn.loom.com/sessions/thumbnails/{}-with-play.gif",
}


@transaction.atomic
def add_video(task: Task, user: User, *, url: str, title: str, thumbnail: str = "") -> Video:
    """``videos.issues.store``. The provider, its video id and (for YouTube and Loom) the
    thumbnail come from the URL; ``thumbnail`` names another still."""
    provider, code = video_provider(url), video_id(url)
    if not thumbnail and code and provider in THUMBNAILS:
        thumbnail = THUMBNAILS[provider].format(code)
    return Video.objects.create(
        task=task,
        user=user,
        url=url,
        title=title,
        provider=provider,
        video_id=code,
        thumbnail=thumbnail,
    )


@transaction.atomic
def remove_video(video: Video, *, by: User | None = None) -> None:
    """``videos.issues.destroy``. ``by``: who removes it, when not who added it."""
    performed_by(video, by)
    video.delete()


# -- user stories --------------------------------------------------------------------

STORY_EDITABLE = ("title", "description", "priority", "acceptance_criteria", "epic")


def create_epic(project: Project, title: str, *, creator: User, color: str = "#8B5CF6") -> Epic:
    """An epic to group user stories (GitScrum sends no event for epics)."""
    return Epic.objects.create(project=project, title=title, color=color, creator=creator)


@transaction.atomic
def create_user_story(
    project: Project,
    title: str,
    *,
    creator: User,
    description: str = "",
    priority: Priority | None = None,
    acceptance_criteria: str = "",
    epic: Epic | None = None,
) -> UserStory:
    """``user-stories.store``; the priority defaults to the workspace's first."""
    priority = priority or project.company.priorities.first()
    _check_belongs(project, priority, epic)
    return UserStory.objects.create(
        project=project,
        title=title,
        description=description,
        priority=priority,
        acceptance_criteria=acceptance_criteria,
        epic=epic,
        creator=creator,
    )


@transaction.atomic
def update_user_story(story: UserStory, **fields: Any) -> UserStory:
    """``user-stories.update`` with ``changes``; nothing if nothing changed."""
    unknown = set(fields) - set(STORY_EDITABLE)
    if unknown:
        raise DomainError(f"Not editable: {', '.join(sorted(unknown))}.")
    _check_belongs(story.project, fields.get("priority"), fields.get("epic"))
    for name, value in fields.items():
        setattr(story, name, value)
    story.save()
    return story


@transaction.atomic
def vote_user_story(story: UserStory, user: User) -> bool:
    """``user-stories.vote``; False (and no event) if the user had voted already."""
    _, created = UserStoryVote.objects.get_or_create(story=story, user=user)
    return created


@transaction.atomic
def delete_user_story(story: UserStory) -> None:
    """``user-stories.destroy``; its tasks stay, without a user story."""
    story.delete()


# -- sprints -------------------------------------------------------------------------

SPRINT_EDITABLE = ("title", "description", "color", "date_start", "date_finish", "close_on_finish")


def _check_timebox(start: dt.date, finish: dt.date) -> None:
    if finish < start:
        raise DomainError("A sprint finishes on or after the day it starts.")


@transaction.atomic
def create_sprint(
    project: Project,
    title: str,
    *,
    creator: User,
    date_start: dt.date,
    date_finish: dt.date,
    description: str = "",
    color: str = "#3B82F6",
    close_on_finish: bool = False,
) -> Sprint:
    """``sprints.store``."""
    _check_timebox(date_start, date_finish)
    return Sprint.objects.create(
        project=project,
        title=title,
        creator=creator,
        date_start=date_start,
        date_finish=date_finish,
        description=description,
        color=color,
        close_on_finish=close_on_finish,
    )


@transaction.atomic
def update_sprint(sprint: Sprint, **fields: Any) -> Sprint:
    """``sprints.update`` with ``changes``; nothing if nothing changed."""
    unknown = set(fields) - set(SPRINT_EDITABLE)
    if unknown:
        raise DomainError(f"Not editable: {', '.join(sorted(unknown))}.")
    for name, value in fields.items():
        setattr(sprint, name, value)
    _check_timebox(sprint.date_start, sprint.date_finish)
    sprint.save()
    return sprint


@transaction.atomic
def close_sprint(sprint: Sprint) -> Sprint:
    """Close an open sprint: one ``sprints.update`` (status and closed_at change)."""
    if sprint.status != Sprint.Status.OPEN:
        raise DomainError(f"Only an open sprint can be closed; this one is {sprint.status}.")
    sprint.status = Sprint.Status.CLOSED
    sprint.closed_at = timezone.now()
    sprint.save()
    return sprint


@transaction.atomic
def archive_sprint(sprint: Sprint) -> Sprint:
    """Archive a closed sprint: ``sprints.update``."""
    if sprint.status != Sprint.Status.CLOSED:
        raise DomainError("Close a sprint before archiving it.")
    sprint.status = Sprint.Status.ARCHIVED
    sprint.save()
    return sprint


@transaction.atomic
def delete_sprint(sprint: Sprint) -> None:
    """``sprints.destroy``; its tasks stay, without a sprint."""
    sprint.delete()


# -- discussions ---------------------------------------------------------------------


def start_discussion(project: Project, title: str, *, creator: User, body: str = "") -> Discussion:
    return Discussion.objects.create(project=project, title=title, body=body, creator=creator)


@transaction.atomic
def vote_discussion(discussion: Discussion, user: User) -> bool:
    """``discussions.vote``; False (and no event) if the user had voted already."""
    _, created = DiscussionVote.objects.get_or_create(discussion=discussion, user=user)
    return created
