"""The BoardTask resource rendered in plain Python, for the task events' save path.

:class:`~example_project.agile.serializers.BoardTaskSerializer` stays the contract: the
event schemas, PAYLOADS.md and the API read it. Its output costs DRF's per-field
machinery (``get_attribute``, ``to_representation`` and ``None`` checks for ~80 fields
and nested serializers), which on every save cost more CPU than the INSERT and the
event's recording together. :func:`board_task` builds the same dict, key for key and in
the same order, from the same loaded task (``Task.objects.for_resource()``'s attributes);
``example_project/tests/test_rendering.py`` compares the two over varied tasks.
"""

from __future__ import annotations

from typing import Any

from django.utils.text import slugify

from example_project.agile.dates import date_object, hms
from example_project.agile.serializers import display_name, profile_of


def board_task(task: Any) -> dict[str, Any]:
    """What ``BoardTaskSerializer(task).data`` is, for a task loaded as it expects."""
    column, project, tracked = task.column, task.project, task.stat_tracked
    completed_at, start_date, due_date = task.completed_at, task.start_date, task.due_date
    checklists = task.stat_checklists
    return {
        "id": task.pk,
        "uuid": str(task.uuid),
        "code": task.code,
        "slug": task.slug,
        "title": task.title,
        "description": task.description,
        "state": int(bool(column and column.is_done)),
        "type": _title_color(task.type),
        "workflow": _workflow(column),
        "priority": _title_color(task.priority),
        "effort": _effort(task.effort),
        "labels": [_label(label) for label in task.labels.all()],
        "user": _user(task.creator),
        "users": [_user(user) for user in task.assignees.all()],
        "config_sprint": _planning_reference(task.sprint),
        "config_user_story": _planning_reference(task.user_story),
        "parent_id": task.parent_id,
        "parent": _task_reference(task.parent),
        "start_date": date_object(start_date) if start_date is not None else None,
        "due_date": due_date.isoformat() if due_date else None,
        "completed_date": date_object(completed_at) if completed_at is not None else None,
        "completed_user": _user(task.completed_by),
        "estimated_minutes": task.estimated_minutes,
        "total_tracked_minutes": int(tracked.total_seconds() // 60) if tracked else 0,
        "stats": {
            "checklists": checklists,
            "checklist_percentage": (
                round(100 * task.stat_checklists_done / checklists) if checklists else None
            ),
            "comments": task.stat_comments,
            "attachments": task.stat_attachments,
            "videos": task.stat_videos,
            "subtasks": task.stat_subtasks,
            "time_trackers": task.stat_time_trackers,
            "time_trackings": hms(tracked),
        },
        "company": _slug_name(project.company),
        "project": _slug_name(project),
        "created_at": date_object(task.created_at),
        "updated_at": date_object(task.updated_at),
    }


def _user(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    profile = profile_of(user)
    return {
        "id": user.pk,
        "uuid": str(profile.uuid),
        "name": display_name(user),
        "username": user.get_username(),
        "avatar": profile.avatar_url,
        "headline": profile.headline,
        "location": profile.location,
        "timezone_name": profile.timezone_name,
        "language": profile.language,
        "created_at": date_object(user.date_joined),
    }


def _title_color(entry: Any) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {"title": entry.title, "color": entry.color}


def _workflow(column: Any) -> dict[str, Any] | None:
    if column is None:
        return None
    return {
        "title": column.title,
        "color": column.color,
        "id": column.pk,
        "slug": _slug(column.title),
        "state": int(column.is_done),
        "position": column.position,
    }


def _effort(effort: Any) -> dict[str, Any] | None:
    if effort is None:
        return None
    return {"title": effort.title, "color": effort.color, "effort": effort.points}


def _label(label: Any) -> dict[str, Any]:
    return {"title": label.title, "color": label.color, "id": label.pk, "slug": _slug(label.title)}


def _planning_reference(work: Any) -> dict[str, Any] | None:
    if work is None:
        return None
    return {"uuid": str(work.uuid), "code": work.code, "slug": work.slug, "title": work.title}


def _task_reference(task: Any) -> dict[str, Any] | None:
    if task is None:
        return None
    return {"uuid": str(task.uuid), "code": task.code, "title": task.title}


def _slug_name(obj: Any) -> dict[str, Any]:
    return {"slug": obj.slug, "name": obj.name}


def _slug(title: str) -> str:
    return slugify(title)
