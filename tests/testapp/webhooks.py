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

    def serialize(self, item: Item) -> dict:
        return {"uuid": str(item.uuid), "title": item.title, "done": item.done}
