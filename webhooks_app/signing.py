"""Signing outgoing webhooks, and verifying them on the receiving side.

Pure standard library on purpose: a receiver can vendor this one module.

Each webhook chooses its schemes (:data:`SCHEMES`); ``standard`` is on unless turned off:

* ``standard``, Standard Webhooks (``webhook-id``, ``webhook-timestamp``,
  ``webhook-signature``): ``v1,`` + base64 HMAC-SHA256 of ``"{id}.{timestamp}.{body}"``
  keyed with the base64-decoded part of a ``whsec_`` secret. Binding the id and
  timestamp into the signature is what lets receivers reject replays.
* Schemes that sign the body alone, keyed with the secret string's UTF-8 bytes, for
  receivers written against other senders: ``hex`` (``X-Webhook-Signature-256:
  sha256=<hex>``), ``github`` (``X-Hub-Signature-256: sha256=<hex>``), ``agiletune``
  (``X-AgileTune-Signature: <hex>``) and ``icescrum`` (``x-icescrum-signature``, HMAC-SHA1
  in hex, beside ``x-icescrum-event``). They sign no timestamp, so a captured request
  verifies forever: :func:`verify` checks them only when asked to.

A header that holds one signature (every scheme but ``standard``) carries exactly one, at
every moment, because that is all the verifiers written for those schemes accept (GitHub's
documented check, octokit's ``verify``, iceScrum's and AgileTune's procedures). During a
secret rotation's overlap ``webhook-signature`` carries one signature per secret, the new
one first, space-separated as Standard Webhooks specifies, so a receiver holding either
secret verifies; the single-signature headers are signed with the previous secret until
the sender switches them to the new one (:func:`active_secrets` says which secret signs
what at any moment).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from webhooks_app.exceptions import SignatureVerificationError

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE = 300  # seconds; Standard Webhooks' recommendation


def generate_secret(nbytes: int = 32) -> str:
    """A new secret in Standard Webhooks form: ``whsec_`` + base64 of random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(nbytes)).decode("ascii")


def _key(secret: str) -> bytes:
    if secret.startswith(SECRET_PREFIX):
        return base64.b64decode(secret[len(SECRET_PREFIX) :])
    return secret.encode("utf-8")


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


def sign_standard(secret: str, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """One Standard Webhooks signature: ``v1,<base64>``."""
    signed = f"{msg_id}.{timestamp}.".encode() + _as_bytes(body)
    # The one-shot form: no HMAC object per request (OpenSSL's, for a named digest).
    digest = hmac.digest(_key(secret), signed, "sha256")
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def sign_hex(secret: str, body: bytes | str, digest: Any = hashlib.sha256) -> str:
    """Hex HMAC of the body (SHA-256 unless told), keyed with the secret's UTF-8 bytes."""
    return hmac.digest(secret.encode("utf-8"), _as_bytes(body), digest).hex()


@dataclass(frozen=True)
class BodyScheme:
    """A signature of the body alone, in one header."""

    header: str
    prefix: str = ""
    digest: Any = hashlib.sha256

    def sign(self, secret: str, body: bytes) -> str:
        return self.prefix + sign_hex(secret, body, self.digest)


STANDARD = "standard"
BODY_SCHEMES: dict[str, BodyScheme] = {
    "hex": BodyScheme("X-Webhook-Signature-256", "sha256="),
    "github": BodyScheme("X-Hub-Signature-256", "sha256="),
    "agiletune": BodyScheme("X-AgileTune-Signature"),
    "icescrum": BodyScheme("x-icescrum-signature", digest=hashlib.sha1),
}
SCHEMES = (STANDARD, *BODY_SCHEMES)
DEFAULT_SCHEMES = (STANDARD, "hex")
# What only the sender may set: a webhook's own headers cannot replace these.
RESERVED_HEADERS = frozenset(
    {"webhook-id", "webhook-timestamp", "webhook-signature", "x-icescrum-event"}
    | {scheme.header.lower() for scheme in BODY_SCHEMES.values()}
)


@dataclass(frozen=True)
class SigningSecrets:
    """Which secret signs which header at one moment."""

    # ``webhook-signature``: every live secret, the newest first.
    standard: tuple[str, ...]
    # Every header that holds one signature.
    single: str

    @classmethod
    def of(cls, secrets_: Iterable[str]) -> SigningSecrets:
        """Several secrets in ``webhook-signature``, the first in the others."""
        listed = tuple(secrets_)
        if not listed:
            raise ValueError("Signing needs at least one secret.")
        return cls(listed, listed[0])


def active_secrets(
    secret: str,
    previous: str,
    previous_expires_at: datetime | None,
    now: datetime,
    switched_at: datetime | None = None,
) -> SigningSecrets:
    """The rotation rule: which secret signs which header at ``now``.

    Outside a rotation's overlap the current secret signs everything. During the overlap
    ``webhook-signature`` carries both secrets' signatures, and the single-signature
    headers stay with the previous secret until the switch (``switched_at``), then move to
    the current one; the overlap's end switches them too.
    """
    if not previous or previous_expires_at is None or previous_expires_at <= now:
        return SigningSecrets((secret,), secret)
    switched = switched_at is not None and switched_at <= now
    return SigningSecrets((secret, previous), secret if switched else previous)


def signature_headers(
    secrets_: SigningSecrets | Iterable[str],
    msg_id: str,
    timestamp: int,
    body: bytes,
    schemes: Iterable[str] = DEFAULT_SCHEMES,
    event_type: str = "",
) -> dict[str, str]:
    """The signature headers of one request: ``secrets_`` as :func:`active_secrets` gives
    them, or secrets (all of them sign ``webhook-signature``, the first the others)."""
    signers = secrets_ if isinstance(secrets_, SigningSecrets) else SigningSecrets.of(secrets_)
    headers: dict[str, str] = {}
    for scheme in schemes:
        if scheme == STANDARD:
            headers["webhook-id"] = msg_id
            headers["webhook-timestamp"] = str(timestamp)
            headers["webhook-signature"] = " ".join(
                sign_standard(s, msg_id, timestamp, body) for s in signers.standard
            )
            continue
        signer = BODY_SCHEMES[scheme]
        headers[signer.header] = signer.sign(signers.single, body)
        if scheme == "icescrum":
            headers["x-icescrum-event"] = event_type
    return headers


def verify(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str | Iterable[str],
    *,
    schemes: Iterable[str] = (STANDARD,),
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bytes:
    """Check a received webhook and return its body bytes, or raise
    :class:`SignatureVerificationError`, whose ``reason`` is ``"no signature"``,
    ``"too old"``, ``"too new"`` or ``"mismatch"``.

    ``headers`` is any mapping of the request headers (names are matched without regard
    to case). ``secret`` may be several secrets, e.g. during a rotation. ``schemes`` are
    the signatures accepted, tried in order: ``"standard"`` (Standard Webhooks, with
    replay protection: the timestamp must be within ``tolerance`` seconds) and the body
    schemes of :data:`BODY_SCHEMES`, which sign no timestamp: a captured request verifies
    forever, so accept one only if the receiver can tolerate replays.
    """
    body = _as_bytes(body)
    lowered = {k.lower(): v for k, v in headers.items()}
    candidates = [secret] if isinstance(secret, str) else list(secret)
    if not candidates:
        raise ValueError("verify() needs at least one secret.")
    chosen = list(schemes)
    unknown = [scheme for scheme in chosen if scheme not in SCHEMES]
    if unknown or not chosen:
        raise ValueError(f"Unknown signature schemes {unknown!r}; choose from {list(SCHEMES)}.")
    current = time.time() if now is None else now
    for scheme in chosen:
        # The first scheme the request carries decides: a request whose Standard
        # Webhooks signature fails is never let through by an untimed one.
        if scheme == STANDARD:
            found = _verify_standard(body, lowered, candidates, tolerance, current)
        else:
            found = _verify_body(BODY_SCHEMES[scheme], body, lowered, candidates)
        if found:
            return body
    raise SignatureVerificationError(
        "no signature", f"The request carries no {' or '.join(chosen)} signature."
    )


def _verify_standard(
    body: bytes, headers: dict[str, str], secrets_: list[str], tolerance: int, now: float
) -> bool:
    if "webhook-signature" not in headers:
        return False
    msg_id, raw_ts = headers.get("webhook-id"), headers.get("webhook-timestamp")
    if not msg_id or not raw_ts:
        raise SignatureVerificationError(
            "no signature", "Missing webhook-id or webhook-timestamp header."
        )
    try:
        timestamp = int(raw_ts)
    except ValueError:
        raise SignatureVerificationError(
            "mismatch", "webhook-timestamp is not an integer."
        ) from None
    # Replay protection: a captured request is only good for a few minutes.
    if now - timestamp > tolerance:
        raise SignatureVerificationError(
            "too old", f"webhook-timestamp is more than {tolerance} s in the past."
        )
    if timestamp - now > tolerance:
        raise SignatureVerificationError(
            "too new", f"webhook-timestamp is more than {tolerance} s in the future."
        )
    received = [
        part.split(",", 1)[1]
        for part in headers["webhook-signature"].split()
        if part.startswith(SIGNATURE_VERSION + ",")
    ]
    for candidate in secrets_:
        expected = sign_standard(candidate, msg_id, timestamp, body).split(",", 1)[1]
        if any(hmac.compare_digest(expected, sig) for sig in received):
            return True
    raise SignatureVerificationError("mismatch", "No webhook-signature matches.")


def _verify_body(
    scheme: BodyScheme, body: bytes, headers: dict[str, str], secrets_: list[str]
) -> bool:
    value = headers.get(scheme.header.lower())
    if value is None:
        return False
    received = [part.strip() for part in value.split(",")]
    for candidate in secrets_:
        expected = scheme.sign(candidate, body)
        if any(hmac.compare_digest(expected, sig) for sig in received):
            return True
    raise SignatureVerificationError("mismatch", f"{scheme.header} does not match.")
