"""Validation of endpoint URLs, shared by the API and the admin."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from webhooks_app.addresses import blocked_reason, ip_literal

# Whitespace and control characters: a CR or LF would end up inside a request line or a
# header (the API's Location header included).
_UNSAFE = re.compile(r"[\x00-\x20\x7f]")


def validate_endpoint_url(value: str) -> str:
    """An http(s) URL with a valid host, no credentials, and no blocked address literal.

    Host names are not resolved here: the transport checks every resolved address when
    it connects, which is the check DNS rebinding cannot get around.
    """
    if _UNSAFE.search(value):
        raise ValidationError(
            "The URL must not contain spaces or control characters.", code="characters"
        )
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (a port out of range raises here)
    except ValueError:
        raise ValidationError("Enter a valid URL.", code="invalid") from None
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
    literal = ip_literal(parts.hostname)
    if literal is None:
        _validate_host_name(parts.hostname)
    elif reason := blocked_reason(str(literal)):
        raise ValidationError(f"Deliveries may not be sent there: {reason}.", code="blocked")
    return value


def _validate_host_name(host: str) -> None:
    """A name the resolver can be asked about: IDNA-encodable, labels of 1 to 63 bytes."""
    try:
        encoded = host.rstrip(".").encode("idna")
    except UnicodeError:
        encoded = b""
    labels = encoded.split(b".")
    if not encoded or len(encoded) > 253 or not all(0 < len(label) <= 63 for label in labels):
        raise ValidationError("The URL's host name is not valid.", code="host")
