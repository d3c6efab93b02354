"""One exception hierarchy, rooted in :class:`WebhookError`."""

from django.core.exceptions import ImproperlyConfigured


class WebhookError(Exception):
    """Base class of every error this app raises."""


class WebhookConfigurationError(WebhookError, ImproperlyConfigured):
    """The ``WEBHOOKS`` setting or a model registration is wrong."""


class UnknownEventError(WebhookError, ValueError):
    """An event type that is not in the catalog."""

    def __init__(self, event_type: str):
        self.event_type = event_type
        super().__init__(f"Unknown webhook event {event_type!r}: it is not in the event catalog.")


class SignatureVerificationError(WebhookError):
    """A received webhook's signature or timestamp did not verify."""


class BlockedDestinationError(WebhookError):
    """A webhook URL resolved to an address that deliveries may not reach (SSRF guard)."""


class ActivationRefused(WebhookError):
    """The host's activation rule (e.g. a plan gate) refuses enabling this endpoint."""
