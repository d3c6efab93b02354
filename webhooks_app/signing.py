"""Signing outgoing webhooks, and verifying them on the receiving side.

Pure standard library on purpose: a receiver can copy this one file into its project and
import it with nothing else beside it (only ``v1a`` signatures need ``cryptography``,
imported when one is made or checked).

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
* ``ed25519``, Standard Webhooks' asymmetric signature: ``v1a,`` + base64 ed25519
  signature of the same ``"{id}.{timestamp}.{body}"``, in ``webhook-signature`` beside any
  ``v1`` one, made with a ``whsk_`` private key that never leaves the sender. Receivers
  verify with its ``whpk_`` public key: they hold no secret at all.

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
import binascii
import functools
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

SECRET_PREFIX = "whsec_"
PRIVATE_KEY_PREFIX = "whsk_"
PUBLIC_KEY_PREFIX = "whpk_"
SIGNATURE_VERSION = "v1"
ASYMMETRIC_VERSION = "v1a"
DEFAULT_TOLERANCE = 300  # seconds; Standard Webhooks' recommendation
# More v1a signatures than this in one header are refused unchecked: each costs an
# ed25519 verification, and a rotation needs two.
MAX_ASYMMETRIC_SIGNATURES = 8


# The root of the app's exception hierarchy lives here, not in exceptions.py (which
# re-exports it and subclasses it for everything else): this module must import with
# nothing beside it, and importing exceptions.py from here, even guarded, would make the
# two modules import each other. So a receiver that copied this file alone catches the
# same two classes a host catches from webhooks_app.exceptions.
class WebhookError(Exception):
    """Base class of every error this app raises."""


class SignatureVerificationError(WebhookError):
    """A received webhook's signature or timestamp did not verify. ``reason`` is one of
    ``"no signature"``, ``"too old"``, ``"too new"`` and ``"mismatch"``."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message or reason)
        self.reason = reason


def generate_secret(nbytes: int = 32) -> str:
    """A new secret in Standard Webhooks form: ``whsec_`` + base64 of random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(nbytes)).decode("ascii")


def _key(secret: str) -> bytes:
    if secret.startswith(SECRET_PREFIX):
        return base64.b64decode(secret[len(SECRET_PREFIX) :])
    return secret.encode("utf-8")


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


def _wire(text: str) -> bytes:
    """A header's text as bytes, whatever it holds: comparisons and signed content are
    made of bytes, so odd characters in a forged header can only fail to match."""
    return text.encode("utf-8", "surrogatepass")


def _signed_content(msg_id: str, timestamp: int, body: bytes | str) -> bytes:
    return _wire(f"{msg_id}.{timestamp}.") + _as_bytes(body)


def sign_standard(secret: str, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """One Standard Webhooks signature: ``v1,<base64>``."""
    signed = _signed_content(msg_id, timestamp, body)
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


# -- v1a: ed25519 (needs the optional ``cryptography`` package) ---------------------------


def ed25519_available() -> bool:
    """Whether ``v1a`` signatures can be made and checked here."""
    try:
        _ed25519()
    except ImportError:
        return False
    return True


def _ed25519() -> Any:
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError as exc:
        raise ImportError(
            "v1a (ed25519) signatures need the cryptography package: "
            "pip install 'django-webhooks-app[ed25519]'."
        ) from exc
    return ed25519


def generate_keypair() -> tuple[str, str]:
    """A new ed25519 key pair, Standard Webhooks form: ``(whsk_…, whpk_…)``. The private
    key is base64 of its 32-byte seed followed by the 32-byte public key (libsodium's
    layout, as Svix serializes it); the public key is base64 of its 32 bytes."""
    private = _ed25519().Ed25519PrivateKey.generate()
    seed, public = private.private_bytes_raw(), private.public_key().public_bytes_raw()
    return (
        PRIVATE_KEY_PREFIX + base64.b64encode(seed + public).decode("ascii"),
        PUBLIC_KEY_PREFIX + base64.b64encode(public).decode("ascii"),
    )


def public_key_of(private_key: str) -> str:
    """The ``whpk_`` public key of a ``whsk_`` private key."""
    public = _private_key(private_key).public_key().public_bytes_raw()
    return PUBLIC_KEY_PREFIX + base64.b64encode(public).decode("ascii")


@functools.lru_cache(maxsize=256)
def _private_key(private_key: str) -> Any:
    """The key object (cached: a worker signs with the same few keys all day)."""
    raw = _unprefixed(private_key, PRIVATE_KEY_PREFIX, (32, 64))
    key = _ed25519().Ed25519PrivateKey.from_private_bytes(raw[:32])
    if len(raw) == 64 and key.public_key().public_bytes_raw() != raw[32:]:
        raise ValueError("This whsk_ key's public half does not belong to its seed.")
    return key


def _public_key(public_key: str) -> Any:
    raw = _unprefixed(public_key, PUBLIC_KEY_PREFIX, (32,))
    return _ed25519().Ed25519PublicKey.from_public_bytes(raw)


def _unprefixed(key: str, prefix: str, sizes: tuple[int, ...]) -> bytes:
    try:
        raw = base64.b64decode(key.removeprefix(prefix), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not key.startswith(prefix) or len(raw) not in sizes:
        raise ValueError(f"Not a {prefix} key: {prefix} followed by base64 of an ed25519 key.")
    return raw


def sign_asymmetric(private_key: str, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """One Standard Webhooks asymmetric signature: ``v1a,<base64>``."""
    signature = _private_key(private_key).sign(_signed_content(msg_id, timestamp, body))
    return f"{ASYMMETRIC_VERSION},{base64.b64encode(signature).decode('ascii')}"


STANDARD = "standard"
ED25519 = "ed25519"
BODY_SCHEMES: dict[str, BodyScheme] = {
    "hex": BodyScheme("X-Webhook-Signature-256", "sha256="),
    "github": BodyScheme("X-Hub-Signature-256", "sha256="),
    "agiletune": BodyScheme("X-AgileTune-Signature"),
    "icescrum": BodyScheme("x-icescrum-signature", digest=hashlib.sha1),
}
SCHEMES = (STANDARD, ED25519, *BODY_SCHEMES)
DEFAULT_SCHEMES = (STANDARD, "hex")
# The schemes of the webhook-signature header. Their reference verifiers (PyPI
# ``standardwebhooks``' ``Webhook.verify``) parse the verified body as JSON unless told
# not to, so they reject every form-encoded body: a webhook cannot have both.
JSON_ONLY_SCHEMES = (STANDARD, ED25519)
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
    signing_key: str = "",
) -> dict[str, str]:
    """The signature headers of one request: ``secrets_`` as :func:`active_secrets` gives
    them, or secrets (all of them sign ``webhook-signature``, the first the others).
    ``signing_key``: the ``whsk_`` private key of the ``ed25519`` scheme."""
    signers = secrets_ if isinstance(secrets_, SigningSecrets) else SigningSecrets.of(secrets_)
    schemes = tuple(schemes)
    headers: dict[str, str] = {}
    for scheme in schemes:
        if scheme == ED25519:
            continue  # after the loop: it shares webhook-signature with standard
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
    if ED25519 in schemes:
        _add_asymmetric(headers, signing_key, msg_id, timestamp, body)
    return headers


def _add_asymmetric(
    headers: dict[str, str], signing_key: str, msg_id: str, timestamp: int, body: bytes
) -> None:
    """Add the v1a signature after any v1 ones in webhook-signature (one header for both,
    as Standard Webhooks specifies)."""
    headers["webhook-id"] = msg_id
    headers["webhook-timestamp"] = str(timestamp)
    signature = sign_asymmetric(signing_key, msg_id, timestamp, body)
    headers["webhook-signature"] = " ".join(
        [*headers.get("webhook-signature", "").split(), signature]
    )


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
    ``"too old"``, ``"too new"`` or ``"mismatch"``, whatever the headers hold.

    ``headers`` is any mapping of the request headers (names are matched without regard
    to case). ``secret`` may be several secrets, e.g. during a rotation, and each may be a
    ``whsec_`` secret or a ``whpk_`` public key: a public key checks the ``v1a``
    (ed25519) signatures of ``webhook-signature``, a secret its ``v1`` ones and the body
    schemes. ``schemes`` are the signatures accepted, tried in order: ``"standard"`` (or
    ``"ed25519"``: the same header; Standard Webhooks, with replay protection: the
    timestamp must be within ``tolerance`` seconds) and the body schemes of
    :data:`BODY_SCHEMES`, which sign no timestamp: a captured request verifies forever,
    so accept one only if the receiver can tolerate replays.
    """
    body = _as_bytes(body)
    lowered = {k.lower(): v for k, v in headers.items()}
    keys = _Keys.of([secret] if isinstance(secret, str) else list(secret))
    chosen = list(schemes)
    unknown = [scheme for scheme in chosen if scheme not in SCHEMES]
    if unknown or not chosen:
        raise ValueError(f"Unknown signature schemes {unknown!r}; choose from {list(SCHEMES)}.")
    current = time.time() if now is None else now
    for scheme in chosen:
        # The first scheme the request carries decides: a request whose Standard
        # Webhooks signature fails is never let through by an untimed one.
        if scheme in JSON_ONLY_SCHEMES:
            found = _verify_standard(body, lowered, keys, tolerance, current)
        else:
            found = _verify_body(BODY_SCHEMES[scheme], body, lowered, keys.secrets)
        if found:
            return body
    raise SignatureVerificationError(
        "no signature", f"The request carries no {' or '.join(chosen)} signature."
    )


@dataclass(frozen=True)
class _Keys:
    """What a receiver verifies with: shared secrets and ed25519 public keys, apart.
    A public key is public: used as an HMAC key it would let anyone sign."""

    secrets: list[str]
    public: list[str]

    @classmethod
    def of(cls, candidates: list[str]) -> _Keys:
        if not candidates:
            raise ValueError("verify() needs at least one secret.")
        if any(c.startswith(PRIVATE_KEY_PREFIX) for c in candidates):
            raise ValueError("Verify v1a signatures with the whpk_ public key, not the whsk_ one.")
        public = [c for c in candidates if c.startswith(PUBLIC_KEY_PREFIX)]
        for key in public:
            # A malformed key, or a missing cryptography package, fails every request
            # alike, whatever it carries: it is the receiver's setup, not the request.
            _public_key(key)
        return cls([c for c in candidates if c not in public], public)


def _verify_standard(
    body: bytes, headers: dict[str, str], keys: _Keys, tolerance: int, now: float
) -> bool:
    if "webhook-signature" not in headers:
        return False
    msg_id, timestamp = _message_id(headers), _timestamp(headers, tolerance, now)
    received: dict[str, list[str]] = {SIGNATURE_VERSION: [], ASYMMETRIC_VERSION: []}
    for part in headers["webhook-signature"].split():
        version, _, signature = part.partition(",")
        if version in received:
            received[version].append(signature)
    if _hmac_matches(keys.secrets, received[SIGNATURE_VERSION], msg_id, timestamp, body):
        return True
    if _ed25519_matches(keys.public, received[ASYMMETRIC_VERSION], msg_id, timestamp, body):
        return True
    raise SignatureVerificationError("mismatch", "No webhook-signature matches.")


def _message_id(headers: dict[str, str]) -> str:
    msg_id = headers.get("webhook-id")
    if not msg_id or not headers.get("webhook-timestamp"):
        raise SignatureVerificationError(
            "no signature", "Missing webhook-id or webhook-timestamp header."
        )
    return msg_id


def _timestamp(headers: dict[str, str], tolerance: int, now: float) -> int:
    raw = headers["webhook-timestamp"]
    # ASCII digits only: int() also takes signs, spaces, underscores and other scripts'
    # digits, which would sign content other than what was sent.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 15):
        raise SignatureVerificationError("mismatch", "webhook-timestamp is not an integer.")
    timestamp = int(raw)
    # Replay protection: a captured request is only good for a few minutes.
    if now - timestamp > tolerance:
        raise SignatureVerificationError(
            "too old", f"webhook-timestamp is more than {tolerance} s in the past."
        )
    if timestamp - now > tolerance:
        raise SignatureVerificationError(
            "too new", f"webhook-timestamp is more than {tolerance} s in the future."
        )
    return timestamp


def _hmac_matches(
    secrets_: list[str], received: list[str], msg_id: str, timestamp: int, body: bytes
) -> bool:
    for candidate in secrets_:
        expected = _wire(sign_standard(candidate, msg_id, timestamp, body).split(",", 1)[1])
        # Bytes, not str: compare_digest refuses non-ASCII text (TypeError).
        if any(hmac.compare_digest(expected, _wire(sig)) for sig in received):
            return True
    return False


def _ed25519_matches(
    public_keys: list[str], received: list[str], msg_id: str, timestamp: int, body: bytes
) -> bool:
    if not public_keys or not received:
        return False
    if len(received) > MAX_ASYMMETRIC_SIGNATURES:
        raise SignatureVerificationError("mismatch", "Too many v1a signatures.")
    invalid = _invalid_signature()
    signed = _signed_content(msg_id, timestamp, body)
    for signature in received:
        try:
            raw = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            continue
        for key in public_keys:
            try:
                _public_key(key).verify(raw, signed)
            except invalid:
                continue
            return True
    return False


def _invalid_signature() -> type[Exception]:
    _ed25519()  # the ImportError that says which extra to install
    from cryptography.exceptions import InvalidSignature

    return InvalidSignature


def _verify_body(
    scheme: BodyScheme, body: bytes, headers: dict[str, str], secrets_: list[str]
) -> bool:
    value = headers.get(scheme.header.lower())
    if value is None:
        return False
    received = [_wire(part.strip()) for part in value.split(",")]
    for candidate in secrets_:
        expected = _wire(scheme.sign(candidate, body))
        # Bytes, not str: compare_digest refuses non-ASCII text (TypeError).
        if any(hmac.compare_digest(expected, sig) for sig in received):
            return True
    raise SignatureVerificationError("mismatch", f"{scheme.header} does not match.")
