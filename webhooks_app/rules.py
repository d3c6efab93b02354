"""The host's pluggable rules: who manages the webhooks of a project (or of an
organisation, or installation-wide ones: None), and whether a project or an
organisation may activate them. Only the host knows its roles and plans, so both are
settings."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.http import Http404

from webhooks_app.conf import webhook_settings


def default_can_manage(user: Any, obj: Any) -> bool:
    """Superusers and holders of ``webhooks_app.change_webhook`` manage every project's
    and every organisation's webhooks."""
    return bool(user.is_superuser or user.has_perm("webhooks_app.change_webhook"))


def can_manage(user: Any, obj: Any) -> bool:
    """Whether ``user`` manages the webhooks of ``obj``: a project, an organisation, or
    None (installation-wide webhooks)."""
    if not (user and user.is_authenticated):
        return False
    return bool(webhook_settings.imported("MANAGE_PERMISSION")(user, obj))


def activation_refusal(obj: Any) -> str | None:
    """Why ``obj`` (a project or an organisation) may not use webhooks, or None when it
    may. (Installation-wide webhooks have neither: this is asked of each project whose
    events they get.)"""
    rule = webhook_settings.imported("ACTIVATION_RULE")
    if rule is None or obj is None:
        return None
    return rule(obj)


def project_in_url(kwargs: dict[str, Any]) -> Any:
    """The project a URL names (``PROJECT_URL_KWARG``, looked up by
    ``PROJECT_LOOKUP_FIELD``). One that does not exist is a 404; one that exists but is
    not the user's to manage is the caller's 403, with nothing of it shown."""
    return _in_url(
        kwargs,
        webhook_settings.PROJECT_MODEL,
        webhook_settings.PROJECT_URL_KWARG,
        webhook_settings.PROJECT_LOOKUP_FIELD,
        "project",
    )


def organization_in_url(kwargs: dict[str, Any]) -> Any:
    """The organisation a URL names (``ORGANIZATION_URL_KWARG``, looked up by
    ``ORGANIZATION_LOOKUP_FIELD``), as :func:`project_in_url` finds a project."""
    if not webhook_settings.ORGANIZATION_MODEL:
        raise Http404("No organisations here.")
    return _in_url(
        kwargs,
        webhook_settings.ORGANIZATION_MODEL,
        webhook_settings.ORGANIZATION_URL_KWARG,
        webhook_settings.ORGANIZATION_LOOKUP_FIELD,
        "organisation",
    )


def _in_url(kwargs: dict[str, Any], label: str, kwarg: str, lookup: str, what: str) -> Any:
    model = apps.get_model(label)
    value = kwargs.get(kwarg)
    if value is None:
        raise Http404(f"No {what} in the URL.")
    try:
        return model._default_manager.get(**{lookup: value})
    except (model.DoesNotExist, ValueError, TypeError):
        raise Http404(f"No such {what}.") from None
