"""Which changes of the published schemas break a receiver: the current OpenAPI
document (:mod:`webhooks_app.schemas`) against a committed snapshot of it.

What is sent to receivers (each event's body) breaks them when an event is gone, a key
is gone or no longer always sent, or a value may now be of a type it could not be
before (null included). What receivers send back (a response's schema, where a host
declares one) breaks them when a required key is added or a type is no longer accepted.
Adding keys and events, or sending fewer types than before, breaks nobody.

Each problem names the event and the JSON path: ``issues.store: $.data.user.name
removed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Schema = Mapping[str, Any]
SENT, RECEIVED = "sent", "received"


def breaking_changes(snapshot: Schema, current: Schema) -> list[str]:
    """Every change from ``snapshot`` to ``current`` (OpenAPI documents) that breaks a
    receiver of an event the snapshot publishes."""
    problems: list[str] = []
    now = current.get("webhooks", {})
    for event, was in snapshot.get("webhooks", {}).items():
        if event not in now:
            problems.append(f"{event}: event removed")
            continue
        before, after = _body_schema(was), _body_schema(now[event])
        problems += [f"{event}: {p}" for p in compare(before, after, "$", SENT)]
        for status, answer in _answer_schemas(was).items():
            later = _answer_schemas(now[event]).get(status, {})
            problems += [f"{event}: {p}" for p in compare(answer, later, f"{status} $", RECEIVED)]
    return problems


def _body_schema(operation: Schema) -> Schema:
    content = operation.get("post", {}).get("requestBody", {}).get("content", {})
    return content.get("application/json", {}).get("schema", {})


def _answer_schemas(operation: Schema) -> dict[str, Schema]:
    found = {}
    for status, answer in operation.get("post", {}).get("responses", {}).items():
        schema = answer.get("content", {}).get("application/json", {}).get("schema")
        if schema is not None:
            found[status] = schema
    return found


def compare(before: Schema, after: Schema, path: str, direction: str) -> list[str]:
    """The breaking differences between two JSON Schemas of one value at ``path``."""
    before, after = _flattened(before), _flattened(after)
    problems = _type_changes(before, after, path, direction)
    problems += _key_changes(before, after, path, direction)
    if "items" in before:
        problems += compare(before["items"], after.get("items", {}), f"{path}[]", direction)
    return problems


def _type_changes(before: Schema, after: Schema, path: str, direction: str) -> list[str]:
    was, now = _values(before), _values(after)
    if direction == RECEIVED:
        was, now = now, was  # what receivers may send must still be accepted
    if was is None or (now is not None and now <= was):
        return []
    return [f"{path} type changed from {_show(before)} to {_show(after)}"]


def _key_changes(before: Schema, after: Schema, path: str, direction: str) -> list[str]:
    problems = []
    old, new = before.get("properties", {}), after.get("properties", {})
    old_required, new_required = set(before.get("required", ())), set(after.get("required", ()))
    for key, schema in old.items():
        where = f"{path}.{key}"
        if key not in new and direction == SENT:
            problems.append(f"{where} removed")
            continue
        if direction == SENT and key in old_required and key not in new_required:
            problems.append(f"{where} no longer always sent")
        if key in new:
            problems += compare(schema, new[key], where, direction)
    if direction == RECEIVED:
        for key in sorted(new_required - old_required):
            problems.append(f"{path}.{key} required key added")
    return problems


def _flattened(schema: Schema) -> Schema:
    """``{"anyOf": [s, {"type": "null"}]}`` (a nullable object) read as ``s`` or null."""
    options = schema.get("anyOf")
    if not options or len(options) != 2 or {"type": "null"} not in options:
        return schema
    (other,) = [option for option in options if option != {"type": "null"}]
    merged = dict(_flattened(other))
    if "type" in merged:
        merged["type"] = sorted({*_as_list(merged["type"]), "null"})
    return merged


def _values(schema: Schema) -> set | None:
    """What a value may be, as a set of JSON types or constants (None: anything)."""
    if "const" in schema:
        return {("const", repr(schema["const"]))}
    if "enum" in schema:
        return {("const", repr(value)) for value in schema["enum"]}
    if "type" in schema:
        kinds = set(_as_list(schema["type"]))
        if "number" in kinds:
            kinds.add("integer")  # an integer is a number
        return kinds
    if "anyOf" in schema:
        found: set = set()
        for option in schema["anyOf"]:
            values = _values(option)
            if values is None:
                return None
            found |= values
        return found
    return None


def _show(schema: Schema) -> str:
    if "const" in schema or "enum" in schema:
        return repr(schema.get("const", schema.get("enum")))
    if "type" not in schema:
        return "anything" if "anyOf" not in schema else "anyOf"
    return "/".join(_as_list(schema["type"]))


def _as_list(value: Any) -> list:
    return [value] if isinstance(value, str) else list(value)
