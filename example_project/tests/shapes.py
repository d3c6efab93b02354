"""Comparing payloads with the documented JSON, key by key and type by type.

Two kinds of documentation: GitScrum's pages, copied verbatim into ``fixtures/seeds/``
(the payload format page's short resources, the sprints.store page's SprintResource),
and PAYLOADS.md's example of each resource, marked ``<!-- resource: name -->``, which is
what the product sends. Payloads must match them exactly; those examples
must contain every key of GitScrum's pages, with the same type.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from example_project.agile.examples import RESOURCES, example_of

FIXTURES = Path(__file__).parent / "fixtures"

# The superset of the two documented date objects: {date_for_humans, timezone} on the
# payload format page, {date_for_humans, iso8601, timestamp} on the sprints.store page.
DATE_OBJECT = {"date_for_humans": "", "iso8601": "", "timestamp": 0, "timezone": ""}

# GitScrum's pages that document (part of) a resource.
SEEDS = {
    "board_task": ["board_task"],
    "sprint": ["sprint", "sprint_short"],
    "user_story": ["user_story"],
    "time_tracking": ["time_tracking"],
}


def load(name: str, folder: str = "seeds") -> dict[str, Any]:
    """A page's resource (unwrapped from ``{"data": ...}`` where the page wraps it)."""
    document = json.loads((FIXTURES / folder / f"{name}.json").read_text())
    if set(document) == {"data"}:
        return document["data"]
    return document


# GitScrum's full user object (the sprints.store page's).
_USER = load("sprint")["user"]
_REFERENCE = {"uuid": "", "code": "", "slug": "", "title": ""}
_CATALOG_ENTRY = {"title": "", "color": ""}

# What may be null (the seeds' "object/null", "string or null"..., and PAYLOADS.md's
# "Nulls"): the path, and the shape of its value when it is not null.
DOCUMENTED_NULLS: dict[str, dict[str, Any]] = {
    "board_task": {
        "config_sprint": _REFERENCE,
        "config_user_story": _REFERENCE,
        "due_date": "",
        "user": _USER,
        "parent_id": 0,
        "parent": {"uuid": "", "code": "", "title": ""},
        "start_date": DATE_OBJECT,
        "completed_date": DATE_OBJECT,
        "completed_user": _USER,
        "stats.checklist_percentage": 0,
        "type": _CATALOG_ENTRY,
        "priority": _CATALOG_ENTRY,
        "workflow": {},
        "effort": {},
    },
    "sprint": {"description": "", "closed_at": DATE_OBJECT, "status.description": ""},
    "user_story": {
        "epic": {
            "uuid": "",
            "title": "",
            "color": "",
            "stats": {"user_stories": 0},
            "user": _USER,
            "created_at": DATE_OBJECT,
        },
        "priority": "",
    },
    "time_tracking": {"stopped_at": "", "time": ""},
    "attachment": {"description": ""},
    "video": {"video_id": "", "thumbnail": ""},
}


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


def seed_errors(example: Any, seed: Any, **options: Any) -> list[str]:
    """What ``example`` lacks of a GitScrum page's ``seed``, or types differently."""
    return [e for e in shape_errors(example, seed, **options) if "undocumented keys" not in e]


def options_for(name: str, example: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`assert_same_shape` options for a resource: its nulls, and the element of
    the arrays its example shows empty (users are users; replies are comments)."""
    items = {"users": example.get("user", {}), "replies": example}
    return {"nullable": DOCUMENTED_NULLS.get(name, {}), "items": items}


def expected_resource(event_type: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(PAYLOADS.md's example, options for :func:`assert_same_shape`) of an event's data."""
    name = RESOURCES[event_type.split(".", 1)[0]]
    example = example_of(event_type)
    assert example is not None, "PAYLOADS.md documents every resource"
    return example, options_for(name, example)


def assert_documented(data: Any, event_type: str) -> None:
    """``data`` has the shape PAYLOADS.md documents for ``event_type``'s resource."""
    example, options = expected_resource(event_type)
    assert_same_shape(data, example, **options)


def check_dump(folder: Path) -> list[str]:
    """What is wrong with the requests ``make demo DUMP=folder`` wrote: each payload
    against PAYLOADS.md's example of its resource and against GitScrum's pages."""
    problems = []
    files = sorted(folder.glob("*.json"))
    for path in files:
        body = json.loads(path.read_text())["body"]
        event, data = body["event"], body["data"]
        example, options = expected_resource(event)
        errors = shape_errors(data, example, **options)
        for seed in SEEDS.get(RESOURCES[event.split(".", 1)[0]], []):
            errors += [f"{seed} page: {e}" for e in seed_errors(data, load(seed), **options)]
        errors += schema_errors(body)
        problems += [f"{event}: {error}" for error in errors]
    events = {path.stem for path in files}
    if len(events) != 26:
        problems.append(f"{len(events)} events in {folder}, not 26")
    return problems


SNAPSHOT = Path(__file__).resolve().parents[1] / "webhook_schemas.json"


def schema_errors(body: Mapping[str, Any]) -> list[str]:
    """What of ``body`` its event's published schema (the committed snapshot, which the
    tests keep equal to ``manage.py webhooks_schema``) refuses."""
    from jsonschema import Draft202012Validator

    operation = json.loads(SNAPSHOT.read_text())["webhooks"][body["event"]]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    return [
        f"schema: {error.json_path}: {error.message}"
        for error in Draft202012Validator(schema).iter_errors(body)
    ]


def main(argv: Sequence[str]) -> int:
    """``python -m example_project.tests.shapes DIR``: check a demo's dump."""
    if len(argv) != 1:
        print("usage: python -m example_project.tests.shapes DIR", file=sys.stderr)
        return 2
    folder = Path(argv[0])
    problems = check_dump(folder)
    for problem in problems:
        print(problem)
    count = len(list(folder.glob("*.json")))
    verdict = "differ from" if problems else "match"
    print(
        f"{count} payloads in {folder} {verdict} PAYLOADS.md's examples, GitScrum's pages "
        "and the published event schemas"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
