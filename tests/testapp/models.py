from __future__ import annotations

import uuid

from django.db import models


class Plan(models.TextChoices):
    FREE = "free", "Free"
    PRO = "pro", "Pro"


class Organization(models.Model):
    """The level above the project (WEBHOOKS["ORGANIZATION_MODEL"])."""

    name = models.CharField(max_length=100)
    plan = models.CharField(max_length=10, choices=Plan.choices, default=Plan.PRO)

    def __str__(self) -> str:
        return self.name


class Project(models.Model):
    Plan = Plan

    name = models.CharField(max_length=100)
    slug = models.SlugField(unique=True)
    plan = models.CharField(max_length=10, choices=Plan.choices, default=Plan.PRO)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="projects"
    )

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(max_length=50)

    def __str__(self) -> str:
        return self.name


class Item(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="items")
    title = models.CharField(max_length=200)
    done = models.BooleanField(default=False)
    tags = models.ManyToManyField(Tag, blank=True, related_name="items")
    # Edited in place by hosts (item.details["x"] = ...): the registry must see it.
    details = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.title
