"""The example host's rules for webhooks_app's API (see WEBHOOKS in settings)."""

from __future__ import annotations

from typing import Any

from example_project.agile.models import Company, Membership, Project


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


def is_company_admin(user: Any, company: Company) -> bool:
    """AgileTune's organisation administrators (and superusers)."""
    return user.is_superuser or company.admins.filter(pk=user.pk).exists()


def can_manage_webhooks(user: Any, obj: Project | Company | None) -> bool:
    """iceScrum's rule: the project's managers manage its webhooks; a company's
    administrators manage the company's own (Organization Settings → Webhooks);
    installation-wide ones (None) are the staff's."""
    if obj is None:
        return bool(user.is_staff)
    if isinstance(obj, Company):
        return is_company_admin(user, obj)
    return is_manager(user, obj)


def plan_allows_webhooks(obj: Project | Company) -> str | None:
    """GitScrum's gate: free plans see the webhook settings but cannot activate endpoints.
    A company may activate its own webhooks while one of its projects is on Pro (the
    events of its Free projects still reach none of them: each event's project is asked)."""
    if isinstance(obj, Company):
        if not obj.projects.filter(plan=Project.Plan.PRO).exists():
            return (
                f"Webhooks are a Pro feature: no project of {obj.name!r} is on the Pro plan. "
                "Upgrade one to activate endpoints; you can still view and prepare them."
            )
        return None
    if obj.plan == Project.Plan.FREE:
        return (
            f"Webhooks are a Pro feature: project {obj.name!r} is on the Free plan. "
            "Upgrade it to activate endpoints; you can still view and prepare them."
        )
    return None


def webhook_notice_recipients(webhook: Any) -> list[str]:
    """Who hears that a webhook was disabled: the project's Product Owners and Scrum
    Masters (the people who manage its webhooks), or the company's administrators for a
    company's webhook; not every user asked one by one."""
    if webhook.organization_id is not None:
        admins = Company.admins.through.objects.filter(company_id=webhook.organization_id)
        return sorted({a.user.email for a in admins.select_related("user") if a.user.email})
    if webhook.project_id is None:
        return []
    members = Membership.objects.filter(
        project_id=webhook.project_id, role__in=Membership.MANAGERS
    ).select_related("user")
    return sorted({m.user.email for m in members if m.user.email})
