"""The host's pluggable rules: who manages a project's webhooks, and whether a project
may activate them. Only the host knows its roles and plans, so both are settings."""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import import_string

from webhooks_app.conf import webhook_settings


def default_can_manage(user: Any, project: Any) -> bool:
    """Superusers and holders of ``webhooks_app.change_webhook`` manage every project."""
    return bool(user.is_superuser or user.has_perm("webhooks_app.change_webhook"))


def can_manage(user: Any, project: Any) -> bool:
    if not (user and user.is_authenticated):
        return False
    return bool(import_string(webhook_settings.MANAGE_PERMISSION)(user, project))


def activation_refusal(project: Any) -> str | None:
    """Why ``project`` may not activate endpoints, or None when it may.

    Organisation-wide webhooks (no project) are not gated.
    """
    rule = webhook_settings.ACTIVATION_RULE
    if not rule or project is None:
        return None
    return import_string(rule)(project)
