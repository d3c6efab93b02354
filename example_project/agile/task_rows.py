"""What the BoardTask resource shows of a task, loaded on the save path.

``Task.objects.for_resource()`` is the reference load (the API and the tests use it):
three ORM queries, the first joining every row the resource shows and counting the
task's children in eight correlated subqueries. Run on every save, it cost more than the
save itself, twice over:

- Django compiled those querysets afresh on every call (0.5-1.5 ms of CPU each on a
  2-core machine, the counters' subqueries alone over 1 ms) to send a statement whose
  text never changes;
- PostgreSQL plans every statement afresh, and ordering joins through the task's table
  costs it more the more tables: 0.3 ms for 4, 2.7 ms for 7, 4.4 ms for the resource's 13.

So the save path sends statements written once per shape from the models' ``_meta``: the
task row with its counters (no join), the related rows it lacks looked up by their keys
(the task's foreign keys as parameters: 0.15 ms of planning for 5 tables, 0.25 ms for 8),
its labels, its assignees. It builds the instances from their rows with
``Model.from_db()`` and the backend's converters: the same objects, attributes and cached
relations ``for_resource()`` gives, which :mod:`.rendering` reads.
``tests/test_rendering.py`` holds the two loads to the same payloads over varied tasks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Model, QuerySet

from example_project.agile.models import (
    TASK_RESOURCE_RELATIONS,
    Attachment,
    ChecklistItem,
    Comment,
    Label,
    Task,
    TimeEntry,
    Video,
)

# Tables one statement of related rows joins at most: looked up by their keys, PostgreSQL
# plans 8 in about 0.25 ms (the resource's 13, through the task's table: 4.4 ms).
MOST_JOINED = 8

Converter = Callable[[Any, Any, Any], Any]


def lacking(task: Task) -> tuple[str, ...]:
    """The paths of ``TASK_RESOURCE_RELATIONS`` whose rows ``task`` does not hold."""
    return tuple(path for path in TASK_RESOURCE_RELATIONS if not _holds(task, path))


def load_stored(pk: int, paths: tuple[str, ...]) -> Task | None:
    """The stored task ``pk`` with its counters, labels and assignees and the rows of
    ``paths`` (None if it is gone): three statements, and one per group of
    ``MOST_JOINED`` tables of ``paths``."""
    task = _stored().one(pk)
    if task is None:
        return None
    attach_rows(task, paths)
    task._prefetched_objects_cache = {
        "labels": evaluated(Label, _labels().many(pk)),
        "assignees": evaluated(get_user_model(), _assignees().many(pk)),
    }
    return task


def attach_rows(task: Task, paths: tuple[str, ...]) -> None:
    """Load the rows of ``paths`` by the keys ``task`` holds, and cache them on it (one
    statement per group of ``MOST_JOINED`` tables)."""
    for group in groups(paths):
        _Rows.of(group).attach(task)


@functools.lru_cache(maxsize=64)
def groups(paths: tuple[str, ...]) -> list[tuple[str, ...]]:
    """``paths`` in groups joining at most ``MOST_JOINED`` tables each, in order."""
    found: list[tuple[str, ...]] = []
    group: tuple[str, ...] = ()
    for path in paths:
        if group and _tables(group) + _tables((path,)) > MOST_JOINED:
            found.append(group)
            group = ()
        group += (path,)
    return [*found, group] if group else found


def evaluated(model: type[Model], rows: list[Any]) -> QuerySet:
    """A queryset already evaluated to ``rows``, as prefetching leaves one (iterating a
    bare ``none()`` still compiles its SQL, which cost more than rendering the task)."""
    queryset = model._default_manager.none()
    queryset._result_cache = rows
    queryset._prefetch_done = True
    return queryset


# -- the statements ----------------------------------------------------------------------


class _Part:
    """One model's row in a statement: its columns (all concrete fields, as the ORM
    loads them) under ``alias``, and how to build the instance from them."""

    def __init__(self, model: type[Model], alias: str) -> None:
        self.model, self.alias = model, alias
        self.fields = [f for f in model._meta.concrete_fields]
        self.attnames = [f.attname for f in self.fields]
        # (column index, converter, expression), as the ORM's compiler applies them. The
        # converters depend on the backend and the settings only, so one process's
        # threads share them.
        self.converters: list[tuple[int, Converter, Any]] = []
        for i, field in enumerate(self.fields):
            col = field.get_col(alias)
            for convert in connection.ops.get_db_converters(col) + col.get_db_converters(
                connection
            ):
                self.converters.append((i, convert, col))
        self.pk_index = self.fields.index(model._meta.pk)

    def columns(self) -> list[str]:
        quote = connection.ops.quote_name
        return [f"{self.alias}.{quote(f.column)}" for f in self.fields]

    def build(self, values: Sequence[Any]) -> Model | None:
        if values[self.pk_index] is None:
            return None  # a LEFT JOIN found no row
        converted = list(values)
        for i, convert, col in self.converters:
            converted[i] = convert(converted[i], col, connection)
        return self.model.from_db(connection.alias, self.attnames, converted)


class _Stored:
    """The task row by id, with its counters: one table, eight correlated subqueries."""

    def __init__(self) -> None:
        quote = connection.ops.quote_name
        self.task = _Part(Task, "t")
        columns = self.task.columns() + [sql for _, sql, _ in _counters()]
        self.sql = (
            f"SELECT {', '.join(columns)} FROM {quote(Task._meta.db_table)} t"
            f" WHERE t.{quote(Task._meta.pk.column)} = %s"
        )

    def one(self, pk: int) -> Task | None:
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [pk])
            row = cursor.fetchone()
        if row is None:
            return None
        width = len(self.task.fields)
        task = self.task.build(row[:width])
        for (name, _, convert), value in zip(_counters(), row[width:], strict=True):
            setattr(task, name, convert(value))
        return task


class _Rows:
    """The related rows of ``paths``, each looked up by its primary key: the task's
    foreign keys are parameters, so the statement does not read the task's table (whose
    14 indexes PostgreSQL's planner would open and lock), and joining one-row lookups
    plans in a fraction of a millisecond."""

    def __init__(self, paths: tuple[str, ...]) -> None:
        quote = connection.ops.quote_name
        # Each step of each path: (its path, its parent's path or "", field, part).
        self.steps: list[tuple[str, str, Any, _Part]] = []
        self.keys: list[str] = []  # the task's foreign keys, in the order of the %s
        joins: list[str] = []
        aliases: dict[str, str] = {}
        for path in paths:
            names = path.split("__")
            model: type[Model] = Task
            for depth, name in enumerate(names):
                parent_path = "__".join(names[:depth])
                here = "__".join(names[: depth + 1])
                field = model._meta.get_field(name)
                related = field.related_model
                if here not in aliases:
                    alias = aliases[here] = f"r{len(aliases)}"
                    table = quote(related._meta.db_table)
                    key = f"{alias}.{quote(related._meta.pk.column)}"
                    if not parent_path:  # one of the task's foreign keys
                        on = f"{key} = %s"
                        self.keys.append(field.attname)
                    elif field.concrete:  # a foreign key on the parent's row
                        on = f"{key} = {aliases[parent_path]}.{quote(field.column)}"
                    else:  # a one-to-one pointing back at the parent (a user's profile)
                        parent_key = quote(model._meta.pk.column)
                        column = quote(field.remote_field.column)
                        on = f"{alias}.{column} = {aliases[parent_path]}.{parent_key}"
                    joins.append(f" LEFT JOIN {table} {alias} ON {on}")
                    self.steps.append((here, parent_path, field, _Part(related, alias)))
                model = related
        columns = [c for *_, part in self.steps for c in part.columns()]
        self.sql = f"SELECT {', '.join(columns)} FROM (SELECT 1) AS base{''.join(joins)}"

    @staticmethod
    @functools.lru_cache(maxsize=64)
    def of(paths: tuple[str, ...]) -> _Rows:
        return _Rows(paths)

    def attach(self, task: Task) -> None:
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [getattr(task, key) for key in self.keys])
            row = cursor.fetchone()
        built: dict[str, Any] = {"": task}
        at = 0
        for here, parent_path, field, part in self.steps:
            width = len(part.fields)
            obj = part.build(row[at : at + width])
            at += width
            parent = built[parent_path]
            if parent is not None:
                field.set_cached_value(parent, obj)
            built[here] = obj


class _Related:
    """The rows a task's many-to-many ``name`` leads to (with ``joined`` rows one-to-one
    with them), in ``order``: the ``Prefetch`` querysets of ``for_resource()``."""

    def __init__(self, name: str, order: Sequence[str], joined: Sequence[str] = ()) -> None:
        quote = connection.ops.quote_name
        m2m = Task._meta.get_field(name)
        through = m2m.remote_field.through._meta.db_table
        model = m2m.related_model
        self.part = _Part(model, "r")
        self.joined = []
        joins = ""
        for i, other in enumerate(joined):
            rel = model._meta.get_field(other)
            part = _Part(rel.related_model, f"j{i}")
            pk = quote(model._meta.pk.column)
            on = f"{part.alias}.{quote(rel.remote_field.column)} = r.{pk}"
            joins += f" LEFT JOIN {quote(rel.related_model._meta.db_table)} {part.alias} ON {on}"
            self.joined.append((rel, part))
        ordering = ", ".join(f"r.{quote(model._meta.get_field(f).column)}" for f in order)
        columns = self.part.columns() + [c for _, part in self.joined for c in part.columns()]
        pk = f"r.{quote(model._meta.pk.column)}"
        self.sql = (
            f"SELECT {', '.join(columns)} FROM {quote(model._meta.db_table)} r"
            f" INNER JOIN {quote(through)} m ON m.{quote(m2m.m2m_reverse_name())} = {pk}"
            f"{joins} WHERE m.{quote(m2m.m2m_column_name())} = %s ORDER BY {ordering}"
        )

    def many(self, pk: int) -> list[Any]:
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [pk])
            rows = cursor.fetchall()
        found = []
        width = len(self.part.fields)
        for row in rows:
            obj = self.part.build(row[:width])
            at = width
            for rel, part in self.joined:
                rel.set_cached_value(obj, part.build(row[at : at + len(part.fields)]))
                at += len(part.fields)
            found.append(obj)
        return found


@functools.cache
def _counters() -> list[tuple[str, str, Callable[[Any], Any]]]:
    """``for_resource()``'s ``stat_*``, as correlated subqueries of the task row ``t``."""
    quote = connection.ops.quote_name
    task = f"t.{quote(Task._meta.pk.column)}"

    def column(model: type[Model], name: str) -> str:
        return f"c.{quote(model._meta.get_field(name).column)}"

    def over(model: type[Model], select: str, key: str, where: str = "") -> str:
        table = quote(model._meta.db_table)
        return f"(SELECT {select} FROM {table} c WHERE {column(model, key)} = {task}{where})"

    def count(model: type[Model], key: str, where: str = "") -> str:
        return over(model, "COUNT(*)", key, where)

    def duration(value: Any) -> Any:
        if value is None or connection.features.has_native_duration_field:
            return value
        return connection.ops.convert_durationfield_value(value, None, connection)

    done = f" AND {column(ChecklistItem, 'done')}"
    tracked = f"SUM({column(TimeEntry, 'duration')})"
    return [
        ("stat_checklists", count(ChecklistItem, "task"), int),
        ("stat_checklists_done", count(ChecklistItem, "task", done), int),
        ("stat_comments", count(Comment, "task"), int),
        ("stat_attachments", count(Attachment, "task"), int),
        ("stat_videos", count(Video, "task"), int),
        ("stat_subtasks", count(Task, "parent"), int),
        ("stat_time_trackers", count(TimeEntry, "task"), int),
        ("stat_tracked", over(TimeEntry, tracked, "task"), duration),
    ]


@functools.cache
def _stored() -> _Stored:
    return _Stored()


@functools.cache
def _labels() -> _Related:
    return _Related("labels", order=("title", "id"))


@functools.cache
def _assignees() -> _Related:
    return _Related("assignees", order=("username",), joined=("profile",))


def _holds(instance: Any, path: str) -> bool:
    """Whether following ``path`` (``creator__profile``) from ``instance`` reads only
    what the instance already holds."""
    for name in path.split("__"):
        field = instance._meta.get_field(name)
        if field.concrete and getattr(instance, field.attname) is None:
            return True  # no related row to load
        if not field.is_cached(instance):
            return False
        instance = getattr(instance, name)
        if instance is None:
            return True
    return True


def _tables(paths: Sequence[str]) -> int:
    return sum(len(path.split("__")) for path in paths)
