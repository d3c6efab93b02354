"""Validation of what a webhook is given (its URL, signature schemes and headers), shared
by the model, the API and the admin."""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from webhooks_app.engine.addresses import blocked_reason, ip_literal
from webhooks_app.signing import (
    ED25519,
    JSON_ONLY_SCHEMES,
    RESERVED_HEADERS,
    SCHEMES,
    SECRET_PREFIX,
    ed25519_available,
)

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
        raise ValidationError(
            f"Deliveries may not be sent there: {reason}. The site's "
            "WEBHOOKS['ALLOWED_NETWORKS'] setting lets a network through.",
            code="blocked",
        )
    return value


def validate_https_only(url: str, https_only: bool) -> None:
    """A webhook that is HTTPS-only takes no http:// URL."""
    if https_only and urlsplit(url).scheme != "https":
        raise ValidationError(
            "This webhook is HTTPS-only: enter an https:// URL, or untick “HTTPS only”.",
            code="https_only",
        )


# An entered secret: Standard Webhooks' form (whsec_ + base64 of 24 to 64 random bytes,
# its libraries' own bounds), or a plain one as iceScrum accepts, long and varied enough
# that it cannot be guessed. The column holds 120 characters.
SECRET_BYTES = (24, 64)
PLAIN_SECRET_LENGTH = (32, 100)
PLAIN_SECRET_DISTINCT = 10
_PLAIN_SECRET = re.compile(r"[\x21-\x7e]+")


def validate_secret(value: str) -> str:
    """A secret a manager enters instead of a generated one."""
    if value.startswith(SECRET_PREFIX):
        try:
            key = base64.b64decode(value[len(SECRET_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError(
                "After whsec_ a secret is base64 (A-Z, a-z, 0-9, +, / and = padding).",
                code="secret_format",
            ) from None
        low, high = SECRET_BYTES
        if not low <= len(key) <= high:
            raise ValidationError(
                f"A whsec_ secret holds {low} to {high} random bytes; this one holds {len(key)}.",
                code="secret_strength",
            )
        return value
    low, high = PLAIN_SECRET_LENGTH
    if not _PLAIN_SECRET.fullmatch(value):
        raise ValidationError(
            "A secret is printable ASCII with no spaces (or whsec_ and base64).",
            code="secret_format",
        )
    if not low <= len(value) <= high or len(set(value)) < PLAIN_SECRET_DISTINCT:
        raise ValidationError(
            f"Too weak: a secret is {low} to {high} characters, with at least "
            f"{PLAIN_SECRET_DISTINCT} different ones (or whsec_ and base64 of random bytes).",
            code="secret_strength",
        )
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


# Headers the sender sets itself: a webhook's own headers may not replace them.
_SENDER_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "content-encoding",
        "transfer-encoding",
        "connection",
        "host",
        "user-agent",
        "x-header",
        "x-webhook-event",
        "x-webhook-delivery",
    }
)
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}")
_HEADER_VALUE = re.compile(r"[\x20-\x7e\t]{0,1000}")
MAX_HEADERS = 20


def validate_signature_schemes(value: object) -> None:
    """A non-empty list of distinct signature scheme names."""
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValidationError(
            "Choose one or more signature schemes: %(choices)s.",
            code="schemes",
            params={"choices": ", ".join(SCHEMES)},
        )
    unknown = [v for v in value if v not in SCHEMES]
    if unknown:
        raise ValidationError(
            "Unknown signature scheme %(unknown)s; one of: %(choices)s.",
            code="schemes",
            params={"unknown": ", ".join(map(repr, unknown)), "choices": ", ".join(SCHEMES)},
        )
    if len(set(value)) != len(value):
        raise ValidationError("A signature scheme is named twice.", code="schemes")
    if ED25519 in value and not ed25519_available():
        raise ValidationError(
            "ed25519 signatures need the cryptography package on this server "
            "(pip install 'django-webhooks-app[ed25519]').",
            code="schemes",
        )


FORM = "form"


def body_format_refusal(signatures: object, content_type: object) -> str | None:
    """Why a webhook may not combine these signature schemes and body format, or None.

    The one rule, for the model's forms, the API and the operations: every combination
    a webhook can be given must verify with each scheme's reference library used with
    its default options, and Standard Webhooks' (PyPI ``standardwebhooks``) parses the
    body it verifies as JSON, so it refuses every form-encoded body. Webhooks stored
    before this rule keep being sent as they are (check ``webhooks_app.W004``)."""
    if content_type != FORM or not isinstance(signatures, (list, tuple)):
        return None
    clashing = [scheme for scheme in signatures if scheme in JSON_ONLY_SCHEMES]
    if not clashing:
        return None
    return (
        f"Form-encoded bodies cannot be signed with {' or '.join(clashing)}: Standard "
        "Webhooks libraries parse the body as JSON, so they would reject every delivery. "
        "Send JSON, or sign with hex, github, agiletune or icescrum only."
    )


def validate_extra_headers(value: object) -> None:
    """Header names and values that cannot break the request or pose as the sender's."""
    if not isinstance(value, dict):
        raise ValidationError("Give headers as an object of name: value.", code="headers")
    if len(value) > MAX_HEADERS:
        raise ValidationError(f"At most {MAX_HEADERS} headers.", code="headers")
    seen: set[str] = set()
    for name, header_value in value.items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise ValidationError(
                "%(name)r is not a valid header name.", code="headers", params={"name": name}
            )
        lowered = name.lower()
        if lowered in _SENDER_HEADERS or lowered in RESERVED_HEADERS:
            raise ValidationError(
                "%(name)s is set by the sender and cannot be replaced.",
                code="headers",
                params={"name": name},
            )
        if lowered in seen:
            raise ValidationError("%(name)s is given twice.", code="headers", params={"name": name})
        seen.add(lowered)
        if not isinstance(header_value, str) or not _HEADER_VALUE.fullmatch(header_value):
            raise ValidationError(
                "The value of %(name)s must be printable text of at most 1000 characters.",
                code="headers",
                params={"name": name},
            )
