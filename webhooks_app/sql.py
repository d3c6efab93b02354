"""Values for the hand-written statements on the hot paths, prepared as the ORM would.

Recording events, claiming and recording attempts write raw SQL to avoid building model
instances per row. Their values still need the database's form (a UUID as text on
SQLite, JSON as ``jsonb``, datetimes as SQLite stores them), which each model field
knows how to produce; this prepares only the columns that need it, with the fields'
own methods bound once to the real connection (the ``connection`` proxy looks itself up
on every attribute).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model

# Field types whose Python values the database driver cannot take as they are, on some
# database; the rest (numbers, text, booleans) pass through untouched.
_NEEDS_PREPARING = {"UUIDField", "DateTimeField", "JSONField"}

Prepare = Callable[[Sequence[Any]], list[Any]]


def preparer(model: type[Model], columns: Sequence[str]) -> Prepare:
    """A function turning values for ``columns`` (field names) into the database's form."""
    connection = connections[DEFAULT_DB_ALIAS]
    steps: list[Callable[[Any], Any] | None] = []
    for name in columns:
        field = model._meta.get_field(name)
        target = getattr(field, "target_field", field)
        if target.get_internal_type() in _NEEDS_PREPARING:
            steps.append(partial(field.get_db_prep_save, connection=connection))
        else:
            steps.append(None)

    def prepare(values: Sequence[Any]) -> list[Any]:
        return [
            v if step is None or v is None else step(v)
            for step, v in zip(steps, values, strict=True)
        ]

    return prepare


def prepare_value(model: type[Model], name: str, value: Any) -> Any:
    """One value, prepared as :func:`preparer` would."""
    return preparer(model, [name])([value])[0]
