"""The published contract of every event: a JSON Schema per event of the catalog, and
an OpenAPI 3.1 document whose ``webhooks`` section has one entry per event.

Nothing here is written by hand a second time. An event's ``data`` is described by the
model registration that emits it (its ``schema``, else its ``serializer_class`` read by
:mod:`webhooks_app.serializer_schemas`) or by the event itself (``EventType(...,
schema=...)``, ``catalog.register(..., schema=...)``); ``changes`` by the registration's
``field_events``, ``updated`` and ``m2m_events``. An event nobody describes gets an open
schema that says so.

``manage.py webhooks_schema`` prints the document, ``webhooks_app.api.schema_urls``
serves it, and :func:`merge_into` adds it to the API's own OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from webhooks_app.conf import webhook_settings
from webhooks_app.events import EventType, catalog
from webhooks_app.registry import ModelEvents, registry
from webhooks_app.signing import BODY_SCHEMES

Schema = dict[str, Any]

OPENAPI_VERSION = "3.1.0"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
EXAMPLE_TIMESTAMP = "2026-02-06T14:30:00Z"
UNDECLARED = "Not declared: no model registration or event schema describes it."


@dataclass(frozen=True)
class EventContract:
    event: EventType
    data: Schema | None  # None: nobody declared it
    changes: Schema | None  # None: the event carries no ``changes``
    example: Mapping[str, Any] | None


def contracts() -> list[EventContract]:
    """The contract of every event of the catalog, in the catalog's order."""
    emitters = _emitters()
    return [_contract(event, emitters.get(event.name)) for event in catalog]


def contract(event_type: str) -> EventContract:
    return _contract(catalog.get(event_type), _emitters().get(event_type))


def _emitters() -> dict[str, ModelEvents]:
    """The registration that emits each event (the first, if several do)."""
    found: dict[str, ModelEvents] = {}
    for config in registry:
        for name in config.event_types():
            found.setdefault(name, config)
    return found


def _contract(event: EventType, config: ModelEvents | None) -> EventContract:
    data, example, changes = event.schema, event.example, None
    if config is not None:
        data = data if data is not None else config.data_schema(event.name)
        example = example if example is not None else config.data_example(event.name)
        changes = config.changes_schema(event.name)
    return EventContract(event, dict(data) if data is not None else None, changes, example)


def envelope_schema(found: EventContract) -> Schema:
    """The JSON Schema of the whole body a receiver gets for this event."""
    properties: Schema = {
        "event": {"const": found.event.name},
        "timestamp": {"type": "string", "format": "date-time"},
        "data": found.data if found.data is not None else {"description": UNDECLARED},
    }
    required = ["event", "timestamp", "data"]
    if found.changes is not None:
        properties["changes"] = found.changes
        required.append("changes")
    return {
        "type": "object",
        "description": found.event.description,
        "properties": properties,
        "required": required,
    }


def example_envelope(found: EventContract) -> dict[str, Any] | None:
    if found.example is None:
        return None
    envelope: dict[str, Any] = {
        "event": found.event.name,
        "timestamp": EXAMPLE_TIMESTAMP,
        "data": found.example,
    }
    if found.changes is not None:
        envelope["changes"] = example_changes(found.changes)
    return envelope


def example_changes(schema: Schema) -> dict[str, Any]:
    """An example ``changes``: one change of the first field the schema names."""
    properties: dict[str, Schema] = schema.get("properties", {})
    name, change = next(iter(properties.items()), ("field", {}))
    if "from" in change.get("required", ()):
        kinds = change.get("properties", {}).get("from", {}).get("type", "null")
        kind = kinds if isinstance(kinds, str) else kinds[0]
        before, after = {"integer": (1, 2), "number": (1, 2), "boolean": (False, True)}.get(
            kind, ("old", "new") if kind == "string" else (None, None)
        )
        return {name: {"from": before, "to": after}}
    return {name: {"added": [1]}}


def signature_parameters() -> list[Schema]:
    """The headers every request carries, the signature headers among them."""
    standard = "Standard Webhooks signature scheme ('standard', on by default)"
    headers = [
        ("X-Webhook-Event", True, "The event's name, as in the body's `event`."),
        ("X-Webhook-Delivery", True, "This attempt's id (new on every retry)."),
        ("webhook-id", False, f"The message id, the same on every attempt: {standard}."),
        ("webhook-timestamp", False, f"Unix seconds when signed: {standard}."),
        ("webhook-signature", False, f"`v1,<base64 HMAC-SHA256>`, space-separated: {standard}."),
    ]
    for scheme, body_scheme in BODY_SCHEMES.items():
        headers.append(
            (body_scheme.header, False, f"HMAC of the body alone (the '{scheme}' scheme).")
        )
    return [
        {
            "name": name,
            "in": "header",
            "required": required,
            "description": description,
            "schema": {"type": "string"},
        }
        for name, required, description in headers
    ]


def webhook_operation(found: EventContract) -> Schema:
    media: Schema = {"schema": envelope_schema(found)}
    example = example_envelope(found)
    if example is not None:
        media["example"] = example
    return {
        "post": {
            "operationId": found.event.name,
            "summary": found.event.description,
            "tags": [found.event.category],
            "parameters": signature_parameters(),
            "requestBody": {"required": True, "content": {"application/json": media}},
            "responses": {
                "2XX": {"description": "Received. Any other answer, or none in time, is retried."},
                "410": {"description": "Gone: the webhook is disabled and gets nothing more."},
            },
        }
    }


def openapi_document(version: str = "1") -> Schema:
    """The OpenAPI 3.1 document of every event receivers may get."""
    product = webhook_settings.PRODUCT_NAME
    return {
        "openapi": OPENAPI_VERSION,
        "jsonSchemaDialect": JSON_SCHEMA_DIALECT,
        "info": {
            "title": f"{product} webhooks",
            "version": version,
            "description": f"The events {product} POSTs to webhook endpoints, signed.",
        },
        "webhooks": {found.event.name: webhook_operation(found) for found in contracts()},
    }


def merge_into(document: Schema) -> Schema:
    """Add the ``webhooks`` section to another OpenAPI document (the API's), which
    becomes OpenAPI 3.1. With drf-spectacular, set ``OAS_VERSION: "3.1.0"`` and list
    :func:`spectacular_postprocessing_hook` in ``POSTPROCESSING_HOOKS``."""
    ours = openapi_document()
    document["openapi"] = OPENAPI_VERSION
    document.setdefault("webhooks", {}).update(ours["webhooks"])
    return document


def spectacular_postprocessing_hook(result: Schema, generator: Any, **kwargs: Any) -> Schema:
    return merge_into(result)


def undeclared_events() -> list[str]:
    return [found.event.name for found in contracts() if found.data is None]
