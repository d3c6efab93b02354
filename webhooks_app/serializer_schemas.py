"""JSON Schemas (draft 2020-12, OpenAPI 3.1's dialect) read from what a host declares:
DRF serializers, their fields, and the return annotations of ``get_<field>`` methods and
custom fields' ``to_representation``.

A serializer's output always carries every readable field, so each is ``required``; a
field declared ``allow_null=True`` may be ``null``. Objects stay open (no
``additionalProperties: false``): a key added later does not break a receiver.

Where the declaration says too little (a method annotated ``-> dict``), say more with
:func:`returns` on the method, a ``json_schema`` attribute on a custom field, or a
``TypedDict`` annotation.
"""

from __future__ import annotations

import datetime
import decimal
import types
import typing
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import models
from rest_framework import serializers

Schema = dict[str, Any]

_SCALARS: tuple[tuple[type, Schema], ...] = (
    (bool, {"type": "boolean"}),  # before int: bool is an int
    (int, {"type": "integer"}),
    (float, {"type": "number"}),
    (str, {"type": "string"}),
    (datetime.datetime, {"type": "string", "format": "date-time"}),  # before date
    (datetime.date, {"type": "string", "format": "date"}),
    (datetime.time, {"type": "string", "format": "time"}),
    (uuid.UUID, {"type": "string", "format": "uuid"}),
    (decimal.Decimal, {"type": "string"}),
)

# DRF's fields, most specific first (isinstance picks the first that matches).
_FIELDS: tuple[tuple[type, Schema], ...] = (
    (serializers.BooleanField, {"type": "boolean"}),
    (serializers.IntegerField, {"type": "integer"}),
    (serializers.FloatField, {"type": "number"}),
    (serializers.UUIDField, {"type": "string", "format": "uuid"}),
    (serializers.EmailField, {"type": "string", "format": "email"}),
    (serializers.URLField, {"type": "string", "format": "uri"}),
    (serializers.CharField, {"type": "string"}),
    (serializers.DateTimeField, {"type": "string", "format": "date-time"}),
    (serializers.DateField, {"type": "string", "format": "date"}),
    (serializers.TimeField, {"type": "string", "format": "time"}),
    (serializers.DurationField, {"type": "string"}),
    (serializers.StringRelatedField, {"type": "string"}),
    (serializers.SlugRelatedField, {"type": "string"}),
    (serializers.HyperlinkedRelatedField, {"type": "string", "format": "uri"}),
    (serializers.JSONField, {}),
    (serializers.ReadOnlyField, {}),
    (serializers.PrimaryKeyRelatedField, {}),
)


def returns(declared: Any) -> Callable[[Callable], Callable]:
    """Declare what a ``get_<field>`` method returns: a JSON Schema dict, a serializer
    instance (``UserSerializer(many=True)``) or a field instance::

        @returns(UserSerializer(many=True))
        def get_users(self, sprint) -> list[dict[str, Any]]: ...
    """

    def mark(method: Callable) -> Callable:
        method.json_schema = declared  # type: ignore[attr-defined]
        return method

    return mark


def serializer_schema(serializer: serializers.BaseSerializer | type) -> Schema:
    """The JSON Schema of what ``serializer`` (a class or an instance) renders."""
    if isinstance(serializer, type):
        serializer = serializer()
    return field_schema(serializer)


def field_schema(field: serializers.Field) -> Schema:
    schema = _bare_schema(field)
    if getattr(field, "allow_null", False):
        schema = nullable(schema)
    help_text = getattr(field, "help_text", None)
    if help_text and "description" not in schema:
        schema = {**schema, "description": str(help_text)}
    return schema


def _bare_schema(field: serializers.Field) -> Schema:
    declared = getattr(field, "json_schema", None)
    if declared is not None:
        return declared_schema(declared)
    if isinstance(field, serializers.ListSerializer):
        return {"type": "array", "items": field_schema(field.child)}
    if isinstance(field, serializers.Serializer):
        return _object_schema(field)
    if isinstance(field, serializers.SerializerMethodField):
        return _method_schema(field)
    return _container_schema(field) or _known_field_schema(field)


def _object_schema(serializer: serializers.Serializer) -> Schema:
    readable = {name: f for name, f in serializer.fields.items() if not f.write_only}
    return {
        "type": "object",
        "properties": {name: field_schema(f) for name, f in readable.items()},
        "required": list(readable),
    }


def _method_schema(field: serializers.SerializerMethodField) -> Schema:
    method = getattr(field.parent, field.method_name)
    declared = getattr(method, "json_schema", None)
    if declared is not None:
        return declared_schema(declared)
    return return_schema(method)


def _container_schema(field: serializers.Field) -> Schema | None:
    if isinstance(field, serializers.ManyRelatedField):
        return {"type": "array", "items": field_schema(field.child_relation)}
    if isinstance(field, serializers.MultipleChoiceField):
        return {"type": "array", "items": {"enum": list(field.choices)}}
    if isinstance(field, serializers.ChoiceField):
        return {"enum": list(field.choices)}
    if isinstance(field, serializers.ListField):
        return {"type": "array", "items": field_schema(field.child)}
    if isinstance(field, serializers.DictField):
        return {"type": "object", "additionalProperties": field_schema(field.child)}
    if isinstance(field, serializers.DecimalField):
        return {"type": "string"} if field.coerce_to_string else {"type": "number"}
    return None


def _known_field_schema(field: serializers.Field) -> Schema:
    for kind, schema in _FIELDS:
        if isinstance(field, kind):
            return dict(schema)
    return return_schema(field.to_representation)


def declared_schema(declared: Any) -> Schema:
    """A schema given with :func:`returns` or ``json_schema``: a dict, or a serializer
    or field to read one from."""
    if isinstance(declared, type) and issubclass(declared, serializers.Field):
        declared = declared()
    if isinstance(declared, serializers.Field):
        return field_schema(declared)
    return dict(declared)


def return_schema(function: Callable) -> Schema:
    """The schema of ``function``'s return annotation ({} when it has none)."""
    try:
        hints = typing.get_type_hints(function)
    except (NameError, TypeError):
        return {}
    return hint_schema(hints["return"]) if "return" in hints else {}


def hint_schema(hint: Any) -> Schema:
    """The JSON Schema of a type annotation."""
    if hint is None or hint is type(None):
        return {"type": "null"}
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return _union([hint_schema(arg) for arg in args])
    if origin is typing.Literal:
        return {"enum": list(args)}
    if typing.is_typeddict(hint):
        return _typed_dict_schema(hint)
    for kind, schema in _SCALARS:
        if hint is kind:
            return dict(schema)
    return _collection_schema(origin or hint, args)


def _collection_schema(kind: Any, args: tuple) -> Schema:
    if not isinstance(kind, type):
        return {}
    if issubclass(kind, Mapping):
        schema: Schema = {"type": "object"}
        if len(args) == 2 and args[1] is not Any:
            schema["additionalProperties"] = hint_schema(args[1])
        return schema
    if issubclass(kind, (Sequence, set, frozenset)) and not issubclass(kind, (str, bytes)):
        schema = {"type": "array"}
        if args and args[0] is not Any and args[-1] is not Ellipsis:
            schema["items"] = hint_schema(args[0])
        return schema
    return {}


def _typed_dict_schema(hint: Any) -> Schema:
    hints = typing.get_type_hints(hint)
    return {
        "type": "object",
        "properties": {name: hint_schema(value) for name, value in hints.items()},
        "required": [name for name in hints if name in hint.__required_keys__],
    }


def _union(schemas: list[Schema]) -> Schema:
    if any(not schema for schema in schemas):
        return {}  # one member is anything: so is the union
    simple = all(set(schema) == {"type"} for schema in schemas)
    if simple:
        found: list[str] = []
        for schema in schemas:
            for kind in _types(schema):
                if kind not in found:
                    found.append(kind)
        return {"type": found[0] if len(found) == 1 else found}
    nulls = [schema for schema in schemas if schema == {"type": "null"}]
    rest = [schema for schema in schemas if schema != {"type": "null"}]
    if len(rest) == 1:
        return nullable(rest[0]) if nulls else rest[0]
    return {"anyOf": schemas}


def _types(schema: Schema) -> list[str]:
    kind = schema.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)


def nullable(schema: Schema) -> Schema:
    """``schema``, or null."""
    if not schema:
        return schema
    if "enum" in schema:
        return {**schema, "enum": [*schema["enum"], None]} if None not in schema["enum"] else schema
    if "type" in schema:
        kinds = _types(schema)
        return schema if "null" in kinds else {**schema, "type": [*kinds, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


_MODEL_FIELDS: tuple[tuple[type, Schema], ...] = (
    (models.BooleanField, {"type": "boolean"}),
    (models.IntegerField, {"type": "integer"}),
    (models.AutoField, {"type": "integer"}),
    (models.FloatField, {"type": "number"}),
    (models.DecimalField, {"type": "string"}),
    (models.UUIDField, {"type": "string", "format": "uuid"}),
    (models.DateTimeField, {"type": "string", "format": "date-time"}),
    (models.DateField, {"type": "string", "format": "date"}),
    (models.TimeField, {"type": "string", "format": "time"}),
    (models.DurationField, {"type": "string"}),
    (models.CharField, {"type": "string"}),
    (models.TextField, {"type": "string"}),
)


def model_field_schema(field: models.Field) -> Schema:
    """The JSON Schema of a model field's value as DjangoJSONEncoder writes it (a
    foreign key as its target's pk)."""
    target = field.target_field if field.many_to_one or field.one_to_one else field
    schema: Schema = {}
    for kind, known in _MODEL_FIELDS:
        if isinstance(target, kind):
            schema = dict(known)
            break
    return nullable(schema) if field.null else schema
