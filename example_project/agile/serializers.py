"""The webhook resources, as DRF serializers.

Every resource has the shape GitScrum's full resources have (the SprintResource of the
``sprints.store`` page is the model): the integer ``id`` beside the ``uuid``, a ``code``
and ``slug`` where the object has them, ``company`` and ``project`` as ``{slug, name}``,
full user objects, date objects, a ``stats`` block where the object has children.
Where the payload format page documents a shorter form of a resource, its keys are all
there too, with the types that page gives them (a user story's ``priority`` is a string,
a time entry's ``uuid`` is a UUID string). example_project/PAYLOADS.md shows each resource.

Serializers read what the models' ``for_resource()`` querysets load (related rows and
``stat_*`` annotations) and never query per label, assignee, reply or counter.

Context: ``actor`` is who performs the action (``is_mine`` and ``can_delete`` are from
their point of view; the object's owner when absent); a time entry's ``status`` and
``time`` say what happened to it.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ObjectDoesNotExist
from django.utils.html import strip_tags
from django.utils.text import slugify
from rest_framework import serializers

from example_project.agile import downloads
from example_project.agile.dates import date_object, hms, utc_datetime, utc_iso
from example_project.agile.models import Profile, Sprint
from example_project.agile.permissions import is_manager
from webhooks_app.serializer_schemas import returns


class DateObjectField(serializers.Field):
    """``{date_for_humans, iso8601, timestamp, timezone}`` (null stays null)."""

    json_schema = {
        "type": "object",
        "properties": {
            "date_for_humans": {"type": "string"},
            "iso8601": {"type": "string"},
            "timestamp": {"type": "integer"},
            "timezone": {"type": "string"},
        },
        "required": ["date_for_humans", "iso8601", "timestamp", "timezone"],
    }

    def __init__(self, **kwargs: Any):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> dict[str, Any]:
        return date_object(value)


def profile_of(user: AbstractBaseUser) -> Profile:
    try:
        return user.profile
    except ObjectDoesNotExist:
        # Users get a profile when they are created; one made before the agile app was
        # installed gets it on first use, so its uuid is stable from then on.
        return Profile.objects.get_or_create(user=user)[0]


def display_name(user: AbstractBaseUser) -> str:
    return user.get_full_name() or user.get_username()


class UserSerializer(serializers.Serializer):
    """GitScrum's full user object, for every user a resource shows. Never the e-mail or
    anything auth keeps privately."""

    id = serializers.IntegerField(source="pk")
    uuid = serializers.SerializerMethodField()
    name = serializers.SerializerMethodField()
    username = serializers.CharField(source="get_username")
    avatar = serializers.SerializerMethodField()
    headline = serializers.SerializerMethodField()
    location = serializers.SerializerMethodField()
    timezone_name = serializers.SerializerMethodField()
    language = serializers.SerializerMethodField()
    created_at = DateObjectField(source="date_joined")

    def get_uuid(self, user) -> str:
        return str(profile_of(user).uuid)

    def get_name(self, user) -> str:
        return display_name(user)

    def get_avatar(self, user) -> str:
        return profile_of(user).avatar_url

    def get_headline(self, user) -> str:
        return profile_of(user).headline

    def get_location(self, user) -> str:
        return profile_of(user).location

    def get_timezone_name(self, user) -> str:
        return profile_of(user).timezone_name

    def get_language(self, user) -> str:
        return profile_of(user).language


class SlugNameSerializer(serializers.Serializer):
    """``{slug, name}``: how resources refer to a company or a project."""

    slug = serializers.SlugField()
    name = serializers.CharField()


class TitleColorSerializer(serializers.Serializer):
    title = serializers.CharField()
    color = serializers.CharField()


class SlugFromTitleField(serializers.Field):
    """A catalog entry's or column's slug: its title, slugified ("In Progress" ->
    "in-progress")."""

    def __init__(self, **kwargs: Any):
        kwargs.update(read_only=True, source="title")
        super().__init__(**kwargs)

    def to_representation(self, value: str) -> str:
        return slugify(value)


class WorkflowSerializer(TitleColorSerializer):
    """A board column: ``state`` is 1 for a column of closed (done) tasks, else 0."""

    id = serializers.IntegerField(source="pk")
    slug = SlugFromTitleField()
    state = serializers.SerializerMethodField()
    position = serializers.IntegerField()

    def get_state(self, column) -> int:
        return int(column.is_done)


class EffortSerializer(TitleColorSerializer):
    effort = serializers.IntegerField(source="points")


class LabelSerializer(TitleColorSerializer):
    id = serializers.IntegerField(source="pk")
    slug = SlugFromTitleField()


class PlanningReferenceSerializer(serializers.Serializer):
    """A sprint or user story a task belongs to (the payload format page shows the
    ``title``)."""

    uuid = serializers.UUIDField()
    code = serializers.CharField()
    slug = serializers.SlugField()
    title = serializers.CharField()


class TaskReferenceSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    code = serializers.CharField()
    title = serializers.CharField()


def _percentage(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def _hours(duration: timedelta | None) -> float:
    return round(duration.total_seconds() / 3600, 2) if duration else 0


class BoardTaskSerializer(serializers.Serializer):
    """GitScrum's BoardTask resource. Give it a task from ``Task.objects.for_resource()``.

    ``due_date`` stays the payload format page's ``YYYY-MM-DD`` string."""

    id = serializers.IntegerField(source="pk")
    uuid = serializers.UUIDField()
    code = serializers.CharField()
    slug = serializers.SlugField()
    title = serializers.CharField()
    description = serializers.CharField()
    state = serializers.SerializerMethodField()
    type = TitleColorSerializer(allow_null=True)
    workflow = WorkflowSerializer(source="column", allow_null=True)
    priority = TitleColorSerializer(allow_null=True)
    effort = EffortSerializer(allow_null=True)
    labels = LabelSerializer(many=True)
    user = UserSerializer(source="creator", allow_null=True)
    users = UserSerializer(many=True, source="assignees")
    config_sprint = PlanningReferenceSerializer(source="sprint", allow_null=True)
    config_user_story = PlanningReferenceSerializer(source="user_story", allow_null=True)
    parent_id = serializers.IntegerField(allow_null=True)
    parent = TaskReferenceSerializer(allow_null=True)
    start_date = DateObjectField(allow_null=True)
    due_date = serializers.DateField(allow_null=True)
    completed_date = DateObjectField(source="completed_at", allow_null=True)
    completed_user = UserSerializer(source="completed_by", allow_null=True)
    estimated_minutes = serializers.IntegerField()
    total_tracked_minutes = serializers.SerializerMethodField()
    stats = serializers.SerializerMethodField()
    company = SlugNameSerializer(source="project.company")
    project = SlugNameSerializer()
    created_at = DateObjectField()
    updated_at = DateObjectField()

    def get_state(self, task) -> int:
        """1 once the task is in a column of done tasks, else 0."""
        return int(bool(task.column and task.column.is_done))

    def get_total_tracked_minutes(self, task) -> int:
        return int(task.stat_tracked.total_seconds() // 60) if task.stat_tracked else 0

    def get_stats(self, task) -> dict[str, Any]:
        checklists = task.stat_checklists
        return {
            "checklists": checklists,
            "checklist_percentage": (
                _percentage(task.stat_checklists_done, checklists) if checklists else None
            ),
            "comments": task.stat_comments,
            "attachments": task.stat_attachments,
            "videos": task.stat_videos,
            "subtasks": task.stat_subtasks,
            "time_trackers": task.stat_time_trackers,
            "time_trackings": hms(task.stat_tracked),
        }


def progress(work) -> dict[str, Any]:
    """The counters of a sprint's or a story's tasks (annotated by ``for_resource()``)."""
    total, closed = work.stat_total_tasks, work.stat_closed_tasks
    return {
        "story_points": work.stat_story_points,
        "worked_hours": _hours(work.stat_worked),
        "total_tasks": total,
        "closed_tasks": closed,
        "percentage": _percentage(closed, total),
        "comments": work.stat_comments,
    }


SPRINT_STATUSES: dict[str, dict[str, Any]] = {
    Sprint.Status.OPEN: {"title": "Open", "color": "#3B82F6", "description": None},
    Sprint.Status.CLOSED: {"title": "Closed", "color": "#22C55E", "description": None},
    Sprint.Status.ARCHIVED: {"title": "Archived", "color": "#6B7280", "description": None},
}


class SprintSerializer(serializers.Serializer):
    """The full SprintResource (sprints.store page), plus the keys only the payload format
    page's shorter Sprint resource has (``uuid``, ``time_box`` and three counters), so
    receivers written against either page find what they expect.

    Give it a sprint from ``Sprint.objects.for_resource()``.
    """

    id = serializers.IntegerField(source="pk")
    uuid = serializers.UUIDField()
    code = serializers.CharField()
    slug = serializers.SlugField()
    title = serializers.CharField()
    color = serializers.CharField()
    timebox = serializers.SerializerMethodField()
    time_box = serializers.IntegerField(source="duration")
    duration = serializers.IntegerField()
    date_start = serializers.DateField()
    date_finish = serializers.DateField()
    description = serializers.SerializerMethodField()
    close_on_finish = serializers.BooleanField()
    company = SlugNameSerializer(source="project.company")
    project = SlugNameSerializer()
    stats = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    user = UserSerializer(source="creator")
    users = serializers.SerializerMethodField()
    closed_at = DateObjectField(allow_null=True)
    created_at = DateObjectField()

    def get_timebox(self, sprint) -> dict[str, Any]:
        return {"start": date_object(sprint.date_start), "finish": date_object(sprint.date_finish)}

    def get_description(self, sprint) -> str | None:
        return sprint.description or None

    def get_stats(self, sprint) -> dict[str, Any]:
        total, closed = sprint.stat_total_tasks, sprint.stat_closed_tasks
        return {
            **progress(sprint),
            "open_tasks": total - closed,
            "issues_count": total,
            "closed_issues_count": closed,
            "effort_total": sprint.stat_story_points,
        }

    def get_status(self, sprint) -> dict[str, Any]:
        return {"slug": sprint.status, **SPRINT_STATUSES[sprint.status]}

    @returns(UserSerializer(many=True))
    def get_users(self, sprint) -> list[dict[str, Any]]:
        return UserSerializer(sprint.members(), many=True).data


class EpicSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    title = serializers.CharField()
    color = serializers.CharField()
    stats = serializers.SerializerMethodField()
    user = UserSerializer(source="creator")
    created_at = DateObjectField()

    def get_stats(self, epic) -> dict[str, int]:
        return {"user_stories": self.context["user_stories"]}


class UserStorySerializer(serializers.Serializer):
    """GitScrum's User Story resource. Give it a story from
    ``UserStory.objects.for_resource(viewer)``: ``is_voted`` is the viewer's vote.

    ``priority`` is the payload format page's string (the priority's title), and
    ``votes_count`` and ``votes``, ``description`` and ``additional_information``, are the
    two pages' names for the same values."""

    id = serializers.IntegerField(source="pk")
    uuid = serializers.UUIDField()
    code = serializers.CharField()
    slug = serializers.SlugField()
    title = serializers.CharField()
    description = serializers.CharField()
    additional_information = serializers.CharField(source="description")
    acceptance_criteria = serializers.CharField()
    priority = serializers.SerializerMethodField()
    votes = serializers.IntegerField(source="votes_total")
    votes_count = serializers.IntegerField(source="votes_total")
    is_voted = serializers.BooleanField(source="voted_by_viewer")
    epic = serializers.SerializerMethodField()
    company = SlugNameSerializer(source="project.company")
    project = SlugNameSerializer()
    stats = serializers.SerializerMethodField()
    user = UserSerializer(source="creator")
    users = serializers.SerializerMethodField()
    created_at = DateObjectField()

    def get_priority(self, story) -> str | None:
        return story.priority.title if story.priority else None

    @returns(EpicSerializer(allow_null=True))
    def get_epic(self, story) -> dict[str, Any] | None:
        if story.epic is None:
            return None
        # The epic's story count is annotated on the story (UserStory.for_resource()).
        return EpicSerializer(story.epic, context={"user_stories": story.epic_stories}).data

    def get_stats(self, story) -> dict[str, Any]:
        return progress(story)

    @returns(UserSerializer(many=True))
    def get_users(self, story) -> list[dict[str, Any]]:
        return UserSerializer(story.members(), many=True).data


class ProjectScopedSerializer(serializers.Serializer):
    """``id``, ``uuid``, ``company`` and ``project`` of an object in a project."""

    # Sent after the object's own keys, as in the SprintResource.
    trailing = ("user", "users", "company", "project", "created_at", "updated_at")

    id = serializers.IntegerField(source="pk")
    uuid = serializers.UUIDField()
    company = SlugNameSerializer(source="project.company")
    project = SlugNameSerializer()

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for name in self.trailing:
            if name in fields:
                fields[name] = fields.pop(name)
        return fields


class TaskChildSerializer(ProjectScopedSerializer):
    """What time entries, comments, attachments and videos share: the task they belong to
    (as ``resource``, GitScrum's parent reference, and as ``task``), their author and date."""

    company = SlugNameSerializer(source="task.project.company")
    project = SlugNameSerializer(source="task.project")
    resource = serializers.SerializerMethodField()
    task = TaskReferenceSerializer()
    user = UserSerializer()
    created_at = DateObjectField()

    def get_resource(self, obj) -> dict[str, str]:
        return {"type": "task", "uuid": str(obj.task.uuid)}


class OwnedSerializer(TaskChildSerializer):
    """``is_mine``: whether the acting user (``context["actor"]``, the author when absent)
    is the object's author."""

    is_mine = serializers.SerializerMethodField()

    def get_is_mine(self, obj) -> bool:
        actor = self.context.get("actor")
        return actor is None or actor.pk == obj.user_id


# Time entry statuses as GitScrum's time-tracking events name them.
TRACKING_STATUSES = {
    "time-tracking.issues.start": "start",
    "time-tracking.issues.stop": "stop",
    "time-tracking.issues.cancel": "cancel",
    "time-tracking.issues.store": "create",
    "time-tracking.issues.destroy": "destroy",
}


class TimeTrackingSerializer(TaskChildSerializer):
    """GitScrum's Time Tracking resource: the payload format page's keys (``uuid`` a UUID
    string) and the timer events' ``status``, ``time`` and ``auto_assigned``.

    ``context["event"]`` is the event it is sent with. A running timer has no
    ``stopped_at`` yet and its ``duration`` is the time elapsed so far."""

    status = serializers.SerializerMethodField()
    time = serializers.SerializerMethodField()
    started_at = serializers.SerializerMethodField()
    stopped_at = serializers.SerializerMethodField()
    duration = serializers.SerializerMethodField()
    comment = serializers.CharField()
    billable = serializers.BooleanField()
    auto_assigned = serializers.BooleanField()

    def get_status(self, entry) -> str | None:
        return TRACKING_STATUSES.get(self.context.get("event", ""))

    def get_time(self, entry) -> str | None:
        """When the timer started, stopped or was cancelled (``Y-m-d H:i:s``, UTC); null
        for an entry logged by hand or deleted, as on GitScrum's pages."""
        status = self.get_status(entry)
        moment = {"start": entry.started_at, "stop": entry.stopped_at}.get(status)
        if status == "cancel":
            moment = self.context.get("at")
        return utc_datetime(moment) if moment else None

    def get_started_at(self, entry) -> str:
        return utc_iso(entry.started_at)

    def get_stopped_at(self, entry) -> str | None:
        return utc_iso(entry.stopped_at) if entry.stopped_at else None

    def get_duration(self, entry) -> str:
        return hms(entry.elapsed())


HASHTAG = re.compile(r"(?<![\w&/])#([^\W\d_][\w-]*)")
MENTION = re.compile(r"(?<![\w@.])@([\w.+-]*\w)")


def mentioned_usernames(text: str) -> list[str]:
    # In the text a reader sees: not in tag attributes (an href, a style's colour).
    return list(dict.fromkeys(MENTION.findall(strip_tags(text))))


def hashtags(text: str) -> list[str]:
    return list(dict.fromkeys(tag.lower() for tag in HASHTAG.findall(strip_tags(text))))


class CommentSerializer(OwnedSerializer):
    """A comment, with its replies (threads are one level deep). Give it a comment from
    ``Comment.objects.for_resource()``.

    ``keywords`` are its #hashtags; ``users`` the users it @mentions."""

    comment = serializers.CharField(source="text")
    keywords = serializers.SerializerMethodField()
    votes = serializers.IntegerField(source="votes_total")
    can_delete = serializers.SerializerMethodField()
    replies = serializers.SerializerMethodField()
    users = serializers.SerializerMethodField()
    updated_at = DateObjectField()

    def to_representation(self, comment) -> dict[str, Any]:
        if comment.parent_id is None or "mentioned" not in self.context:
            # One query for the users every comment of the thread mentions (its replies,
            # rendered next, read them from the context).
            thread = [comment, *comment.replies.all()] if comment.parent_id is None else [comment]
            names = {name for c in thread for name in mentioned_usernames(c.text)}
            users = get_user_model().objects.filter(username__in=names).select_related("profile")
            self.context["mentioned"] = {u.get_username(): u for u in users} if names else {}
        return super().to_representation(comment)

    def get_keywords(self, comment) -> list[str]:
        return hashtags(comment.text)

    def get_can_delete(self, comment) -> bool:
        """Authors delete their comments; the project's managers delete anyone's."""
        return self.get_is_mine(comment) or is_manager(
            self.context["actor"], comment.task.project_id
        )

    @returns({"type": "array", "items": {"type": "object"}})
    def get_replies(self, comment) -> list[dict[str, Any]]:
        if comment.parent_id is not None:
            return []
        replies = list(comment.replies.all())
        for reply in replies:
            reply.task = comment.task  # the thread's task, already loaded
        return CommentSerializer(replies, many=True, context=self.context).data

    @returns(UserSerializer(many=True))
    def get_users(self, comment) -> list[dict[str, Any]]:
        mentioned = self.context["mentioned"]
        found = [mentioned[n] for n in mentioned_usernames(comment.text) if n in mentioned]
        return UserSerializer(found, many=True).data


class AttachmentSerializer(OwnedSerializer):
    """A file attached to a task. ``filename`` and ``mimetype`` are GitScrum's names for
    ``name`` and ``mime_type``; ``size`` is in bytes; ``url`` is where the storage keeps
    the file and ``download`` the product's links to it (see :mod:`.downloads`)."""

    name = serializers.CharField()
    filename = serializers.CharField(source="name")
    description = serializers.SerializerMethodField()
    url = serializers.URLField()
    download = serializers.SerializerMethodField()
    size = serializers.IntegerField()
    mime_type = serializers.CharField()
    mimetype = serializers.CharField(source="mime_type")
    show_in_carousel = serializers.BooleanField()

    def get_download(self, attachment) -> dict[str, Any]:
        return downloads.links(attachment)

    def get_description(self, attachment) -> str | None:
        return attachment.description or None


class VideoSerializer(OwnedSerializer):
    """A video link on a task. ``video_id`` is the provider's id of the video and
    ``thumbnail`` a still of it (null when the provider is not known for one)."""

    title = serializers.CharField()
    url = serializers.URLField()
    provider = serializers.CharField()
    video_id = serializers.SerializerMethodField()
    thumbnail = serializers.SerializerMethodField()

    def get_video_id(self, video) -> str | None:
        return video.video_id or None

    def get_thumbnail(self, video) -> str | None:
        return video.thumbnail or None


class DiscussionVoteSerializer(ProjectScopedSerializer):
    """One vote on a discussion. Give it a vote from
    ``DiscussionVote.objects.for_resource()``. ``total`` and ``voted`` are the keys
    GitScrum's vote events carry: the discussion's votes, and that this user voted."""

    company = SlugNameSerializer(source="discussion.project.company")
    project = SlugNameSerializer(source="discussion.project")
    discussion = serializers.SerializerMethodField()
    total = serializers.IntegerField(source="discussion_votes")
    voted = serializers.SerializerMethodField()
    user = UserSerializer()
    created_at = DateObjectField()

    def get_discussion(self, vote) -> dict[str, Any]:
        discussion = vote.discussion
        return {
            "uuid": str(discussion.uuid),
            "title": discussion.title,
            "votes_count": vote.discussion_votes,
        }

    def get_voted(self, vote) -> bool:
        # The resource of a vote that exists: the product has no unvoting, so a
        # discussions.vote event always reports a vote cast.
        return True
