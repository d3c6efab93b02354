"""Which saves emit which events: found by webhooks_app when Django starts."""

from webhooks_app.registry import ModelEvents, register

from .models import Order


@register(Order)
class OrderEvents(ModelEvents):
    project_field = "store"
    created = "orders.created"

    def serialize(self, order: Order) -> dict:
        return order.as_webhook_data()
