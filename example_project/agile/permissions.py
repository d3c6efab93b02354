"""The example host's rules for webhooks_app's API (see WEBHOOKS in settings)."""

from __future__ import annotations

from example_project.agile.models import Project


def plan_allows_webhooks(project: Project) -> str | None:
    """GitScrum's gate: free plans see the webhook settings but cannot activate endpoints."""
    if project.plan == Project.Plan.FREE:
        return (
            f"Webhooks are a Pro feature: project {project.name!r} is on the Free plan. "
            "Upgrade it to activate endpoints; you can still view and prepare them."
        )
    return None
