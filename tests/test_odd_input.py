"""Whatever a request's signature headers and body hold, verify() raises only
SignatureVerificationError and webhook_view answers 400: never a 500 to anyone."""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import quote_plus

import pytest
from django.test import Client

from tests.testapp import receivers
from tests.testapp.receivers import PUBLIC_KEY, SECRET
from webhooks_app.exceptions import SignatureVerificationError
from webhooks_app.signing import sign_hex, signature_headers, verify

BODY = b'{"event":"items.store"}'
V1A_SHAPED = "v1a," + base64.b64encode(b"\x01" * 64).decode()


def fullwidth(now: int) -> str:
    return "".join(chr(ord(d) - ord("0") + 0xFF10) for d in str(now))


# Header values a forger might send, each on top of an otherwise well-signed request.
ODD_HEADERS = {
    "signature-latin1": {"webhook-signature": "v1,é"},
    "signature-snowman": {"webhook-signature": "v1,\u2603"},
    "signature-lone-surrogate": {"webhook-signature": "v1,\udcff"},
    "signature-nul": {"webhook-signature": "v1,\x00"},
    "signature-controls": {"webhook-signature": "v1,\x01\x1f\x7f"},
    "signature-empty": {"webhook-signature": ""},
    "signature-blank": {"webhook-signature": "   "},
    "signature-no-comma": {"webhook-signature": "v1"},
    "signature-only-commas": {"webhook-signature": ",,, , ,"},
    "signature-huge": {"webhook-signature": "v1," + "A" * 200_000},
    "signature-10000": {"webhook-signature": " ".join(["v1,AAAA"] * 10_000)},
    "v1a-bad-base64": {"webhook-signature": "v1a,!!!!"},
    "v1a-bad-padding": {"webhook-signature": "v1a," + "A" * 87},
    "v1a-non-ascii": {"webhook-signature": "v1a,é" + "A" * 86},
    "v1a-empty": {"webhook-signature": "v1a,"},
    "v1a-wrong-length": {"webhook-signature": "v1a," + base64.b64encode(b"x" * 63).decode()},
    "v1a-well-formed-but-forged": {"webhook-signature": V1A_SHAPED},
    "v1a-many": {"webhook-signature": " ".join([V1A_SHAPED] * 500)},
    "timestamp-empty": {"webhook-timestamp": ""},
    "timestamp-words": {"webhook-timestamp": "yesterday"},
    "timestamp-fullwidth-digits": {"webhook-timestamp": fullwidth},
    "timestamp-arabic-digits": {"webhook-timestamp": "\u0661\u0662\u0663"},
    "timestamp-negative": {"webhook-timestamp": "-1"},
    "timestamp-padded": {"webhook-timestamp": lambda now: f" {now} "},
    "timestamp-underscores": {"webhook-timestamp": lambda now: f"{now:_}"},
    "timestamp-float": {"webhook-timestamp": lambda now: f"{now}.5"},
    "timestamp-exponent": {"webhook-timestamp": "1.6e9"},
    "timestamp-hex": {"webhook-timestamp": "0x10"},
    "timestamp-5000-digits": {"webhook-timestamp": "9" * 5000},
    "id-empty": {"webhook-id": ""},
    "id-non-ascii": {"webhook-id": "msg_é\u2603"},
    "id-lone-surrogate": {"webhook-id": "msg_\udcff"},
    "id-huge": {"webhook-id": "m" * 100_000},
    "hex-only-latin1": {"webhook-signature": None, "X-Webhook-Signature-256": "sha256=é"},
    "hex-only-empty": {"webhook-signature": None, "X-Webhook-Signature-256": ""},
    "hex-only-commas": {"webhook-signature": None, "X-Webhook-Signature-256": "," * 5000},
    "hex-only-huge": {
        "webhook-signature": None,
        "X-Webhook-Signature-256": "sha256=" + "f" * 10**5,
    },
    "nothing-signed": {
        "webhook-signature": None,
        "webhook-id": None,
        "webhook-timestamp": None,
        "X-Webhook-Signature-256": None,
    },
}


def odd_request(changes: dict[str, Any]) -> dict[str, str]:
    """A request signed now, with ``changes`` (a value, None to drop the header, or a
    function of the signing time)."""
    now = int(time.time())
    headers = signature_headers([SECRET], "msg_1", now, BODY, schemes=["standard", "hex"])
    for name, value in changes.items():
        headers.pop(name, None)
        if value is not None:
            headers[name] = value(now) if callable(value) else value
    if "X-Webhook-Signature-256" in changes:
        headers.pop("webhook-signature", None)
    return headers


@pytest.mark.parametrize("changes", ODD_HEADERS.values(), ids=ODD_HEADERS)
def test_verify_raises_only_a_verification_error_for_odd_headers(changes):
    with pytest.raises(SignatureVerificationError) as raised:
        verify(BODY, odd_request(changes), [SECRET, PUBLIC_KEY], schemes=["standard", "hex"])
    assert raised.value.reason in ("no signature", "too old", "too new", "mismatch")


def test_the_unaltered_request_verifies():
    """The table's baseline: each case fails only because of what it changes."""
    assert verify(BODY, odd_request({}), [SECRET, PUBLIC_KEY], schemes=["standard", "hex"])


@pytest.fixture
def client_posts():
    receivers.HANDLED.clear()

    def post(body: bytes, headers: dict[str, str], content_type="application/json"):
        # Test-client headers become WSGI environ entries, as a server would pass them.
        environ = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
        # CONTENT_TYPE again: the test client leaves it out of a request with no body.
        environ["CONTENT_TYPE"] = content_type
        return Client().post("/hooks/receive/", body, content_type=content_type, **environ)

    yield post
    receivers.HANDLED.clear()


@pytest.mark.parametrize("changes", ODD_HEADERS.values(), ids=ODD_HEADERS)
def test_webhook_view_answers_400_to_odd_headers(client_posts, changes):
    response = client_posts(BODY, odd_request(changes))
    assert response.status_code == 400
    assert response.json()["error"] in ("no signature", "too old", "too new", "mismatch")
    assert receivers.HANDLED == []


def signed(body: bytes) -> dict[str, str]:
    return signature_headers([SECRET], "msg_1", int(time.time()), body)


JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
# Bodies that verify (the sender signed them) but hold no payload.
ODD_BODIES = {
    "empty": (b"", JSON, "not JSON"),
    "not-json": (b"not json", JSON, "not JSON"),
    "invalid-utf8": (b'{"a": "\xff"}', JSON, "not JSON"),
    "nested-200000-deep": (b"[" * 200_000 + b"]" * 200_000, JSON, "not JSON"),
    "nan-json-text": (b"{", JSON, "not JSON"),
    "form-empty": (b"", FORM, "not a payload form"),
    "form-other-field": (b"data=%7B%7D", FORM, "not a payload form"),
    "form-two-payloads": (b"payload=%7B%7D&payload=%7B%7D", FORM, "not a payload form"),
    "form-extra-field": (b"payload=%7B%7D&x=1", FORM, "not a payload form"),
    "form-no-equals": (b"payload", FORM, "not a payload form"),
    "form-bad-escape": (b"payload=%ff", FORM, "not a payload form"),
    "form-non-ascii": ("payload=é".encode(), FORM, "not a payload form"),
    "form-not-json": (b"payload=nope", FORM, "not JSON"),
    "form-deep": (b"payload=" + quote_plus("[" * 200_000).encode(), FORM, "not JSON"),
}


@pytest.mark.parametrize("body, content_type, reason", ODD_BODIES.values(), ids=ODD_BODIES)
def test_webhook_view_answers_400_to_signed_bodies_without_a_payload(
    client_posts, body, content_type, reason
):
    response = client_posts(body, signed(body), content_type)
    assert response.status_code == 400
    assert response.json() == {"error": reason}
    assert receivers.HANDLED == []


def test_webhook_view_hands_over_the_payload_of_a_json_or_form_body(client_posts):
    as_form = b"payload=" + quote_plus('{"title": "über + more"}').encode()
    assert client_posts(as_form, signed(as_form), FORM + "; charset=utf-8").status_code == 204
    as_json = b'{"title": "plain"}'
    hexed = {"X-Webhook-Signature-256": "sha256=" + sign_hex(SECRET, as_json)}
    assert client_posts(as_json, hexed).status_code == 204
    assert receivers.HANDLED == [{"title": "über + more"}, {"title": "plain"}]
