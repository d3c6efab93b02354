"""Values for the hand-written statements on the hot paths, prepared as the ORM would.

Recording events, claiming and recording attempts write raw SQL to avoid building model
instances per row. Their values still need the database's form (a UUID as text on
SQLite, JSON as ``jsonb``, datetimes as SQLite stores them), which each model field
knows how to produce; this prepares only the columns that need it, with the fields'
own methods bound once to the real connection (the ``connection`` proxy looks itself up
on every attribute).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from functools import partial
from typing import Any

from django.conf import settings
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
            steps.append(_step(field, target.get_internal_type(), connection))
        else:
            steps.append(None)

    def prepare(values: Sequence[Any]) -> list[Any]:
        return [
            v if step is None or v is None else step(v)
            for step, v in zip(steps, values, strict=True)
        ]

    return prepare


def _step(field: Any, kind: str, connection: Any) -> Callable[[Any], Any]:
    """The field's own preparation, or a shortcut giving the same result for the values
    the hot paths write (the field's method, called per value, cost a tenth of a
    delivery's CPU on SQLite)."""
    exact = partial(field.get_db_prep_save, connection=connection)
    if connection.vendor != "sqlite":
        return exact
    if kind == "DateTimeField" and settings.USE_TZ:
        return partial(_sqlite_datetime, zone=connection.timezone, exact=exact)
    if kind == "UUIDField" and not connection.features.has_native_uuid_field:
        return partial(_uuid_hex, exact=exact)
    return exact


def _sqlite_datetime(value: Any, zone: tzinfo, exact: Callable[[Any], Any]) -> Any:
    """As Django stores an aware datetime in SQLite: naive in the connection's zone, as
    ``str()`` writes it."""
    if type(value) is not datetime or value.utcoffset() is None:
        return exact(value)
    return str(value.astimezone(zone).replace(tzinfo=None))


def _uuid_hex(value: Any, exact: Callable[[Any], Any]) -> Any:
    return value.hex if type(value) is uuid.UUID else exact(value)


def prepare_value(model: type[Model], name: str, value: Any) -> Any:
    """One value, prepared as :func:`preparer` would."""
    return preparer(model, [name])([value])[0]
