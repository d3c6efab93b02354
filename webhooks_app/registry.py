"""Declaring which model changes emit which events.

A host describes each model once, usually in ``<app>/webhooks.py`` (autodiscovered)::

    from webhooks_app.registry import ModelEvents, register

    @register(Order)
    class OrderEvents(ModelEvents):
        serializer_class = OrderSerializer    # or override serialize()
        project_field = "store"
        created = "orders.created"
        updated = "orders.updated"
        deleted = "orders.deleted"
        field_events = {"status": "orders.status", "store": "orders.moved"}
        m2m_events = {"coupons": ("orders.coupons.add", "orders.coupons.remove")}

An update emits the event of each changed field listed in ``field_events`` and, if any
other tracked field changed too, ``updated``; a save that changes nothing emits nothing.
Changing the project field notifies the webhooks of both projects.
"""

from __future__ import annotations

import copy
import datetime
import decimal
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models.signals import m2m_changed, post_init, post_save, pre_delete

from webhooks_app.conf import WebhookConfigurationError
from webhooks_app.engine.dispatch import emit
from webhooks_app.events import catalog

if TYPE_CHECKING:
    from webhooks_app.models import Event

FIELD_CHANGE = {"type": "object", "required": ["from", "to"]}
RELATION_CHANGE = {
    "type": "object",
    "properties": {"added": {"type": "array"}, "removed": {"type": "array"}},
    "minProperties": 1,
}

_SNAPSHOT = "_webhooks_snapshot"
# Values no code can change in place; anything else (a JSONField's dict, an ArrayField's
# list) is copied into a snapshot, or an edit in place would change the snapshot too and
# never show as a change. Checked by exact type: the snapshot runs for every loaded row.
_IMMUTABLE = frozenset(
    {str, int, float, bool, type(None), bytes, decimal.Decimal, uuid.UUID}
    | {datetime.datetime, datetime.date, datetime.time, datetime.timedelta}
)
_CLEARED = "_webhooks_cleared"
_muted: ContextVar[bool] = ContextVar("webhooks_app_muted", default=False)


@contextmanager
def muted() -> Iterator[None]:
    """Silence signal-driven events for ORM work done inside the block.

    For actions that touch several rows (create a task with its labels, delete it with
    its comments) and must send one event: do the work muted, then emit the action's
    event explicitly with :func:`webhooks_app.emit_for_instance`. Change tracking goes
    on, so a later save reports only what changed after the block.
    """
    token = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(token)


class ModelEvents:
    """Per-model event wiring; subclass and register with :func:`register`."""

    model: type[models.Model]
    serializer_class: Any = None
    project_field: str | None = "project"
    created: str | None = None
    updated: str | None = None
    deleted: str | None = None
    field_events: Mapping[str, str] = {}
    m2m_events: Mapping[str, tuple[str | None, str | None]] = {}
    # Fields whose change alone never emits ``updated`` (auto_now fields always are).
    ignore_fields: tuple[str, ...] = ()
    # Events emitted explicitly for this model (``emit_for_instance``), besides the above:
    # declared, their schema is this registration's.
    emits: tuple[str, ...] = ()
    # The JSON Schema of ``data`` where ``serializer_class`` cannot tell it (``serialize()``
    # builds a dict), and an example of ``data``; see :mod:`webhooks_app.schemas`.
    schema: Mapping[str, Any] | None = None
    example: Mapping[str, Any] | None = None

    def __init__(self, model: type[models.Model]):
        self.model = model
        self._tracked = self._tracked_fields()

    # -- what hosts override --------------------------------------------------------

    def serialize(self, instance: models.Model) -> dict:
        """The resource sent as the envelope's ``data``."""
        return self.serializer_class(instance).data

    def get_project(self, instance: models.Model) -> Any:
        """The project pk an instance belongs to (None: installation-wide webhooks only)."""
        if not self.project_field:
            return None
        return getattr(instance, self.model._meta.get_field(self.project_field).attname)

    def render_value(self, field: models.Field, value: Any) -> Any:
        """How a changed value appears in ``changes``; foreign keys are their pk."""
        return value

    def data_schema(self, event_type: str) -> dict | None:
        """The JSON Schema of ``data``: ``schema``, else read from ``serializer_class``
        (None: not declared)."""
        if self.schema is not None:
            return dict(self.schema)
        if self.serializer_class is None:
            return None
        # Imported here: it reads DRF serializers, and DRF is the [api] extra, which the
        # save path and a host without a serializer_class do without.
        from webhooks_app.serializer_schemas import serializer_schema

        return serializer_schema(self.serializer_class)

    def data_example(self, event_type: str) -> Mapping[str, Any] | None:
        return self.example

    # -- what the registration says of its events ------------------------------------

    def event_types(self) -> list[str]:
        """Every event this registration emits, each once."""
        names = [self.created, self.updated, self.deleted, *self.field_events.values()]
        names += [n for pair in self.m2m_events.values() for n in pair]
        return list(dict.fromkeys(filter(None, [*names, *self.emits])))

    def changes_schema(self, event_type: str) -> dict | None:
        """The JSON Schema of ``changes`` in ``event_type`` (None: it has none): one
        ``{from, to}`` per changed field, ``{added, removed}`` per relation."""
        fields = [f for f, e in self.field_events.items() if e == event_type]
        if event_type == self.updated:
            fields += [f.name for f in self._tracked.values() if f.name not in self.field_events]
        relations = [f for f, pair in self.m2m_events.items() if event_type in pair]
        if not fields and not relations:
            return None
        properties = {name: self._change_schema(name) for name in fields}
        properties.update({name: RELATION_CHANGE for name in relations})
        return {
            "type": "object",
            "properties": properties,
            "additionalProperties": {"anyOf": [FIELD_CHANGE, RELATION_CHANGE]},
        }

    def _change_schema(self, name: str) -> dict:
        if type(self).render_value is not ModelEvents.render_value:
            return FIELD_CHANGE  # rendered by the host: its type is its own
        from webhooks_app.serializer_schemas import model_field_schema  # DRF: see above

        value = model_field_schema(self.model._meta.get_field(name))
        return {**FIELD_CHANGE, "properties": {"from": value, "to": value}}

    # -- machinery ------------------------------------------------------------------

    def emit(
        self,
        instance: models.Model,
        event_type: str,
        *,
        changes: Mapping | None = None,
        project: Any = None,
        idempotency_key: str | None = None,
    ) -> Event | None:
        return emit(
            event_type,
            lambda: self.serialize(instance),
            project=project if project is not None else self.get_project(instance),
            changes=changes,
            idempotency_key=idempotency_key,
        )

    def _tracked_fields(self) -> dict[str, models.Field]:
        fields = {}
        for field in self.model._meta.concrete_fields:
            if field.primary_key or field.name in self.ignore_fields:
                continue
            if getattr(field, "auto_now", False):
                continue
            fields[field.attname] = field
        return fields

    def problems(self) -> list[tuple[str, str]]:
        """What is wrong with this registration, as (check id, message) pairs."""
        name, model = type(self).__name__, self.model.__name__
        found = []
        if self.serializer_class is None and type(self).serialize is ModelEvents.serialize:
            found.append(
                (
                    "webhooks_app.E006",
                    f"{name}: set serializer_class or override serialize(); "
                    "webhooks never send a model's fields by default.",
                )
            )
        names = self.event_types()
        try:
            known = {event.name for event in catalog}
        except (WebhookConfigurationError, ImportError):
            known = set(filter(None, names))  # the catalog itself is reported (E005)
        for event in filter(None, names):
            if event not in known:
                found.append(
                    (
                        "webhooks_app.E007",
                        f"{name} emits {event!r}, which is not in the event "
                        "catalog: declare it in WEBHOOKS['EVENTS'].",
                    )
                )
        fields = [*self.field_events, *self.m2m_events]
        if self.project_field:
            fields.append(self.project_field)
        for field in fields:
            try:
                found_field = self.model._meta.get_field(field)
            except FieldDoesNotExist:
                found.append(("webhooks_app.E006", f"{name}: {model} has no field {field!r}."))
                continue
            if field in self.m2m_events and not found_field.many_to_many:
                found.append(
                    ("webhooks_app.E006", f"{name}.m2m_events: {field!r} is not many-to-many.")
                )
            if field == self.project_field and not found_field.many_to_one:
                found.append(
                    ("webhooks_app.E006", f"{name}.project_field: {field!r} is not a foreign key.")
                )
        return found

    def snapshot(self, instance: models.Model) -> None:
        values = instance.__dict__
        instance.__dict__[_SNAPSHOT] = {a: _copied(values[a]) for a in self._tracked if a in values}

    def values(self, instance: models.Model) -> dict[str, Any]:
        """Copies of the tracked values of ``instance`` by field name (foreign keys as
        their pk)."""
        return {f.name: _copied(instance.__dict__.get(a)) for a, f in self._tracked.items()}

    def diff(self, before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict]:
        """``{field: {"from": old, "to": new}}`` for each value that differs, rendered
        as ``changes`` are in update events."""
        get_field = self.model._meta.get_field
        return {
            name: {
                "from": self.render_value(get_field(name), old),
                "to": self.render_value(get_field(name), after.get(name)),
            }
            for name, old in before.items()
            if after.get(name) != old
        }

    def changes(self, instance: models.Model, update_fields) -> dict[str, tuple[Any, Any]]:
        before = instance.__dict__.get(_SNAPSHOT, {})
        changed = {}
        for attname, old in before.items():
            field = self._tracked[attname]
            if update_fields is not None and field.name not in update_fields:
                continue
            new = instance.__dict__.get(attname)
            if new != old:
                changed[field.name] = (old, new)
        return changed

    def on_save(self, instance: models.Model, created: bool, update_fields: Any) -> None:
        if created:
            if self.created:
                self.emit(instance, self.created)
            self.snapshot(instance)
            return
        changed = self.changes(instance, update_fields)
        self.snapshot(instance)
        if not changed:
            return
        rendered = self.diff(
            {name: old for name, (old, _) in changed.items()},
            {name: new for name, (_, new) in changed.items()},
        )
        projects = [self.get_project(instance)]
        if self.project_field in changed:
            projects.insert(0, changed[self.project_field][0])
        for name in changed:
            if name in self.field_events:
                self.emit(
                    instance,
                    self.field_events[name],
                    changes={name: rendered[name]},
                    project=projects,
                )
        rest = {n: c for n, c in rendered.items() if n not in self.field_events}
        if rest and self.updated:
            self.emit(instance, self.updated, changes=rest, project=projects)

    def on_delete(self, instance: models.Model) -> None:
        if self.deleted:
            # Before the row goes, so the payload describes the object as it was.
            self.emit(instance, self.deleted)

    def on_m2m(self, instance, field_name, action, reverse, pk_set, related_model) -> None:
        added, removed = self.m2m_events[field_name]
        if action == "pre_clear":
            if reverse:
                related = self.model._default_manager.filter(**{field_name: instance.pk})
            else:
                related = getattr(instance, field_name).all()
            cleared = set(related.values_list("pk", flat=True))
            instance.__dict__.setdefault(_CLEARED, {})[field_name] = cleared
            return
        if action == "post_clear":
            pk_set = instance.__dict__.get(_CLEARED, {}).pop(field_name, set())
            action = "post_remove"
        event = added if action == "post_add" else removed if action == "post_remove" else None
        if not event or not pk_set:
            return
        key = "added" if action == "post_add" else "removed"
        if reverse:
            # e.g. user.tasks.add(task): ``instance`` is the user, pk_set the tasks.
            for obj in self.model._default_manager.filter(pk__in=pk_set):
                self.emit(obj, event, changes={field_name: {key: [instance.pk]}})
        else:
            self.emit(instance, event, changes={field_name: {key: sorted(pk_set)}})


class Registry:
    def __init__(self) -> None:
        self._models: dict[type[models.Model], ModelEvents] = {}
        # Registrations that are wrong, never connected: a system check reports them.
        self.rejected: dict[type[models.Model], list[tuple[str, str]]] = {}

    def __contains__(self, model) -> bool:
        return model in self._models

    def __iter__(self):
        return iter(self._models.values())

    def get(self, model: type[models.Model]) -> ModelEvents:
        try:
            return self._models[model]
        except KeyError:
            raise WebhookConfigurationError(
                f"{model.__name__} is not registered with webhooks_app.registry."
            ) from None

    def register(self, model: type[models.Model], config_class: type[ModelEvents]) -> ModelEvents:
        """Connect ``config_class`` to ``model``'s signals. A registration with problems
        is not connected (its saves would fail after their rows commit): the system
        check reports it."""
        config = config_class(model)
        self.unregister(model)
        problems = config.problems()
        if problems:
            self.rejected[model] = problems
            return config
        self.rejected.pop(model, None)
        self._models[model] = config
        uid = f"webhooks_app:{model._meta.label}"
        post_init.connect(_post_init, sender=model, dispatch_uid=uid)
        post_save.connect(_post_save, sender=model, dispatch_uid=uid)
        pre_delete.connect(_pre_delete, sender=model, dispatch_uid=uid)
        for field_name in config.m2m_events:
            through = model._meta.get_field(field_name).remote_field.through
            m2m_changed.connect(_m2m_changed, sender=through, dispatch_uid=f"{uid}.{field_name}")
        return config

    def unregister(self, model: type[models.Model]) -> None:
        config = self._models.pop(model, None)
        if config is None:
            return
        uid = f"webhooks_app:{model._meta.label}"
        post_init.disconnect(sender=model, dispatch_uid=uid)
        post_save.disconnect(sender=model, dispatch_uid=uid)
        pre_delete.disconnect(sender=model, dispatch_uid=uid)
        for field_name in config.m2m_events:
            through = model._meta.get_field(field_name).remote_field.through
            m2m_changed.disconnect(sender=through, dispatch_uid=f"{uid}.{field_name}")


registry = Registry()


def register(model: type[models.Model]) -> Callable[[type[ModelEvents]], type[ModelEvents]]:
    """Class decorator: ``@register(Order) class OrderEvents(ModelEvents): ...``."""

    def wrapper(config_class: type[ModelEvents]) -> type[ModelEvents]:
        registry.register(model, config_class)
        return config_class

    return wrapper


def emit_for_instance(
    instance: models.Model,
    event_type: str,
    *,
    changes: Mapping | None = None,
    project: Any = None,
    idempotency_key: str | None = None,
) -> Event | None:
    """Emit ``event_type`` for a registered model instance, using its registration's
    serializer and project. For domain events raised explicitly from host code (declare
    them in the registration's ``emits``, so their schema is known)."""
    return registry.get(type(instance)).emit(
        instance, event_type, changes=changes, project=project, idempotency_key=idempotency_key
    )


def _copied(value: Any) -> Any:
    return value if type(value) in _IMMUTABLE else copy.deepcopy(value)


def tracked_values(instance: models.Model) -> dict[str, Any]:
    """The tracked values of a registered model's instance; see :meth:`ModelEvents.values`."""
    return registry.get(type(instance)).values(instance)


def changes_between(
    model: type[models.Model], before: Mapping[str, Any], after: Mapping[str, Any]
) -> dict[str, dict]:
    """Rendered ``changes`` between two :func:`tracked_values` of one registered model."""
    return registry.get(model).diff(before, after)


def _post_init(sender, instance, **kwargs):
    registry.get(sender).snapshot(instance)


def _post_save(sender, instance, created, update_fields=None, raw=False, **kwargs):
    if raw:  # loaddata: fixtures are not events
        return
    config = registry.get(sender)
    if _muted.get():
        config.snapshot(instance)
        return
    config.on_save(instance, created, update_fields)


def _pre_delete(sender, instance, **kwargs):
    if not _muted.get():
        registry.get(sender).on_delete(instance)


def _m2m_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    if _muted.get():
        return
    owner = model if reverse else type(instance)
    config = registry._models.get(owner)
    if config is None:
        return
    for field_name in config.m2m_events:
        if owner._meta.get_field(field_name).remote_field.through is sender:
            config.on_m2m(instance, field_name, action, reverse, pk_set, model)
