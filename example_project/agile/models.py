"""The agile product: workspaces, projects, boards, tasks, sprints, stories, time, talk.

Models hold data and invariants only; every user-facing action (and so every webhook
event) goes through :mod:`example_project.agile.services`.

Each model that webhooks describe has a ``for_resource()`` queryset that loads everything
its resource needs in a fixed number of queries, however many labels, assignees or
related rows there are.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

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


class Company(models.Model):
    """A workspace: owns projects and the task catalogs (types, priorities, ...)."""

    DEFAULT_SLUG = "default"

    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

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


class SprintQuerySet(models.QuerySet):
    def for_resource(self) -> SprintQuerySet:
        tasks = Task.objects.filter(sprint=OuterRef("pk"))
        return self.select_related("project__company", "creator__profile").annotate(
            stat_total_tasks=_count(tasks, "sprint"),
            stat_closed_tasks=_count(tasks.filter(column__is_done=True), "sprint"),
            stat_story_points=_aggregate(
                tasks, "sprint", Sum("effort__points"), models.IntegerField(), default=0
            ),
            stat_worked=_aggregate(
                TimeEntry.objects.filter(task__sprint=OuterRef("pk")),
                "task__sprint",
                Sum("duration"),
                models.DurationField(),
            ),
            stat_comments=_count(
                Comment.objects.filter(task__sprint=OuterRef("pk")), "task__sprint"
            ),
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
        from django.contrib.auth import get_user_model

        return (
            get_user_model()
            .objects.filter(tasks__sprint=self)
            .select_related("profile")
            .distinct()
            .order_by("username")
        )


class UserStoryQuerySet(models.QuerySet):
    def for_resource(self, viewer=None) -> UserStoryQuerySet:
        votes = UserStoryVote.objects.filter(story=OuterRef("pk"))
        is_voted = Exists(votes.filter(user=viewer)) if viewer is not None else Value(False)
        return self.select_related("priority").annotate(
            votes_total=_count(votes, "story"),
            voted_by_viewer=is_voted,
        )


class UserStory(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="user_stories")
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    priority = models.ForeignKey(
        Priority, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
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


class UserStoryVote(models.Model):
    story = models.ForeignKey(UserStory, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["story", "user"], name="agile_one_vote_per_story")
        ]

    def __str__(self) -> str:
        return f"{self.user} for {self.story}"


class TaskQuerySet(models.QuerySet):
    def for_resource(self) -> TaskQuerySet:
        """Everything the BoardTask resource shows: three queries for any number of tasks,
        labels and assignees (the task row with its stages and counters, the labels, the
        assignees with their profiles)."""
        from django.contrib.auth import get_user_model

        users = get_user_model().objects.select_related("profile").order_by("username")
        return (
            self.select_related("type", "column", "priority", "effort", "sprint", "user_story")
            .prefetch_related(
                Prefetch("labels", queryset=Label.objects.order_by("title", "pk")),
                Prefetch("assignees", queryset=users),
            )
            .annotate(
                stat_checklists=_count(ChecklistItem.objects.filter(task=OuterRef("pk")), "task"),
                stat_comments=_count(Comment.objects.filter(task=OuterRef("pk")), "task"),
                stat_attachments=_count(Attachment.objects.filter(task=OuterRef("pk")), "task"),
                stat_videos=_count(Video.objects.filter(task=OuterRef("pk")), "task"),
                stat_tracked=_aggregate(
                    TimeEntry.objects.filter(task=OuterRef("pk")),
                    "task",
                    Sum("duration"),
                    models.DurationField(),
                ),
            )
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
    due_date = models.DateField(null=True, blank=True)
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
    created_at = models.DateTimeField(auto_now_add=True)

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
        return self.select_related("task__project", "user__profile")


class Comment(TaskChild):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="comments")
    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    objects = TaskChildQuerySet.as_manager()

    def __str__(self) -> str:
        return self.text[:50]


class Attachment(TaskChild):
    """A file stored by the product's file storage; this row keeps its metadata."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="attachments")
    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=255)
    url = models.URLField(max_length=2000)
    size = models.PositiveBigIntegerField()  # bytes
    mime_type = models.CharField(max_length=100, default="application/octet-stream")

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
        return self.select_related("discussion__project", "user__profile").annotate(
            discussion_votes=_count(votes, "discussion")
        )


class DiscussionVote(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    discussion = models.ForeignKey(Discussion, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DiscussionVoteQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["discussion", "user"], name="agile_one_vote_per_discussion"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.discussion}"
