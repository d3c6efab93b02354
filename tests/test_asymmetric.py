"""Standard Webhooks v1a (ed25519) signatures: made with the webhook's private key,
verified with its public key, by us and by a third-party ed25519 implementation."""

from __future__ import annotations

import base64
import json
import subprocess
import time

import pytest
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.urls import reverse
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from standardwebhooks.webhooks import Webhook as StandardWebhooksVerifier

from tests.conftest import manager_of
from webhooks_app import operations, validators
from webhooks_app.exceptions import SignatureVerificationError
from webhooks_app.receiving import webhook_view
from webhooks_app.signing import (
    generate_keypair,
    generate_secret,
    public_key_of,
    sign_asymmetric,
    signature_headers,
    verify,
)

# Svix's test vector (the signature is also the Standard Webhooks spec's example).
SK = "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg=="
PK = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="
MSG_ID, TS, BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}'
V1A = "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg=="


def nacl_verifies(public_key: str, headers: dict[str, str], body: bytes) -> bool:
    """libsodium (PyNaCl) checks a v1a signature over id.timestamp.body: no code of ours."""
    lowered = {k.lower(): v for k, v in headers.items()}
    key = VerifyKey(base64.b64decode(public_key.removeprefix("whpk_")))
    signed = f"{lowered['webhook-id']}.{lowered['webhook-timestamp']}.".encode() + body
    for part in lowered["webhook-signature"].split():
        version, _, signature = part.partition(",")
        if version != "v1a":
            continue
        try:
            key.verify(signed, base64.b64decode(signature))
        except BadSignatureError:
            continue
        return True
    return False


def test_v1a_signature_matches_the_svix_and_spec_vector():
    assert public_key_of(SK) == PK
    assert sign_asymmetric(SK, MSG_ID, TS, BODY) == V1A
    headers = {"webhook-id": MSG_ID, "webhook-timestamp": str(TS), "webhook-signature": V1A}
    assert verify(BODY, headers, PK, now=TS) == BODY.encode()


def test_a_new_key_pair_is_in_standard_webhooks_form():
    private, public = generate_keypair()
    assert private.startswith("whsk_") and public.startswith("whpk_")
    assert len(base64.b64decode(private[5:])) == 64 and len(base64.b64decode(public[5:])) == 32
    assert public_key_of(private) == public and generate_keypair()[0] != private


def test_v1a_goes_beside_v1_in_one_header_and_each_key_checks_its_own():
    secret, (private, public) = generate_secret(), generate_keypair()
    body, now = b'{"a":1}', int(time.time())
    headers = signature_headers(
        [secret], "msg_1", now, body, schemes=["standard", "ed25519"], signing_key=private
    )
    v1, v1a = headers["webhook-signature"].split()
    assert v1.startswith("v1,") and v1a.startswith("v1a,")
    assert verify(body, headers, public) == body
    assert verify(body, headers, secret) == body
    StandardWebhooksVerifier(secret).verify(body, headers)  # skips the v1a entry
    assert nacl_verifies(public, headers, body)
    only_v1a = {**headers, "webhook-signature": v1a}
    with pytest.raises(SignatureVerificationError, match="match"):
        verify(body, only_v1a, secret)  # a secret never stands for a public key
    with pytest.raises(SignatureVerificationError, match="match"):
        verify(body, only_v1a, generate_keypair()[1])
    with pytest.raises(SignatureVerificationError, match="match"):
        verify(body + b" ", only_v1a, public)


def test_a_public_key_never_serves_as_an_hmac_key():
    """Anyone has the public key: HMACs made with it as the key must not verify."""
    _, public = generate_keypair()
    body, now = b"{}", int(time.time())
    forged = signature_headers([public], "msg_1", now, body, schemes=["standard", "hex"])
    with pytest.raises(SignatureVerificationError, match="match"):
        verify(body, forged, public)
    with pytest.raises(SignatureVerificationError, match="match"):
        verify(body, forged, public, schemes=["hex"])


def test_verify_refuses_a_private_key_or_a_malformed_public_key():
    headers = {"webhook-id": MSG_ID, "webhook-timestamp": str(TS), "webhook-signature": V1A}
    with pytest.raises(ValueError, match="public key"):
        verify(BODY, headers, SK, now=TS)
    with pytest.raises(ValueError, match="whpk_"):
        verify(BODY, headers, "whpk_notbase64!", now=TS)


def test_turning_ed25519_on_gives_the_webhook_a_key_pair_and_shows_its_public_key(
    project, receiver
):
    hook = operations.create_webhook(url=receiver.url, project=project)
    assert hook.signing_key == "" and hook.public_key == ""
    operations.update_webhook(hook, signatures=["standard", "ed25519"])
    hook.refresh_from_db()
    assert hook.signing_key.startswith("whsk_") and public_key_of(hook.signing_key) == (
        hook.public_key
    )
    key = hook.signing_key
    operations.update_webhook(hook, signatures=["ed25519"])
    hook.refresh_from_db()
    assert hook.signing_key == key  # the receivers' public key stays valid


def test_real_deliveries_verify_with_libsodium_and_with_webhook_view(
    make_webhook, receiver, make_item, deliver
):
    """ed25519 alone: the receiver holds only the public key."""
    hook = make_webhook(receiver.url, signatures=["ed25519", "github"])
    for title in ("one", "two", "three"):
        make_item(title=title)
    deliver()
    sent = receiver.wait_for(3)
    handled = []

    @webhook_view(secret=hook.public_key)
    def receive(request, payload):
        handled.append(payload)

    for request in sent:
        assert nacl_verifies(hook.public_key, request.headers, request.body)
        assert not nacl_verifies(generate_keypair()[1], request.headers, request.body)
        forwarded = RequestFactory().post(
            "/hook", request.body, content_type="application/json", headers=request.headers
        )
        assert receive(forwarded).status_code == 204
    assert sorted(p["data"]["title"] for p in handled) == ["one", "three", "two"]


NODE_VERIFY = """
const crypto = require("crypto");
const [publicKey, id, timestamp, signatures] = process.argv.slice(1);
const body = require("fs").readFileSync(0);
const x = Buffer.from(publicKey.slice(5), "base64").toString("base64url");
const key = crypto.createPublicKey({key: {kty: "OKP", crv: "Ed25519", x}, format: "jwk"});
const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`), body]);
const ok = signatures.split(" ").filter((s) => s.startsWith("v1a,"))
  .some((s) => crypto.verify(null, signed, key, Buffer.from(s.slice(4), "base64")));
process.stdout.write(ok ? "verified" : "refused");
"""


def test_real_deliveries_verify_with_nodes_own_ed25519(make_webhook, receiver, make_item, deliver):
    """Node's crypto (OpenSSL, no JavaScript library) on the bytes that arrived."""
    hook = make_webhook(receiver.url, signatures=["standard", "ed25519"])
    make_item(title="über ✓")
    deliver()
    (sent,) = receiver.wait_for(1)
    assert json.loads(sent.body)["data"]["title"] == "über ✓"
    lowered = {k.lower(): v for k, v in sent.headers.items()}
    for key, expected in ((hook.public_key, "verified"), (generate_keypair()[1], "refused")):
        done = subprocess.run(
            [
                "node",
                "-e",
                NODE_VERIFY,
                key,
                lowered["webhook-id"],
                lowered["webhook-timestamp"],
                lowered["webhook-signature"],
            ],
            input=sent.body,
            capture_output=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.decode() == expected


def test_the_public_key_is_shown_in_the_admin_and_the_settings_page_the_private_never(
    admin_client, client, project, make_webhook, receiver
):
    hook = make_webhook(receiver.url, signatures=["standard", "ed25519"])
    admin_page = admin_client.get(
        reverse("admin:webhooks_app_webhook_change", args=[hook.pk])
    ).content.decode()
    client.force_login(manager_of(project))
    portal_page = client.get(
        reverse(
            "webhooks_portal:webhook", kwargs={"project_pk": project.pk, "webhook_id": hook.uuid}
        )
    ).content.decode()
    for page in (admin_page, portal_page):
        assert hook.public_key in page
        assert hook.signing_key not in page and hook.signing_key[5:30] not in page


def test_ed25519_is_refused_where_cryptography_is_missing(project, receiver, monkeypatch):
    monkeypatch.setattr(validators, "ed25519_available", lambda: False)
    with pytest.raises(ValidationError) as refused:
        operations.create_webhook(url=receiver.url, project=project, signatures=["ed25519"])
    assert "django-webhooks-app[ed25519]" in refused.value.message_dict["signatures"][0]
