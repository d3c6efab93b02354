"""One exception hierarchy, rooted in :class:`WebhookError`.

Standard library only, so that :mod:`webhooks_app.signing` runs without Django. The one
error that is also Django's, :class:`~webhooks_app.conf.WebhookConfigurationError` (an
``ImproperlyConfigured``), lives with the configuration.
"""


class WebhookError(Exception):
    """Base class of every error this app raises."""


class UnknownEventError(WebhookError, ValueError):
    """An event type that is not in the catalog."""

    def __init__(self, event_type: str):
        self.event_type = event_type
        super().__init__(f"Unknown webhook event {event_type!r}: it is not in the event catalog.")


class SignatureVerificationError(WebhookError):
    """A received webhook's signature or timestamp did not verify. ``reason`` is one of
    ``"no signature"``, ``"too old"``, ``"too new"`` and ``"mismatch"``."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message or reason)
        self.reason = reason


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
