"""The DRF permission over :mod:`webhooks_app.rules`."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from webhooks_app.rules import can_manage

NOT_A_MANAGER = "Only the project's managers may see or change its webhooks."


class CanManageProjectWebhooks(BasePermission):
    message = NOT_A_MANAGER

    def has_permission(self, request, view) -> bool:
        return can_manage(request.user, view.project)
