"""The host's pluggable rules: who manages a project's webhooks, and whether a project
may activate them. Only the host knows its roles and plans, so both are settings."""

from __future__ import annotations

from typing import Any

from webhooks_app.conf import webhook_settings


def default_can_manage(user: Any, project: Any) -> bool:
    """Superusers and holders of ``webhooks_app.change_webhook`` manage every project."""
    return bool(user.is_superuser or user.has_perm("webhooks_app.change_webhook"))


def can_manage(user: Any, project: Any) -> bool:
    if not (user and user.is_authenticated):
        return False
    return bool(webhook_settings.imported("MANAGE_PERMISSION")(user, project))


def activation_refusal(project: Any) -> str | None:
    """Why ``project`` may not use webhooks, or None when it may. (Organisation-wide
    webhooks have no project: this is asked of each project whose events they get.)"""
    rule = webhook_settings.imported("ACTIVATION_RULE")
    if rule is None or project is None:
        return None
    return rule(project)
