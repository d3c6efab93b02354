"""Whose message an id belongs to: ids are unique per sender, not across senders, so a
receiver of several tenants keeps one namespace of ids per tenant."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from webhooks_app.exceptions import SignatureVerificationError
from webhooks_app.signing import verify

FINGERPRINT_PREFIX = "secret:"
ANY_AGE = 10**10


def fingerprint(secret: str) -> str:
    """A stable name for a secret that reveals nothing of it (a truncated SHA-256 of a
    32-byte random key): the inbox and the admin show it, never the secret."""
    digest = hashlib.sha256(b"webhooks_app.inbox scope\x00" + secret.encode()).hexdigest()
    return FINGERPRINT_PREFIX + digest[:32]


def secret_scope(
    body: bytes,
    headers: Mapping[str, str],
    secrets_: str | Iterable[str],
    *,
    schemes: Iterable[str],
) -> str:
    """The fingerprint of the first of ``secrets_`` that verifies this request, which
    ``verify()`` accepted already: with per-tenant secrets, each tenant's ids are its own."""
    candidates = [secrets_] if isinstance(secrets_, str) else list(secrets_)
    for candidate in candidates[:-1]:
        try:
            # Which key signed, not whether it is fresh: that was checked already.
            verify(body, headers, [candidate], schemes=schemes, tolerance=ANY_AGE)
        except SignatureVerificationError:
            continue
        return fingerprint(candidate)
    return fingerprint(candidates[-1])
