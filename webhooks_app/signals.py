"""Public signals. Receivers run after the surrounding transaction commits."""

from django.dispatch import Signal

# An event was recorded and its deliveries queued.
# Arguments: sender (the Event class), event (Event), deliveries (int: how many webhooks).
event_emitted = Signal()

# One HTTP attempt finished, whatever its outcome.
# Arguments: sender (the DeliveryLog class), log (DeliveryLog).
delivery_attempted = Signal()

# A delivery ran out of retries (or its endpoint is gone) and will not be retried.
# Arguments: sender (the Delivery class), delivery (Delivery), log (DeliveryLog).
delivery_failed = Signal()

# A webhook was disabled, by hand or automatically.
# Arguments: sender (the Webhook class), webhook (Webhook), reason (the WebhookStatus
# it now has: "disabled", "auto-disabled" or "gone"), detail (str: why, e.g. the last
# error).
webhook_disabled = Signal()

# Internal: webhooks or subscriptions changed in a way that may change who receives
# which events (sent by the model querysets; webhooks_app.engine.routing listens).
routes_changed = Signal()
