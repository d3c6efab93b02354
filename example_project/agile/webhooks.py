"""Which changes of this app's models emit which webhook events (autodiscovered).

One user action sends exactly one event. Most events follow from one row changing and
are declared here, so they fire whatever code makes the change (a service, the admin, a
shell). Actions that touch several rows at once (creating a task with its labels and
assignees, moving it to another project, deleting it with its comments, starting or
cancelling a timer) run their ORM work inside :func:`webhooks_app.registry.muted` and
emit their one event explicitly; see :mod:`example_project.agile.services`.
"""

from __future__ import annotations

import copy
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from example_project.agile import rendering, serializers, task_rows
from example_project.agile.examples import example_of
from example_project.agile.models import (
    TASK_RESOURCE_RELATIONS,
    Attachment,
    Comment,
    DiscussionVote,
    Label,
    Sprint,
    Task,
    TimeEntry,
    UserStory,
    UserStoryVote,
    Video,
)
from webhooks_app.registry import ModelEvents, register
from webhooks_app.serializer_schemas import serializer_schema

_JUST_INSERTED = "_agile_just_inserted"
_ACTOR = "_agile_actor"


def performed_by(instance: Any, user: Any) -> None:
    """Name who acts on ``instance`` in the action under way (None: its owner). Its
    resource's ``is_mine`` and ``can_delete`` are then from that user's point of view."""
    instance.__dict__[_ACTOR] = user


class DocumentedEvents(ModelEvents):
    """Publishes PAYLOADS.md's example of its resource as its events' example."""

    def data_example(self, event_type: str) -> Any:
        return example_of(event_type)


class ResourceEvents(DocumentedEvents):
    """Renders ``serializer_class`` from a fresh ``for_resource()`` load: what was saved
    (or, before a deletion, the object as it still is) in a fixed number of queries,
    whatever the caller's instance has cached."""

    def serialize(self, instance: Any) -> dict:
        resource = self.model._default_manager.for_resource().get(pk=instance.pk)
        return self.serializer_class(resource, context=self.context(instance)).data

    def context(self, instance: Any) -> dict[str, Any]:
        return {"actor": instance.__dict__.get(_ACTOR)}


class TaskChildEvents(ResourceEvents):
    project_field = None

    def get_project(self, instance) -> Any:
        return instance.task.project_id


@register(Task)
class TaskEvents(DocumentedEvents):
    serializer_class = serializers.BoardTaskSerializer  # rendered by serialize() below
    created = "issues.store"
    updated = "issues.update"
    deleted = "issues.destroy"
    field_events = {"column": "issues.move.board", "project": "issues.move.project"}
    # Completion follows from a move (its event says so in the resource, not in changes).
    ignore_fields = ("completed_at", "completed_by")
    m2m_events = {
        "assignees": ("issues.assignees.store", "issues.assignees.destroy"),
        "labels": ("issues.update", "issues.update"),
    }

    def on_save(self, instance, created, update_fields) -> None:
        if not created:
            super().on_save(instance, created, update_fields)
            return
        instance.__dict__[_JUST_INSERTED] = True
        try:
            super().on_save(instance, created, update_fields)
        finally:
            instance.__dict__.pop(_JUST_INSERTED, None)

    def serialize(self, instance: Task) -> dict:
        if instance.__dict__.get(_JUST_INSERTED):
            task = _as_just_inserted(instance)
        else:
            task = _as_stored(instance)
        # BoardTaskSerializer's output, without DRF's per-field machinery (which cost
        # more than the save): see agile.rendering and tests/test_rendering.py.
        return rendering.board_task(task)


def _as_just_inserted(task: Task) -> Task:
    """A row inserted a moment ago has no labels, assignees, comments or time yet: render
    it from the caller's instance, so a plain create given the related objects costs no
    extra query, and one given their ids (or objects loaded without what the resource
    shows of them: a project without its company, a user without a profile) costs one,
    looking up by their keys only the rows it lacked."""
    view = copy.copy(task)  # its own relation cache: the caller's instance is untouched
    task_rows.attach_rows(view, task_rows.lacking(task))
    view._prefetched_objects_cache = {
        "labels": task_rows.evaluated(Label, []),
        "assignees": task_rows.evaluated(get_user_model(), []),
    }
    counters = ("checklists", "checklists_done", "comments", "attachments", "videos")
    for name in (*counters, "subtasks", "time_trackers"):
        setattr(view, f"stat_{name}", 0)
    view.stat_tracked = None
    return view


def _as_stored(instance: Task) -> Task:
    """The task as stored, with its counters, labels and assignees, and the related rows
    ``instance`` does not hold, by the stored row's keys (see agile.task_rows); those it
    holds are reused while the stored row still points at them."""
    missing = task_rows.lacking(instance)
    task = task_rows.load_stored(instance.pk, missing)
    if task is None:
        raise Task.DoesNotExist(f"Task {instance.pk} is gone.")
    for path in TASK_RESOURCE_RELATIONS:
        if path in missing:
            continue
        field = Task._meta.get_field(path.split("__")[0])
        value = getattr(instance, field.attname)
        if value is not None and getattr(task, field.attname) == value:
            field.set_cached_value(task, field.get_cached_value(instance))
        # else: no row to show, or the instance was stale (loaded on access, if any).
    return task


@register(Sprint)
class SprintEvents(ResourceEvents):
    serializer_class = serializers.SprintSerializer
    created = "sprints.store"
    updated = "sprints.update"
    deleted = "sprints.destroy"


@register(UserStory)
class UserStoryEvents(ResourceEvents):
    serializer_class = serializers.UserStorySerializer
    created = "user-stories.store"
    updated = "user-stories.update"
    deleted = "user-stories.destroy"


@register(UserStoryVote)
class UserStoryVoteEvents(DocumentedEvents):
    """A vote is a row: inserting it is the vote, and the event shows the voted story as
    the voter sees it (``is_voted`` true, the new ``votes_count``)."""

    project_field = None
    created = "user-stories.vote"

    def get_project(self, instance: UserStoryVote) -> Any:
        return instance.story.project_id

    def serialize(self, instance: UserStoryVote) -> dict:
        """The story as the voter sees it, with the keys of GitScrum's vote event: the
        story (``uuid`` and ``slug``), the votes it now has, and that this user voted."""
        story = UserStory.objects.for_resource(viewer=instance.user_id).get(pk=instance.story_id)
        data = serializers.UserStorySerializer(story).data
        data["user-story"] = {"uuid": data["uuid"], "slug": data["slug"]}
        data["total"] = data["votes"]
        data["voted"] = data["is_voted"]
        return data

    def data_schema(self, event_type: str) -> dict:
        schema = serializer_schema(serializers.UserStorySerializer)
        story = schema["properties"]
        schema["properties"] = {
            **story,
            "user-story": {
                "type": "object",
                "properties": {"uuid": story["uuid"], "slug": story["slug"]},
                "required": ["uuid", "slug"],
            },
            "total": story["votes"],
            "voted": story["is_voted"],
        }
        schema["required"] = [*schema["required"], "user-story", "total", "voted"]
        return schema


_TRACKING_EVENT = "_agile_tracking_event"


@register(TimeEntry)
class TimeEntryEvents(TaskChildEvents):
    # Creating an entry is either starting a timer or a manual entry, and saving one is
    # stopping it: the services say which, so only deletion is declared.
    serializer_class = serializers.TimeTrackingSerializer
    deleted = "time-tracking.issues.destroy"
    emits = (
        "time-tracking.issues.start",
        "time-tracking.issues.stop",
        "time-tracking.issues.cancel",
        "time-tracking.issues.store",
    )

    def emit(self, instance: TimeEntry, event_type: str, **kwargs: Any) -> Any:
        # The resource names what happened to the entry (its status), which only the
        # event says: a cancelled timer looks like a running one until it is deleted.
        instance.__dict__[_TRACKING_EVENT] = event_type
        return super().emit(instance, event_type, **kwargs)

    def context(self, instance: Any) -> dict[str, Any]:
        return {"event": instance.__dict__.get(_TRACKING_EVENT), "at": timezone.now()}


@register(Comment)
class CommentEvents(TaskChildEvents):
    serializer_class = serializers.CommentSerializer
    created = "comments.issues.store"
    deleted = "comments.issues.destroy"


@register(Attachment)
class AttachmentEvents(TaskChildEvents):
    serializer_class = serializers.AttachmentSerializer
    created = "attachments.issues.store"
    deleted = "attachments.issues.destroy"


@register(Video)
class VideoEvents(TaskChildEvents):
    serializer_class = serializers.VideoSerializer
    created = "videos.issues.store"
    deleted = "videos.issues.destroy"


@register(DiscussionVote)
class DiscussionVoteEvents(ResourceEvents):
    serializer_class = serializers.DiscussionVoteSerializer
    project_field = None
    created = "discussions.vote"

    def get_project(self, instance: DiscussionVote) -> Any:
        return instance.discussion.project_id
