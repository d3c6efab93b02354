"""The Django admin of webhooks: endpoints and their events (``webhooks``), what is owed
to each endpoint and the attempts made (``deliveries``), and events (``events``).

Everything an operator does here goes through :mod:`webhooks_app.operations`, takes
effect at once and says what happened: a test ping and a redelivery are sent from the
admin's own request (no worker needed), and their outcome comes back as a message.
"""

from webhooks_app.admin import deliveries, events, webhooks

__all__ = ["deliveries", "events", "webhooks"]
