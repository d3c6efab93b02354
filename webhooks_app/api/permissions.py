"""The DRF permission over :mod:`webhooks_app.rules`."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from webhooks_app.rules import can_manage

NOT_A_MANAGER = "Only the {noun}'s managers may see or change its webhooks."


class CanManageProjectWebhooks(BasePermission):
    """The manage rule, asked about the project or the organisation in the URL."""

    message = NOT_A_MANAGER.format(noun="project")

    def has_permission(self, request, view) -> bool:
        scope = view.scope
        self.message = NOT_A_MANAGER.format(noun=scope.noun)
        return can_manage(request.user, scope.owner)
