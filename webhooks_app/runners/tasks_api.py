"""Django's Tasks framework as this Django has it: ``django.tasks`` (Django 6), or the
``django-tasks`` backport (Django 5.2), and what webhooks_app reads of its backends."""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec
from typing import Any

from django.conf import settings


def api() -> Any:
    """The framework's package: ``django.tasks`` where Django ships it, else the backport."""
    return import_module("django.tasks" if find_spec("django.tasks") else "django_tasks")


def signals() -> Any:
    return import_module(f"{api().__name__}.signals")


def backend() -> Any:
    """The default task backend (tasks are enqueued on it)."""
    return api().task_backends["default"]


def configured() -> bool:
    return isinstance(getattr(settings, "TASKS", None), dict) and "default" in settings.TASKS


def is_database_backend(candidate: Any) -> bool:
    """django-tasks-db's backend: its queue is a table webhooks_app may read."""
    try:
        from django_tasks_db.backend import DatabaseBackend
    except ImportError:
        return False
    return isinstance(candidate, DatabaseBackend)


def waiting(task_path: str, *, due_only: bool) -> Any | None:
    """django-tasks-db's unstarted results of ``task_path`` (due now only, or also those
    deferred); None when the backend is another, whose queue cannot be read."""
    current = backend()
    if not is_database_backend(current):
        return None
    from django_tasks_db.models import DBTaskResult

    results = DBTaskResult.objects.ready() if due_only else DBTaskResult.objects
    return results.filter(status="READY", task_path=task_path, backend_name=current.alias)
