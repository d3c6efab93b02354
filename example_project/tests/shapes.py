"""Comparing payloads with the documented JSON, key by key and type by type.

The documented examples live in ``fixtures/seeds/`` beside this file (copied verbatim
from the GitScrum pages in /work/shared/seeds) and ``fixtures/designed/`` (the resources
the README designs for comments, attachments, videos and discussion votes).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"

# The superset of the two documented date objects: {date_for_humans, timezone} on the
# payload format page, {date_for_humans, iso8601, timestamp} on the sprints.store page.
DATE_OBJECT = {"date_for_humans": "", "iso8601": "", "timestamp": 0, "timezone": ""}

# What the seeds' field tables document as "object/null", "string/null", "string or
# null" or "object or null", or show as null in the "Null Values" example: the path, and
# the shape of its value when it is not null.
DOCUMENTED_NULLS: dict[str, dict[str, Any]] = {
    "board_task": {
        "config_sprint": {"title": ""},
        "config_user_story": {"title": ""},
        "due_date": "",
    },
    "sprint": {"description": "", "closed_at": DATE_OBJECT, "status.description": ""},
}


def load(name: str, folder: str = "seeds") -> dict[str, Any]:
    """A documented resource (unwrapped from ``{"data": ...}`` where the page wraps it)."""
    document = json.loads((FIXTURES / folder / f"{name}.json").read_text())
    if set(document) == {"data"}:
        return document["data"]
    return document


def merged(first: Mapping, second: Mapping) -> dict[str, Any]:
    """Both documents' keys; nested objects are merged the same way."""
    out = dict(first)
    for key, value in second.items():
        if isinstance(out.get(key), Mapping) and isinstance(value, Mapping):
            out[key] = merged(out[key], value)
        else:
            out.setdefault(key, value)
    return out


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"{type(value).__name__} is not a JSON type")


def shape_errors(
    actual: Any,
    expected: Any,
    *,
    nullable: Mapping[str, Any] | None = None,
    items: Mapping[str, Any] | None = None,
    path: str = "",
) -> list[str]:
    """Every difference of keys or JSON types between ``actual`` and ``expected``.

    ``nullable``: paths that may be null, with the shape of their non-null value.
    ``items``: the element shape of arrays the documentation shows empty.
    A documented date object is compared with the four-key superset.
    """
    nullable = nullable or {}
    items = items or {}
    where = path or "<root>"
    if path in nullable:
        if actual is None:
            return []
        expected = nullable[path] if expected is None else expected
    if isinstance(expected, Mapping) and "date_for_humans" in expected:
        expected = DATE_OBJECT
    if json_type(actual) != json_type(expected):
        return [f"{where}: {json_type(actual)} where the documentation has {json_type(expected)}"]
    errors: list[str] = []
    if isinstance(expected, Mapping):
        missing = sorted(set(expected) - set(actual))
        extra = sorted(set(actual) - set(expected))
        if missing:
            errors.append(f"{where}: missing keys {missing}")
        if extra:
            errors.append(f"{where}: undocumented keys {extra}")
        for key in sorted(set(expected) & set(actual)):
            sub = f"{path}.{key}" if path else key
            errors += shape_errors(
                actual[key], expected[key], nullable=nullable, items=items, path=sub
            )
    elif isinstance(expected, list):
        element = expected[0] if expected else items.get(path)
        if element is not None:
            for value in actual:
                errors += shape_errors(
                    value, element, nullable=nullable, items=items, path=f"{path}[]"
                )
    return errors


def assert_same_shape(actual: Any, expected: Any, **options: Any) -> None:
    errors = shape_errors(actual, expected, **options)
    assert not errors, "Payload differs from the documentation:\n  " + "\n  ".join(errors)


# -- the documented resource of each event --------------------------------------------


def sprint_resource() -> dict[str, Any]:
    """The full SprintResource with the short Sprint resource's keys added."""
    return merged(load("sprint"), load("sprint_short"))


def expected_resource(event_type: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(documented example, options for :func:`assert_same_shape`) for an event's data."""
    family = event_type.split(".", 1)[0]
    if family == "issues":
        return load("board_task"), {"nullable": DOCUMENTED_NULLS["board_task"]}
    if family == "sprints":
        sprint = sprint_resource()
        return sprint, {"nullable": DOCUMENTED_NULLS["sprint"], "items": {"users": sprint["user"]}}
    if family == "user-stories":
        return load("user_story"), {}
    if family == "time-tracking":
        # "Fields without data are set to null" (payload format page): a running timer
        # has not stopped.
        return load("time_tracking"), {"nullable": {"stopped_at": ""}}
    designed = {
        "comments": "comment",
        "attachments": "attachment",
        "videos": "video",
        "discussions": "discussion_vote",
    }
    return load(designed[family], "designed"), {}
