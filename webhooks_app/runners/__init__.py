"""The task runners webhooks_app delivers on, chosen by ``WEBHOOKS["RUNNER"]``.

===============  ============================================  =====================
``"django-q2"``  django-q2 (the default): ``manage.py qcluster``  built in
``"celery"``     Celery: ``celery -A proj worker`` (+ ``beat``)  ``[celery]`` extra
``"tasks"``      Django's Tasks framework (``django.tasks``;     ``[tasks]`` extra
                 the ``django-tasks`` backport on Django 5.2),
                 e.g. django-tasks-db's ``manage.py db_worker``
===============  ============================================  =====================

This package is the only code that speaks to a runner (see :mod:`.base`).
"""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import import_string

from webhooks_app.conf import WebhookConfigurationError, webhook_settings
from webhooks_app.runners.base import Runner

RUNNERS = {
    "django-q2": "webhooks_app.runners.django_q2.DjangoQ2Runner",
    "celery": "webhooks_app.runners.celery.CeleryRunner",
    "tasks": "webhooks_app.runners.django_tasks.TasksRunner",
}

_current: tuple[Any, Runner] | None = None


def runner_class(name: Any) -> type[Runner]:
    """The runner ``name`` names; ImportError when its package is missing."""
    if name not in RUNNERS:
        raise WebhookConfigurationError(
            f"WEBHOOKS['RUNNER'] = {name!r} is not one of {', '.join(map(repr, RUNNERS))}."
        )
    cls: type[Runner] = import_string(RUNNERS[name])
    return cls


def current_runner() -> Runner:
    """The configured runner (made again when the WEBHOOKS setting changes)."""
    global _current
    values = webhook_settings.values()
    if _current is None or _current[0] is not values:
        _current = (values, runner_class(webhook_settings.RUNNER)())
    return _current[1]


__all__ = ["RUNNERS", "Runner", "current_runner", "runner_class"]
