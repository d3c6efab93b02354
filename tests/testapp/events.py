"""The test host's event catalog (``WEBHOOKS["EVENTS"]``)."""

EVENTS = [
    ("items.store", "Item created", "Item events"),
    ("items.update", "Item updated", "Item events"),
    ("items.done", "Item marked done or not", "Item events"),
    ("items.move", "Item moved to another project", "Item events"),
    ("items.destroy", "Item deleted", "Item events"),
    ("items.tags.add", "Tag added to an item", "Tag events"),
    ("items.tags.remove", "Tag removed from an item", "Tag events"),
]
