"""The handlers a replay can run, by the name their ``webhook_view(inbox=...)`` gave:
a stored message names its handler, and a name outlives a refactoring of modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.http import HttpResponse

from webhooks_app.conf import WebhookConfigurationError

Handler = Callable[..., Any]

_handlers: dict[str, Handler] = {}


def register(name: str, handler: Handler) -> None:
    """Make ``handler`` replayable as ``name``; refuse a name another handler has (a
    replay would run the wrong one) and an inbox that is not installed."""
    if not apps.is_installed("webhooks_app.inbox"):
        raise WebhookConfigurationError(
            f'webhook_view(inbox="{name}") records messages in the durable inbox: add '
            '"webhooks_app.inbox" to INSTALLED_APPS and migrate.'
        )
    if not name or len(name) > 200:
        raise WebhookConfigurationError(
            f"webhook_view(inbox={name!r}): the name must have 1 to 200 characters."
        )
    known = _handlers.get(name)
    if known is not None and _path(known) != _path(handler):
        raise WebhookConfigurationError(
            f'webhook_view(inbox="{name}") is given to both {_path(known)} and '
            f"{_path(handler)}: each handler needs a name of its own."
        )
    _handlers[name] = handler  # the same function, imported again, replaces itself


def get(name: str) -> Handler | None:
    return _handlers.get(name)


def _path(handler: Handler) -> str:
    return f"{handler.__module__}.{handler.__qualname__}"


def answer(response: HttpResponse | None) -> HttpResponse:
    """A handler's answer: the response it returned, or 204 No Content."""
    return response if response is not None else HttpResponse(status=204)
