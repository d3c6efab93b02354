"""Who may manage a project's webhooks, and whether a project may activate them.

Both rules are the host's to replace (``WEBHOOKS["MANAGE_PERMISSION"]`` and
``WEBHOOKS["ACTIVATION_RULE"]``), since only the host knows its roles and plans.
"""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import import_string
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from webhooks_app.conf import webhook_settings

NOT_A_MANAGER = "Only the project's managers may see or change its webhooks."


def default_can_manage(user: Any, project: Any) -> bool:
    return bool(user.is_superuser or user.has_perm("webhooks_app.change_webhook"))


def can_manage(user: Any, project: Any) -> bool:
    if not (user and user.is_authenticated):
        return False
    return bool(import_string(webhook_settings.MANAGE_PERMISSION)(user, project))


def activation_refusal(project: Any) -> str | None:
    """Why ``project`` may not activate endpoints, or None when it may."""
    rule = webhook_settings.ACTIVATION_RULE
    if not rule or project is None:
        return None
    return import_string(rule)(project)


def ensure_can_activate(project: Any) -> None:
    refusal = activation_refusal(project)
    if refusal:
        raise PermissionDenied(refusal)


class CanManageProjectWebhooks(BasePermission):
    message = NOT_A_MANAGER

    def has_permission(self, request, view) -> bool:
        return can_manage(request.user, view.project)
