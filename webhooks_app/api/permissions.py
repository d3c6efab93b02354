"""DRF permission and plan-gate glue over :mod:`webhooks_app.rules`."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from webhooks_app.rules import activation_refusal, can_manage

NOT_A_MANAGER = "Only the project's managers may see or change its webhooks."


def ensure_can_activate(project: Any) -> None:
    refusal = activation_refusal(project)
    if refusal:
        raise PermissionDenied(refusal)


class CanManageProjectWebhooks(BasePermission):
    message = NOT_A_MANAGER

    def has_permission(self, request, view) -> bool:
        return can_manage(request.user, view.project)
