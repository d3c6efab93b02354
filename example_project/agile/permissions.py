"""The example host's rules for webhooks_app's API (see WEBHOOKS in settings)."""

from __future__ import annotations

from typing import Any

from example_project.agile.models import Membership, Project


def can_manage_webhooks(user: Any, project: Project) -> bool:
    """iceScrum's rule: the project's Product Owner and Scrum Master manage its webhooks."""
    if user.is_superuser:
        return True
    return Membership.objects.filter(
        project=project, user=user, role__in=Membership.MANAGERS
    ).exists()


def plan_allows_webhooks(project: Project) -> str | None:
    """GitScrum's gate: free plans see the webhook settings but cannot activate endpoints."""
    if project.plan == Project.Plan.FREE:
        return (
            f"Webhooks are a Pro feature: project {project.name!r} is on the Free plan. "
            "Upgrade it to activate endpoints; you can still view and prepare them."
        )
    return None
