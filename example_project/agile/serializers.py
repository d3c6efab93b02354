"""The webhook resources, as DRF serializers.

Documented resources follow GitScrum's pages key for key: BoardTask, Sprint (the full
SprintResource plus the short Sprint resource's keys), User Story and Time Tracking.
Comments, attachments, videos and discussion votes are not documented there; their
resources follow the same conventions (uuid, user objects, date objects, a project
reference) and are described in docs/events.md.

Serializers read what the models' ``for_resource()`` querysets load (related rows and
``stat_*`` annotations) and never query per label, assignee or counter.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ObjectDoesNotExist
from rest_framework import serializers

from example_project.agile.dates import date_object, hms, utc_iso
from example_project.agile.models import Profile, Sprint


class DateObjectField(serializers.Field):
    """``{date_for_humans, iso8601, timestamp, timezone}`` (null stays null)."""

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


class UserNameSerializer(serializers.Serializer):
    """``{username, name}``: the time-tracking resource's user."""

    username = serializers.CharField(source="get_username")
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return display_name(user)


class UserBriefSerializer(UserNameSerializer):
    """``{username, name, avatar}``: the BoardTask resource's users."""

    avatar = serializers.SerializerMethodField()

    def get_avatar(self, user) -> str:
        return profile_of(user).avatar_url


class UserSerializer(serializers.Serializer):
    """The SprintResource's user. Never the e-mail or anything auth keeps privately."""

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


class TitleSerializer(serializers.Serializer):
    title = serializers.CharField()


class TitleColorSerializer(TitleSerializer):
    color = serializers.CharField()


class WorkflowSerializer(TitleColorSerializer):
    position = serializers.IntegerField()


class TaskReferenceSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    code = serializers.CharField()
    title = serializers.CharField()


class BoardTaskSerializer(serializers.Serializer):
    """GitScrum's BoardTask resource. Give it a task from ``Task.objects.for_resource()``."""

    uuid = serializers.UUIDField()
    title = serializers.CharField()
    description = serializers.CharField()
    type = TitleColorSerializer()
    workflow = WorkflowSerializer(source="column")
    priority = TitleColorSerializer()
    effort = TitleColorSerializer()
    labels = TitleColorSerializer(many=True)
    users = UserBriefSerializer(many=True, source="assignees")
    config_sprint = TitleSerializer(source="sprint")
    config_user_story = TitleSerializer(source="user_story")
    due_date = serializers.DateField()
    stats = serializers.SerializerMethodField()
    created_at = DateObjectField()
    updated_at = DateObjectField()

    def get_stats(self, task) -> dict[str, Any]:
        return {
            "checklists": task.stat_checklists,
            "comments": task.stat_comments,
            "attachments": task.stat_attachments,
            "videos": task.stat_videos,
            "time_trackings": hms(task.stat_tracked),
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
    closed_at = DateObjectField()
    created_at = DateObjectField()

    def get_timebox(self, sprint) -> dict[str, Any]:
        return {"start": date_object(sprint.date_start), "finish": date_object(sprint.date_finish)}

    def get_description(self, sprint) -> str | None:
        return sprint.description or None

    def get_stats(self, sprint) -> dict[str, Any]:
        total, closed = sprint.stat_total_tasks, sprint.stat_closed_tasks
        points = sprint.stat_story_points
        worked = sprint.stat_worked.total_seconds() if sprint.stat_worked else 0
        return {
            "story_points": points,
            "worked_hours": round(worked / 3600, 2),
            "total_tasks": total,
            "open_tasks": total - closed,
            "closed_tasks": closed,
            "percentage": round(100 * closed / total) if total else 0,
            "comments": sprint.stat_comments,
            "issues_count": total,
            "closed_issues_count": closed,
            "effort_total": points,
        }

    def get_status(self, sprint) -> dict[str, Any]:
        return {"slug": sprint.status, **SPRINT_STATUSES[sprint.status]}

    def get_users(self, sprint) -> list[dict[str, Any]]:
        return UserSerializer(sprint.members(), many=True).data


class UserStorySerializer(serializers.Serializer):
    """GitScrum's User Story resource. Give it a story from
    ``UserStory.objects.for_resource(viewer)``: ``is_voted`` is the viewer's vote."""

    uuid = serializers.UUIDField()
    title = serializers.CharField()
    description = serializers.CharField()
    priority = serializers.SerializerMethodField()
    acceptance_criteria = serializers.CharField()
    votes_count = serializers.IntegerField(source="votes_total")
    is_voted = serializers.BooleanField(source="voted_by_viewer")
    created_at = DateObjectField()

    def get_priority(self, story) -> str | None:
        return story.priority.title if story.priority else None


class TimeTrackingSerializer(serializers.Serializer):
    """GitScrum's Time Tracking resource. A running timer has no ``stopped_at`` yet and
    its ``duration`` is the time elapsed so far."""

    uuid = serializers.UUIDField()
    started_at = serializers.SerializerMethodField()
    stopped_at = serializers.SerializerMethodField()
    duration = serializers.SerializerMethodField()
    comment = serializers.CharField()
    billable = serializers.BooleanField()
    user = UserNameSerializer()

    def get_started_at(self, entry) -> str:
        return utc_iso(entry.started_at)

    def get_stopped_at(self, entry) -> str | None:
        return utc_iso(entry.stopped_at) if entry.stopped_at else None

    def get_duration(self, entry) -> str:
        return hms(entry.elapsed())


class TaskChildSerializer(serializers.Serializer):
    """What comments, attachments and videos share: their task, project, author, date."""

    uuid = serializers.UUIDField()
    task = TaskReferenceSerializer()
    project = SlugNameSerializer(source="task.project")
    user = UserBriefSerializer()
    created_at = DateObjectField()


class CommentSerializer(TaskChildSerializer):
    comment = serializers.CharField(source="text")
    updated_at = DateObjectField()


class AttachmentSerializer(TaskChildSerializer):
    name = serializers.CharField()
    url = serializers.URLField()
    size = serializers.IntegerField()
    mime_type = serializers.CharField()


class VideoSerializer(TaskChildSerializer):
    title = serializers.CharField()
    url = serializers.URLField()
    provider = serializers.CharField()


class DiscussionVoteSerializer(serializers.Serializer):
    """One vote on a discussion. Give it a vote from
    ``DiscussionVote.objects.for_resource()``."""

    uuid = serializers.UUIDField()
    discussion = serializers.SerializerMethodField()
    project = SlugNameSerializer(source="discussion.project")
    user = UserBriefSerializer()
    created_at = DateObjectField()

    def get_discussion(self, vote) -> dict[str, Any]:
        discussion = vote.discussion
        return {
            "uuid": str(discussion.uuid),
            "title": discussion.title,
            "votes_count": vote.discussion_votes,
        }
