"""The example host's rules for webhooks_app's API (see WEBHOOKS in settings)."""

from __future__ import annotations

from typing import Any

from example_project.agile.models import Membership, Project


def is_member(user: Any, project: Project | int) -> bool:
    """Whether ``user`` works in ``project`` (a superuser works in every project)."""
    return user.is_superuser or Membership.objects.filter(project=project, user=user).exists()


def is_manager(user: Any, project: Project | int) -> bool:
    """iceScrum's managers: the project's Product Owners and Scrum Masters (and
    superusers)."""
    if user.is_superuser:
        return True
    return Membership.objects.filter(
        project=project, user=user, role__in=Membership.MANAGERS
    ).exists()


def can_manage_webhooks(user: Any, project: Project) -> bool:
    """iceScrum's rule: the project's managers manage its webhooks."""
    return is_manager(user, project)


def plan_allows_webhooks(project: Project) -> str | None:
    """GitScrum's gate: free plans see the webhook settings but cannot activate endpoints."""
    if project.plan == Project.Plan.FREE:
        return (
            f"Webhooks are a Pro feature: project {project.name!r} is on the Free plan. "
            "Upgrade it to activate endpoints; you can still view and prepare them."
        )
    return None


def webhook_notice_recipients(webhook: Any) -> list[str]:
    """Who hears that a webhook was disabled: the project's Product Owners and Scrum
    Masters (the people who manage its webhooks), not every user asked one by one."""
    if webhook.project_id is None:
        return []
    members = Membership.objects.filter(
        project_id=webhook.project_id, role__in=Membership.MANAGERS
    ).select_related("user")
    return sorted({m.user.email for m in members if m.user.email})
