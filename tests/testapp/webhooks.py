"""How the test host's model changes become events (autodiscovered)."""

from __future__ import annotations

from webhooks_app.registry import ModelEvents, register

from .models import Item


@register(Item)
class ItemEvents(ModelEvents):
    created = "items.store"
    updated = "items.update"
    deleted = "items.destroy"
    field_events = {"done": "items.done", "project": "items.move"}
    m2m_events = {"tags": ("items.tags.add", "items.tags.remove")}
    # serialize() builds the dict, so its schema is declared here.
    schema = {
        "type": "object",
        "properties": {
            "uuid": {"type": "string", "format": "uuid"},
            "title": {"type": "string"},
            "done": {"type": "boolean"},
        },
        "required": ["uuid", "title", "done"],
    }
    example = {"uuid": "6f1c1b9e-8d7f-4d8e-9a53-1f0b6c1c2d3e", "title": "Ship it", "done": False}

    def serialize(self, item: Item) -> dict:
        return {"uuid": str(item.uuid), "title": item.title, "done": item.done}
