"""The host's pluggable rules: who manages a project's webhooks, and whether a project
may activate them. Only the host knows its roles and plans, so both are settings."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.http import Http404

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


def project_in_url(kwargs: dict[str, Any]) -> Any:
    """The project a URL names (``PROJECT_URL_KWARG``, looked up by
    ``PROJECT_LOOKUP_FIELD``). One that does not exist is a 404; one that exists but is
    not the user's to manage is the caller's 403, with nothing of it shown."""
    model = apps.get_model(webhook_settings.PROJECT_MODEL)
    value = kwargs.get(webhook_settings.PROJECT_URL_KWARG)
    if value is None:
        raise Http404("No project in the URL.")
    try:
        return model._default_manager.get(**{webhook_settings.PROJECT_LOOKUP_FIELD: value})
    except (model.DoesNotExist, ValueError, TypeError):
        raise Http404("No such project.") from None
