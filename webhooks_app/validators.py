"""Validation of endpoint URLs, shared by the API and the admin."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from webhooks_app.addresses import blocked_reason


def validate_endpoint_url(value: str) -> str:
    """An http(s) URL with a host, no credentials, and no blocked address literal.

    Host names are not resolved here: the transport checks every resolved address when
    it connects, which is the check DNS rebinding cannot get around.
    """
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise ValidationError("Enter an http:// or https:// URL.", code="scheme")
    if not parts.hostname:
        raise ValidationError("The URL has no host.", code="host")
    if parts.username or parts.password:
        # Credentials in a URL end up in logs and in every delivery log's request record.
        raise ValidationError(
            "The URL must not contain credentials; the receiver verifies the signature instead.",
            code="credentials",
        )
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        literal = None
    if literal is not None and (reason := blocked_reason(str(literal))):
        raise ValidationError(f"Deliveries may not be sent there: {reason}.", code="blocked")
    return value
