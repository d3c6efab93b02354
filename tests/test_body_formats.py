"""Every signature scheme and body format a webhook can be given verifies with each
scheme's reference verifier, used with its default options, and with webhook_view; the
combinations that cannot are refused, with the reason, wherever a webhook is configured."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from urllib.parse import parse_qs

import pytest
from django.core import checks
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from rest_framework.test import APIClient
from standardwebhooks.webhooks import Webhook as StandardWebhooksVerifier
from svix.webhooks import Webhook as SvixVerifier

from tests.conftest import manager_of
from tests.test_asymmetric import nacl_verifies
from webhooks_app import checks as webhook_checks
from webhooks_app import operations
from webhooks_app.admin.forms import WebhookForm
from webhooks_app.models import Delivery, DeliveryLog, Webhook
from webhooks_app.receiving import webhook_view
from webhooks_app.signing import SCHEMES
from webhooks_app.validators import body_format_refusal

ALL_COMBINATIONS = [
    (list(schemes), content_type)
    for content_type in ("json", "form")
    for size in range(1, len(SCHEMES) + 1)
    for schemes in itertools.combinations(SCHEMES, size)
]
ALLOWED = [(s, c) for s, c in ALL_COMBINATIONS if body_format_refusal(s, c) is None]
REFUSED = [(s, c) for s, c in ALL_COMBINATIONS if body_format_refusal(s, c) is not None]


def test_the_rule_refuses_exactly_form_bodies_with_standard_webhooks_signatures():
    assert len(ALL_COMBINATIONS) == 126 and len(ALLOWED) == 63 + 15
    assert all(c == "form" and {"standard", "ed25519"} & set(s) for s, c in REFUSED)


# The body schemes' verifiers as each sender's documentation writes them.
def github_docs(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-Hub-Signature-256"])


def hex_header(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-Webhook-Signature-256"])


def agiletune_seed(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["X-AgileTune-Signature"].encode(), expected.encode())


def icescrum_seed(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    expected = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return hmac.compare_digest(expected, headers["x-icescrum-signature"])


BODY_VERIFIERS = {
    "github": github_docs,
    "hex": hex_header,
    "agiletune": agiletune_seed,
    "icescrum": icescrum_seed,
}


def reference_verifiers_accept(hook: Webhook, body: bytes, headers: dict[str, str]) -> None:
    if "standard" in hook.signatures:
        StandardWebhooksVerifier(hook.secret).verify(body, headers)  # parses JSON: default
        SvixVerifier(hook.secret).verify(body, headers)
    if "ed25519" in hook.signatures:
        assert nacl_verifies(hook.public_key, headers, body)
    for scheme, verifier in BODY_VERIFIERS.items():
        if scheme in hook.signatures:
            assert verifier(hook.secret, body, headers), scheme


def test_every_allowed_combination_verifies_with_the_reference_libraries_and_webhook_view(
    project, receiver, make_item, deliver
):
    hooks = {
        f"/hook?c={n}": operations.create_webhook(
            url=f"{receiver.url}?c={n}",
            project=project,
            events=["items.*"],
            signatures=schemes,
            content_type=content_type,
        )
        for n, (schemes, content_type) in enumerate(ALLOWED)
    }
    make_item(title="a + b = ü&ß")
    deliver()
    # An attempt the loaded test server dropped is retried, as it would be in production.
    for _ in range(3):
        if not Delivery.objects.filter(status=Delivery.Status.PENDING).exists():
            break
        deliver(after=3600)
    assert Delivery.objects.filter(status=Delivery.Status.SUCCEEDED).count() == len(hooks), [
        log.error for log in DeliveryLog.objects.exclude(error="")
    ]
    arrived = {r.path: r for r in receiver.wait_for(len(hooks), timeout=60)}
    assert sorted(arrived) == sorted(hooks)
    for request in arrived.values():
        hook = hooks[request.path]
        form = request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert form == (hook.content_type == "form")
        reference_verifiers_accept(hook, request.body, request.headers)
        sent = (
            json.loads(parse_qs(request.body.decode(), strict_parsing=True)["payload"][0])
            if form
            else json.loads(request.body)
        )
        assert sent["data"]["title"] == "a + b = ü&ß"
        handled = []

        @webhook_view(
            secret=[hook.secret, *([hook.public_key] if hook.public_key else [])],
            schemes=hook.signatures,
            dedupe_for=None,
        )
        def receive(request, payload, handled=handled):
            handled.append(payload)

        forwarded = RequestFactory().post(
            "/hook",
            request.body,
            content_type=request.headers["Content-Type"],
            headers=request.headers,
        )
        assert receive(forwarded).status_code == 204, (hook.signatures, hook.content_type)
        assert handled == [sent]


@pytest.mark.parametrize("signatures", [["standard"], ["ed25519"], ["standard", "hex"]])
def test_operations_refuse_form_bodies_with_standard_webhooks_signatures(
    project, receiver, signatures
):
    with pytest.raises(ValidationError) as refused:
        operations.create_webhook(
            url=receiver.url, project=project, signatures=signatures, content_type="form"
        )
    (message,) = refused.value.message_dict["content_type"]
    assert "parse the body as JSON" in message
    hook = operations.create_webhook(url=receiver.url, project=project, signatures=["hex"])
    with pytest.raises(ValidationError, match="parse the body as JSON"):
        operations.update_webhook(hook, content_type="form", signatures=signatures)
    operations.update_webhook(hook, content_type="form")
    with pytest.raises(ValidationError, match="parse the body as JSON"):
        operations.update_webhook(hook, signatures=signatures)
    hook.refresh_from_db()
    assert (hook.signatures, hook.content_type) == (["hex"], "form")


def test_the_api_answers_400_naming_content_type(project, receiver):
    client = APIClient()
    client.force_authenticate(manager_of(project))
    base = f"/api/projects/{project.pk}/webhooks/"
    response = client.post(
        base,
        {"url": receiver.url, "events": ["items.store"], "content_type": "form"},
        format="json",
    )
    assert response.status_code == 400
    assert "parse the body as JSON" in response.json()["content_type"][0]
    response = client.post(
        base,
        {
            "url": receiver.url,
            "events": ["items.store"],
            "content_type": "form",
            "signatures": ["github"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    created = base + response.json()["id"] + "/"
    response = client.patch(created, {"signatures": ["github", "ed25519"]}, format="json")
    assert response.status_code == 400 and "ed25519" in response.json()["content_type"][0]
    response = client.patch(
        created, {"content_type": "json", "signatures": ["ed25519"]}, format="json"
    )
    assert response.status_code == 200
    public_key = response.json()["public_key"]
    assert public_key.startswith("whpk_") and public_key == Webhook.objects.get().public_key
    assert "whsk_" not in response.content.decode()


def form_data(hook: Webhook | None, **changes):
    data = {
        "name": "",
        "url": "http://127.0.0.1:9/hook",
        "enabled": "on",
        "verify_tls": "on",
        "rate_limit": "",
        "signatures": ["standard", "hex"],
        "extra_headers": "{}",
        "content_type": "json",
        "project": "",
    }
    if hook is not None:
        data.update(
            url=hook.url,
            signatures=hook.signatures,
            content_type=hook.content_type,
            project=str(hook.project_id or ""),
            name=hook.name,
        )
    data.update(changes)
    return data


def test_the_admin_form_refuses_the_combination_beside_the_content_type_field(project):
    form = WebhookForm(data=form_data(None, content_type="form"))
    assert not form.is_valid()
    assert "parse the body as JSON" in form.errors["content_type"][0]
    assert WebhookForm(
        data=form_data(None, content_type="form", signatures=["icescrum"])
    ).is_valid()


def test_a_webhook_stored_before_the_rule_is_still_sent_editable_and_reported(
    make_webhook, receiver, make_item, deliver
):
    """Nothing breaks for its receivers: it is sent as before, and a warning says so."""
    hook = make_webhook(receiver.url, signatures=["standard"], content_type="form")
    form = WebhookForm(data=form_data(hook, name="renamed"), instance=hook)
    assert form.is_valid(), form.errors
    operations.update_webhook(hook, name="renamed")
    make_item(title="still sent")
    deliver()
    (sent,) = receiver.wait_for(1)
    SvixVerifier(hook.secret).verify(sent.body, sent.headers)  # svix does not parse it
    with pytest.raises(json.JSONDecodeError):  # the reason it is no longer accepted
        StandardWebhooksVerifier(hook.secret).verify(sent.body, sent.headers)
    found = webhook_checks.check_stored_webhooks(databases=["default"])
    assert [(m.id, m.level) for m in found] == [("webhooks_app.W004", checks.WARNING)]
    assert f"ids {hook.pk}" in found[0].msg
    assert webhook_checks.check_stored_webhooks(databases=None) == []


def test_a_webhook_signing_with_ed25519_without_cryptography_is_a_check_error(
    make_webhook, receiver, monkeypatch
):
    make_webhook(receiver.url, signatures=["standard", "ed25519"])
    assert webhook_checks.check_stored_webhooks(databases=["default"]) == []
    # As on a server where the optional package is missing.
    monkeypatch.setattr(webhook_checks, "ed25519_available", lambda: False)
    (found,) = webhook_checks.check_stored_webhooks(databases=["default"])
    assert found.id == "webhooks_app.E020" and "[ed25519]" in found.hint
