"""One exception hierarchy, rooted in :class:`WebhookError`.

Standard library only. The root and :class:`SignatureVerificationError` are defined in
:mod:`webhooks_app.signing`, which receivers copy alone and which therefore can import
nothing of this package, and are re-exported here, their home for everyone else: there is
one class of each, whichever module it is imported from. The one error that is also
Django's, :class:`~webhooks_app.conf.WebhookConfigurationError` (an
``ImproperlyConfigured``), lives with the configuration.
"""

from webhooks_app.signing import SignatureVerificationError, WebhookError

__all__ = [
    "ActivationRefused",
    "BlockedDestinationError",
    "DeliveryInFlight",
    "SignatureVerificationError",
    "UnknownEventError",
    "UnknownEventPattern",
    "WebhookError",
]


class UnknownEventError(WebhookError, ValueError):
    """An event type that is not in the catalog."""

    def __init__(self, event_type: str):
        self.event_type = event_type
        super().__init__(f"Unknown webhook event {event_type!r}: it is not in the event catalog.")


class BlockedDestinationError(WebhookError):
    """A webhook URL resolved to an address that deliveries may not reach (SSRF guard)."""


class ActivationRefused(WebhookError):
    """The host's activation rule (e.g. a plan gate) refuses enabling this endpoint."""


class DeliveryInFlight(WebhookError):
    """A worker is sending this delivery right now; it is not taken from under it."""


class UnknownEventPattern(WebhookError, ValueError):
    """A subscription pattern that selects no event of the catalog."""


class InvalidIdempotencyKey(WebhookError, ValueError):
    """An ``idempotency_key`` given to ``emit()`` that is not a short non-empty string."""
