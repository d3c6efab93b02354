"""The test host's rules: managers by group, webhooks only on the Pro plan."""

from __future__ import annotations

from typing import Any


def managers_group(project: Any) -> str:
    return f"project-{project.pk}-managers"


def can_manage(user: Any, project: Any) -> bool:
    return user.groups.filter(name=managers_group(project)).exists()


def plan_allows_webhooks(project: Any) -> str | None:
    if project.plan == "free":
        return "Webhooks are a Pro feature: upgrade the project to activate endpoints."
    return None
