"""Which saves emit which events: found by webhooks_app when Django starts."""

from webhooks_app.registry import ModelEvents, register

from .models import Order


@register(Order)
class OrderEvents(ModelEvents):
    project_field = "store"
    created = "orders.created"
    emits = ("orders.shipped",)  # Order.ship() emits it explicitly
    # serialize() builds the dict, so the schema receivers get (manage.py
    # webhooks_schema) is declared here.
    schema = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "customer": {"type": "string", "format": "email"},
            "total": {"type": "string", "description": "Decimal, as a string"},
            "shipped_at": {"type": ["string", "null"], "format": "date-time"},
        },
        "required": ["id", "customer", "total", "shipped_at"],
    }
    example = {"id": 1, "customer": "ada@example.com", "total": "12.50", "shipped_at": None}

    def serialize(self, order: Order) -> dict:
        return order.as_webhook_data()
