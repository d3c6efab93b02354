import base64
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhooksVerifier

from webhooks_app.exceptions import SignatureVerificationError
from webhooks_app.signing import (
    BODY_SCHEMES,
    STANDARD,
    SigningSecrets,
    active_secrets,
    generate_secret,
    sign_hex,
    sign_standard,
    signature_headers,
    verify,
)

SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TS = 1614265330
SW_BODY = '{"test": 2432232314}'


def test_standard_webhooks_signature_matches_reference_vector():
    assert (
        sign_standard(SW_SECRET, SW_ID, SW_TS, SW_BODY)
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_generated_secret_is_standard_webhooks_form():
    secret = generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:])) == 32
    assert generate_secret() != secret


def test_reference_verifier_accepts_our_signatures():
    secret, body, now = generate_secret(), b'{"event":"items.store"}', int(time.time())
    headers = signature_headers([secret], "msg_1", now, body)
    StandardWebhooksVerifier(secret).verify(body, headers)  # raises if wrong


GITHUB_SECRET, GITHUB_BODY = "It's a Secret to Everybody", b"Hello, World!"
GITHUB_SHA256 = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
# printf 'Hello, World!' | openssl dgst -sha1 -hmac "It's a Secret to Everybody"
GITHUB_SHA1 = "01dc10d0c83e72ed246219cdd91669667fe2ca59"


@pytest.mark.parametrize(
    "scheme, expected",
    [
        ("hex", {"X-Webhook-Signature-256": "sha256=" + GITHUB_SHA256}),
        ("github", {"X-Hub-Signature-256": "sha256=" + GITHUB_SHA256}),
        ("agiletune", {"X-AgileTune-Signature": GITHUB_SHA256}),
        ("icescrum", {"x-icescrum-signature": GITHUB_SHA1, "x-icescrum-event": "story.update"}),
    ],
)
def test_each_body_scheme_matches_a_hand_computed_vector(scheme, expected):
    headers = signature_headers(
        [GITHUB_SECRET], "msg_1", 1, GITHUB_BODY, schemes=[scheme], event_type="story.update"
    )
    assert headers == expected
    assert verify(GITHUB_BODY, headers, GITHUB_SECRET, schemes=[scheme]) == GITHUB_BODY


def test_several_schemes_go_out_at_once():
    headers = signature_headers(["s"], "msg_1", 1, b"{}", schemes=["standard", "github"])
    assert set(headers) == {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "X-Hub-Signature-256",
    }


NOW = datetime(2026, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    "expires, switched, standard, single",
    [
        pytest.param(None, None, ("new",), "new", id="never-rotated"),
        pytest.param(NOW + HOUR, None, ("new", "old"), "old", id="overlap-before-switch"),
        pytest.param(NOW + HOUR, NOW - HOUR, ("new", "old"), "new", id="overlap-after-switch"),
        pytest.param(NOW + HOUR, NOW + HOUR / 2, ("new", "old"), "old", id="switch-not-yet"),
        pytest.param(NOW - HOUR, None, ("new",), "new", id="after-overlap-unswitched"),
        pytest.param(NOW, NOW - HOUR, ("new",), "new", id="after-overlap-switched"),
    ],
)
def test_the_rotation_rule_says_which_secret_signs_which_header(
    expires, switched, standard, single
):
    previous = "old" if expires else ""
    signers = active_secrets("new", previous, expires, NOW, switched)
    assert signers == SigningSecrets(standard, single)


@pytest.mark.parametrize("scheme", [STANDARD, *BODY_SCHEMES])
def test_only_webhook_signature_carries_two_signatures_during_a_rotation(scheme):
    old, new, body, now = generate_secret(), generate_secret(), b"{}", int(time.time())
    headers = signature_headers(SigningSecrets((new, old), old), "msg_1", now, body, [scheme])
    if scheme == "standard":
        assert len(headers["webhook-signature"].split(" ")) == 2
        assert verify(body, headers, old) == verify(body, headers, new) == body
    else:
        (value,) = [v for k, v in headers.items() if k != "x-icescrum-event"]
        assert "," not in value and " " not in value
        assert verify(body, headers, old, schemes=[scheme]) == body
        with pytest.raises(SignatureVerificationError, match="match"):
            verify(body, headers, new, schemes=[scheme])


def _shifted(seconds):
    return lambda h, b: ({**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) + seconds)}, b)


@pytest.mark.parametrize(
    "tamper, reason",
    [
        pytest.param(lambda h, b: (h, b + b" "), "mismatch", id="body"),
        pytest.param(_shifted(-600), "too old", id="replayed"),
        pytest.param(_shifted(+600), "too new", id="from-the-future"),
        pytest.param(lambda h, b: ({**h, "webhook-id": "msg_other"}, b), "mismatch", id="id"),
        pytest.param(lambda h, b: ({"Content-Type": "application/json"}, b), "no signature"),
    ],
)
def test_verify_rejects_tampered_replayed_or_unsigned_requests(tamper, reason):
    secret, body = generate_secret(), b'{"a":1}'
    headers, body = tamper(signature_headers([secret], "msg_1", int(time.time()), body), body)
    with pytest.raises(SignatureVerificationError) as raised:
        verify(body, headers, secret)
    assert raised.value.reason == reason


def test_a_replayed_request_stripped_of_its_timestamp_does_not_verify():
    """The hex header signs no timestamp: verify() never falls back to it unasked."""
    secret, body = generate_secret(), b'{"event":"items.store"}'
    sent_long_ago = int(time.time()) - 11 * 86400
    captured = signature_headers([secret], "msg_1", sent_long_ago, body)
    replayed = {"X-Webhook-Signature-256": captured["X-Webhook-Signature-256"]}
    with pytest.raises(SignatureVerificationError) as raised:
        verify(body, replayed, secret)
    assert raised.value.reason == "no signature"
    with pytest.raises(SignatureVerificationError) as raised:
        verify(body, captured, secret, schemes=["standard", "hex"])
    assert raised.value.reason == "too old"  # a failed timed signature is final


def test_hex_scheme_verifies_only_when_asked_and_ignores_header_case():
    secret, body = generate_secret(), b"{}"
    headers = {"x-webhook-signature-256": "sha256=" + sign_hex(secret, body)}
    assert verify(body, headers, secret, schemes=["hex"]) == body
    with pytest.raises(SignatureVerificationError, match="match"):
        verify(body, headers, generate_secret(), schemes=["hex"])
    with pytest.raises(ValueError, match="Unknown signature schemes"):
        verify(body, headers, secret, schemes=["bogus"])


def test_signing_runs_with_the_standard_library_alone():
    """A receiver without Django (or any third-party package) can sign and verify."""
    root = Path(__file__).resolve().parent.parent
    code = f"""
import sys
sys.path.insert(0, {str(root)!r})
import time
from webhooks_app.signing import generate_secret, signature_headers, verify
secret = generate_secret()
headers = signature_headers([secret], "msg_1", int(time.time()), b"{{}}")
verify(b"{{}}", headers, secret)
assert "django" not in sys.modules, sorted(sys.modules)
print("verified")
"""
    # -I -S: no site-packages, no environment: Django is not importable at all.
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "verified"


def test_signing_py_copied_alone_signs_and_verifies_in_a_bare_interpreter(tmp_path):
    """What the README offers receivers: this one file, nothing beside it, no packages."""
    module = Path(__file__).resolve().parent.parent / "webhooks_app" / "signing.py"
    (tmp_path / "signing.py").write_bytes(module.read_bytes())
    code = """
import sys, time
import signing
secret = signing.generate_secret()
now = int(time.time())
headers = signing.signature_headers([secret], "msg_1", now, b"{}", schemes=["standard", "github"])
assert signing.verify(b"{}", headers, secret) == b"{}"
assert signing.verify(b"{}", headers, secret, schemes=["github"]) == b"{}"
try:
    signing.verify(b"{}", {**headers, "webhook-signature": "v1,\\u00e9"}, secret)
except signing.WebhookError as exc:  # the root of the hierarchy, defined in the file
    assert isinstance(exc, signing.SignatureVerificationError) and exc.reason == "mismatch"
assert not signing.ed25519_available()  # no site-packages: v1a says what to install
try:
    signing.generate_keypair()
except ImportError as exc:
    assert "django-webhooks-app[ed25519]" in str(exc)
assert not [m for m in sys.modules if m.split(".")[0] in ("webhooks_app", "django")]
print("verified")
"""
    # -I: no environment, no user site, the script's folder not on the path; -S: no
    # site-packages, so neither Django nor cryptography nor this package is importable.
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", f"import sys; sys.path[:0] = ['.']\n{code}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "verified"
