"""The agile product: workspaces, projects, boards, tasks, sprints, stories, time, talk.

Models hold data and invariants only; every user-facing action (and so every webhook
event) goes through :mod:`example_project.agile.services`.

Each model that webhooks describe has a ``for_resource()`` queryset that loads everything
its resource needs in a fixed number of queries, however many labels, assignees or
related rows there are.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.text import slugify

USER = settings.AUTH_USER_MODEL


def _aggregate(queryset: models.QuerySet, group: str, aggregate, output_field, default=None):
    """A correlated subquery of one aggregate (joins would multiply each other's rows).
    With no related row it is NULL, or ``default``."""
    subquery = Subquery(
        queryset.order_by().values(group).annotate(value=aggregate).values("value")[:1],
        output_field=output_field,
    )
    if default is None:
        return subquery
    return Coalesce(subquery, Value(default), output_field=output_field)


def _count(queryset: models.QuerySet, group: str) -> Coalesce:
    return _aggregate(queryset, group, Count("pk"), models.IntegerField(), default=0)


def _assignees_of(tasks: models.QuerySet) -> models.QuerySet:
    """The users assigned to any of ``tasks``, each once, with their profiles."""
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(tasks__in=tasks)
        .select_related("profile")
        .distinct()
        .order_by("username")
    )


class Company(models.Model):
    """A workspace: owns projects and the task catalogs (types, priorities, ...)."""

    DEFAULT_SLUG = "default"

    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # AgileTune's organisation administrators: they manage the company's own webhooks
    # (Organization Settings → Webhooks), which receive every project's events.
    admins = models.ManyToManyField(USER, blank=True, related_name="administered_companies")

    class Meta:
        verbose_name_plural = "companies"

    def __str__(self) -> str:
        return self.name

    @classmethod
    def default(cls) -> Company:
        company, _ = cls.objects.get_or_create(
            slug=cls.DEFAULT_SLUG, defaults={"name": "Default workspace"}
        )
        return company


class Project(models.Model):
    class Plan(models.TextChoices):
        FREE = "free", "Free"
        PRO = "pro", "Pro"

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="projects")
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    plan = models.CharField(max_length=10, choices=Plan.choices, default=Plan.PRO)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        # Every project lives in a workspace; one created without saying which (a quick
        # ORM create, a fixture) goes to the default workspace rather than failing.
        if self.company_id is None:
            self.company = Company.default()
        super().save(*args, **kwargs)


class Membership(models.Model):
    """A user's role in a project, with iceScrum's roles: only the Product Owner and the
    Scrum Master manage the project's webhooks."""

    class Role(models.TextChoices):
        PRODUCT_OWNER = "product_owner", "Product Owner"
        SCRUM_MASTER = "scrum_master", "Scrum Master"
        DEVELOPER = "developer", "Developer"
        STAKEHOLDER = "stakeholder", "Stakeholder"

    MANAGERS = (Role.PRODUCT_OWNER, Role.SCRUM_MASTER)

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.DEVELOPER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="agile_one_membership")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) in {self.project}"


class Profile(models.Model):
    """What the product knows about a user beyond django.contrib.auth's fields."""

    user = models.OneToOneField(USER, on_delete=models.CASCADE, related_name="profile")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    avatar = models.URLField(blank=True)
    headline = models.CharField(max_length=200, blank=True)
    location = models.CharField(max_length=200, blank=True)
    timezone_name = models.CharField(max_length=64, default="UTC")
    language = models.CharField(max_length=10, default="en")

    def __str__(self) -> str:
        return f"Profile of {self.user}"

    @property
    def avatar_url(self) -> str:
        # Identicon keyed on the profile's uuid: a stable picture that reveals nothing
        # about the user (Gravatar's usual key, the e-mail hash, would).
        if self.avatar:
            return self.avatar
        return f"https://www.gravatar.com/avatar/{self.uuid.hex}?d=identicon"


class BoardColumn(models.Model):
    """A workflow stage of a project's board."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="columns")
    title = models.CharField(max_length=100)
    color = models.CharField(max_length=7, default="#3B82F6")
    position = models.PositiveIntegerField(default=0)
    # Tasks in a "done" column count as closed in sprint statistics.
    is_done = models.BooleanField(default=False)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.title


class CatalogEntry(models.Model):
    """A titled, coloured entry of one of a workspace's task catalogs."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=100)
    color = models.CharField(max_length=7)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.title


class TaskType(CatalogEntry):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="task_types")


class Priority(CatalogEntry):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="priorities")

    class Meta(CatalogEntry.Meta):
        verbose_name_plural = "priorities"


class Effort(CatalogEntry):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="efforts")
    points = models.PositiveIntegerField(default=0)


class Label(CatalogEntry):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="labels")


def _progress_counters(link: str) -> dict[str, Any]:
    """Annotations counting the work of the tasks whose ``link`` (``sprint``,
    ``user_story``) is the row: tasks, closed tasks, points, time worked, comments."""
    tasks = Task.objects.filter(**{link: OuterRef("pk")})
    through_task = {f"task__{link}": OuterRef("pk")}
    return {
        "stat_total_tasks": _count(tasks, link),
        "stat_closed_tasks": _count(tasks.filter(column__is_done=True), link),
        "stat_story_points": _aggregate(
            tasks, link, Sum("effort__points"), models.IntegerField(), default=0
        ),
        "stat_worked": _aggregate(
            TimeEntry.objects.filter(**through_task),
            f"task__{link}",
            Sum("duration"),
            models.DurationField(),
        ),
        "stat_comments": _count(Comment.objects.filter(**through_task), f"task__{link}"),
    }


class SprintQuerySet(models.QuerySet):
    def for_resource(self) -> SprintQuerySet:
        return self.select_related("project__company", "creator__profile").annotate(
            **_progress_counters("sprint")
        )


class Sprint(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"
        ARCHIVED = "archived", "Archived"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sprints")
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, blank=True)
    color = models.CharField(max_length=7, default="#3B82F6")
    description = models.TextField(blank=True)  # HTML
    date_start = models.DateField()
    date_finish = models.DateField()
    close_on_finish = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    creator = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SprintQuerySet.as_manager()

    class Meta:
        ordering = ["date_start", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(date_finish__gte=F("date_start")),
                name="agile_sprint_finish_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        if not self.slug:
            # "Q1 Week 3" -> "sprint-q1-week-3", as GitScrum names them; fixed at
            # creation so renaming a sprint does not break links to it.
            base = slugify(self.title)
            self.slug = (base if base.startswith("sprint") else f"sprint-{base}")[:220]
        super().save(*args, **kwargs)

    @property
    def code(self) -> str:
        return f"S-{self.pk}"

    @property
    def duration(self) -> int:
        """Length of the timebox in days."""
        return (self.date_finish - self.date_start).days

    def members(self) -> models.QuerySet:
        """Users assigned to this sprint's tasks."""
        return _assignees_of(Task.objects.filter(sprint=self))


class Epic(models.Model):
    """A large body of work that groups a project's user stories."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="epics")
    title = models.CharField(max_length=200)
    color = models.CharField(max_length=7, default="#8B5CF6")
    creator = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.title


class UserStoryQuerySet(models.QuerySet):
    def for_resource(self, viewer=None) -> UserStoryQuerySet:
        """The story with its priority, epic, creator and counters in one query (the
        users working on it are one more, see :meth:`UserStory.members`)."""
        votes = UserStoryVote.objects.filter(story=OuterRef("pk"))
        is_voted = Exists(votes.filter(user=viewer)) if viewer is not None else Value(False)
        return self.select_related(
            "priority", "project__company", "creator__profile", "epic__creator__profile"
        ).annotate(
            votes_total=_count(votes, "story"),
            voted_by_viewer=is_voted,
            epic_stories=_count(UserStory.objects.filter(epic=OuterRef("epic")), "epic"),
            **_progress_counters("user_story"),
        )


class UserStory(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="user_stories")
    title = models.CharField(max_length=300)
    slug = models.SlugField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    priority = models.ForeignKey(
        Priority, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    epic = models.ForeignKey(
        Epic, on_delete=models.SET_NULL, null=True, blank=True, related_name="user_stories"
    )
    acceptance_criteria = models.TextField(blank=True)
    voters = models.ManyToManyField(
        USER, through="UserStoryVote", related_name="voted_user_stories", blank=True
    )
    creator = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserStoryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "user stories"

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        if not self.slug:
            # Fixed at creation, like a task's: links to the story survive a new title.
            self.slug = slugify(self.title)[:300]
        super().save(*args, **kwargs)

    @property
    def code(self) -> str:
        return f"US-{self.pk}"

    def members(self) -> models.QuerySet:
        """Users assigned to this story's tasks."""
        return _assignees_of(Task.objects.filter(user_story=self))


class Vote(models.Model):
    """A user's vote for something; each subclass counts one per user and thing."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class UserStoryVote(Vote):
    story = models.ForeignKey(UserStory, on_delete=models.CASCADE, related_name="votes")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["story", "user"], name="agile_one_vote_per_story")
        ]

    def __str__(self) -> str:
        return f"{self.user} for {self.story}"


# The rows a task's resource shows beside the task's own (one join each).
TASK_RESOURCE_RELATIONS = (
    "type",
    "column",
    "priority",
    "effort",
    "sprint",
    "user_story",
    "parent",
    "creator__profile",
    "completed_by__profile",
    "project__company",
)


class TaskQuerySet(models.QuerySet):
    def for_resource(self, relations: Sequence[str] = TASK_RESOURCE_RELATIONS) -> TaskQuerySet:
        """Everything the BoardTask resource shows: three queries for any number of tasks,
        labels and assignees (the task row with its stages, creator, project and
        counters, the labels, the assignees with their profiles).

        ``relations``: the rows of ``TASK_RESOURCE_RELATIONS`` to join, when the caller
        holds the others already (see ``agile.webhooks``)."""
        from django.contrib.auth import get_user_model

        users = get_user_model().objects.select_related("profile").order_by("username")
        # select_related() of nothing would follow every foreign key: join none then.
        queryset = self.select_related(*relations) if relations else self
        return queryset.prefetch_related(
            Prefetch("labels", queryset=Label.objects.order_by("title", "pk")),
            Prefetch("assignees", queryset=users),
        ).annotate(
            stat_checklists=_count(ChecklistItem.objects.filter(task=OuterRef("pk")), "task"),
            stat_checklists_done=_count(
                ChecklistItem.objects.filter(task=OuterRef("pk"), done=True), "task"
            ),
            stat_comments=_count(Comment.objects.filter(task=OuterRef("pk")), "task"),
            stat_attachments=_count(Attachment.objects.filter(task=OuterRef("pk")), "task"),
            stat_videos=_count(Video.objects.filter(task=OuterRef("pk")), "task"),
            stat_subtasks=_count(Task.objects.filter(parent=OuterRef("pk")), "parent"),
            stat_time_trackers=_count(TimeEntry.objects.filter(task=OuterRef("pk")), "task"),
            stat_tracked=_aggregate(
                TimeEntry.objects.filter(task=OuterRef("pk")),
                "task",
                Sum("duration"),
                models.DurationField(),
            ),
        )


class Task(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=300)
    slug = models.SlugField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    # The stages and catalog entries are nullable so a task can exist before its board
    # is configured; the services always fill them from the project's defaults.
    type = models.ForeignKey(
        TaskType, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    column = models.ForeignKey(
        BoardColumn, on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks"
    )
    priority = models.ForeignKey(
        Priority, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    effort = models.ForeignKey(
        Effort, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    labels = models.ManyToManyField(Label, blank=True, related_name="tasks")
    assignees = models.ManyToManyField(USER, blank=True, related_name="tasks")
    sprint = models.ForeignKey(
        Sprint, on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks"
    )
    user_story = models.ForeignKey(
        UserStory, on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks"
    )
    # A subtask's parent is a top-level task of the same project; deleting the parent
    # leaves its subtasks on the board as tasks of their own.
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="subtasks"
    )
    start_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    estimated_minutes = models.PositiveIntegerField(default=0)
    # When, and by whom, the task reached a column of done tasks (the services keep them).
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    creator = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TaskQuerySet.as_manager()

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        if not self.slug:
            # Fixed at creation: a retitled task keeps its links (and a title edit
            # changes only the title).
            self.slug = slugify(self.title)[:300]
        super().save(*args, **kwargs)

    @property
    def code(self) -> str:
        return f"T-{self.pk}"


class ChecklistItem(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="checklist_items")
    title = models.CharField(max_length=300)
    done = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.title


class TimeEntryQuerySet(models.QuerySet):
    def for_resource(self) -> TimeEntryQuerySet:
        return self.select_related("task__project__company", "user__profile")


class TimeEntry(models.Model):
    """Time worked on a task: a running timer (no stop yet) or a finished entry."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="time_entries")
    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="time_entries")
    started_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    # Set when the entry is finished; summing a column is what reports need.
    duration = models.DurationField(null=True, blank=True)
    comment = models.TextField(blank=True)
    billable = models.BooleanField(default=True)
    is_manual = models.BooleanField(default=False)
    # Starting a timer on a task assigns the user to it if they were not: remembered so
    # the timer's events can say so.
    auto_assigned = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TimeEntryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "time entries"
        ordering = ["started_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(stopped_at__isnull=True),
                name="agile_one_running_timer_per_user",
            ),
            models.CheckConstraint(
                condition=Q(stopped_at__isnull=True) | Q(stopped_at__gte=F("started_at")),
                name="agile_time_entry_stops_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.task_id}"

    @property
    def is_running(self) -> bool:
        return self.stopped_at is None

    def elapsed(self, now=None) -> timedelta:
        if self.duration is not None:
            return self.duration
        return max((now or timezone.now()) - self.started_at, timedelta(0))


class TaskChild(models.Model):
    """Something a user adds to a task: a comment, an attachment, a video."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["created_at", "pk"]


class TaskChildQuerySet(models.QuerySet):
    def for_resource(self) -> TaskChildQuerySet:
        return self.select_related("task__project__company", "user__profile")


class CommentQuerySet(TaskChildQuerySet):
    def with_votes(self) -> CommentQuerySet:
        votes = CommentVote.objects.filter(comment=OuterRef("pk"))
        return self.annotate(votes_total=_count(votes, "comment"))

    def for_resource(self) -> CommentQuerySet:
        """The comment with its task, project and votes, then its replies with theirs: two
        queries for any number of replies (the users they mention are one more)."""
        replies = Comment.objects.select_related("user__profile").with_votes()
        return (
            super()
            .for_resource()
            .with_votes()
            .prefetch_related(Prefetch("replies", queryset=replies.order_by("created_at", "pk")))
        )


class Comment(TaskChild):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="comments")
    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    # Threads are one level deep: a reply's replies attach to the thread's first comment.
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    text = models.TextField()
    voters = models.ManyToManyField(
        USER, through="CommentVote", related_name="voted_comments", blank=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = CommentQuerySet.as_manager()

    def __str__(self) -> str:
        return self.text[:50]


class CommentVote(Vote):
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="votes")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["comment", "user"], name="agile_one_vote_per_comment")
        ]

    def __str__(self) -> str:
        return f"{self.user} for comment {self.comment_id}"


class Attachment(TaskChild):
    """A file stored by the product's file storage; this row keeps its metadata."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="attachments")
    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    url = models.URLField(max_length=2000)
    size = models.PositiveBigIntegerField()  # bytes
    mime_type = models.CharField(max_length=100, default="application/octet-stream")
    show_in_carousel = models.BooleanField(default=False)

    objects = TaskChildQuerySet.as_manager()

    def __str__(self) -> str:
        return self.name


class Video(TaskChild):
    class Provider(models.TextChoices):
        YOUTUBE = "youtube", "YouTube"
        VIMEO = "vimeo", "Vimeo"
        LOOM = "loom", "Loom"
        OTHER = "other", "Other"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="videos")
    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=300)
    url = models.URLField(max_length=2000)
    provider = models.CharField(max_length=10, choices=Provider.choices, default=Provider.OTHER)
    # The provider's id of the video (YouTube's "dQw4w9WgXcQ") and a still of it, both
    # read from the URL when the provider is known.
    video_id = models.CharField(max_length=100, blank=True)
    thumbnail = models.URLField(max_length=2000, blank=True)

    objects = TaskChildQuerySet.as_manager()

    def __str__(self) -> str:
        return self.title


class Discussion(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="discussions")
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    creator = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.title


class DiscussionVoteQuerySet(models.QuerySet):
    def for_resource(self) -> DiscussionVoteQuerySet:
        votes = DiscussionVote.objects.filter(discussion=OuterRef("discussion"))
        return self.select_related("discussion__project__company", "user__profile").annotate(
            discussion_votes=_count(votes, "discussion")
        )


class DiscussionVote(Vote):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    discussion = models.ForeignKey(Discussion, on_delete=models.CASCADE, related_name="votes")

    objects = DiscussionVoteQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["discussion", "user"], name="agile_one_vote_per_discussion"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.discussion}"
