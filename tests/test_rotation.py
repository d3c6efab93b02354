"""A secret rotation done as the settings page says, against receivers written as each
scheme's own documentation writes them: octokit, GitHub's documented Python check,
AgileTune's snippet and iceScrum's procedure for the headers that hold one signature;
the ``standardwebhooks`` and ``svix`` packages for ``webhook-signature``.

Real deliveries (events through the worker's loop, and a test ping) go to a real receiver
on 127.0.0.1 at each step: before the rotation, during the overlap before the switch,
after the switch, and after the overlap."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.conftest import manager_of
from tests.verifiers import (
    SINGLE_SIGNATURE,
    Tally,
    lowered,
    single_signature_tallies,
    standard_tallies,
)
from webhooks_app import operations
from webhooks_app.models import Webhook
from webhooks_app.signing import BODY_SCHEMES, STANDARD

ONE_SIGNATURE = re.compile(r"^(sha256=[0-9a-f]{64}|[0-9a-f]{64}|[0-9a-f]{40})$")
EVENTS_PER_STEP = 3


@pytest.fixture
def every_scheme(make_webhook, receiver):
    """A webhook sending every signature header at once."""
    # Every scheme a secret signs (ed25519 signs with a key pair no rotation touches).
    return make_webhook(receiver.url, signatures=[STANDARD, *BODY_SCHEMES])


@pytest.fixture
def page(client, project):
    """The settings page, signed in as a manager of the project."""
    client.force_login(manager_of(project))

    def post(name, webhook):
        kwargs = {"project_pk": project.pk, "webhook_id": webhook.uuid}
        return client.post(reverse(f"webhooks_portal:{name}", kwargs=kwargs), follow=True)

    return post


def deliveries(webhook, receiver, make_item, deliver):
    """A step's requests: events sent by the worker's loop, then a test ping."""
    seen = receiver.count
    for n in range(EVENTS_PER_STEP):
        make_item(title=f"item {n}")
    deliver()
    operations.send_test(webhook)
    return receiver.wait_for(seen + EVENTS_PER_STEP + 1)[seen:]


def assert_one_signature_per_header(requests):
    for request in requests:
        headers = lowered(request)
        for scheme in BODY_SCHEMES.values():
            assert ONE_SIGNATURE.match(headers[scheme.header.lower()]), headers
        assert len(headers["webhook-signature"].split(" ")) in (1, 2)


def refusals(tallies: dict[str, Tally], requests: list) -> dict[str, Tally]:
    """The receivers that did not accept every request on every header they read (empty:
    all did)."""
    expected = {name: len(requests) * len(SINGLE_SIGNATURE.get(name, "-")) for name in tallies}
    return {n: t for n, t in tallies.items() if (t.accepted, t.refused) != (expected[n], 0)}


def acceptances(tallies: dict[str, Tally]) -> dict[str, Tally]:
    return {name: t for name, t in tallies.items() if t.accepted}


def assert_step(requests, node, *, single, standard, single_refused=None, standard_refused=None):
    """Every receiver holding what it holds at this step accepts every request; one
    holding only the secret it must not hold yet (or any more) accepts none."""
    assert len(requests) == EVENTS_PER_STEP + 1
    assert_one_signature_per_header(requests)
    for holding in single:
        assert refusals(single_signature_tallies(requests, holding, node), requests) == {}
    for holding in standard:
        assert refusals(standard_tallies(requests, holding), requests) == {}
    if single_refused:
        assert acceptances(single_signature_tallies(requests, [single_refused], node)) == {}
    if standard_refused:
        assert acceptances(standard_tallies(requests, [standard_refused])) == {}


def test_a_rotation_done_as_the_page_says_fails_no_documented_verifier(
    every_scheme, receiver, make_item, deliver, page, node_verifiers
):
    webhook, old = every_scheme, every_scheme.secret

    def step():
        return deliveries(webhook, receiver, make_item, deliver)

    # Before the rotation: one secret, and every receiver holds it.
    assert_step(step(), node_verifiers, single=[[old]], standard=[[old]])

    # Rotated on the page, which shows the new secret once and says who holds what.
    shown = page("rotate", webhook).content.decode()
    new = re.search(r'id="wh-secret"[^>]*value="([^"]+)"', shown)[1]
    assert new != old and Webhook.objects.get().secret == new
    assert "still signed with the previous secret" in shown

    # Overlap, before the switch: single-signature receivers still hold the old secret
    # (or both); Standard Webhooks receivers hold either, or both.
    assert_step(
        step(),
        node_verifiers,
        single=[[old], [new, old]],
        standard=[[old], [new], [new, old]],
        single_refused=new,
    )

    # Switched on the page, and single-signature receivers given the new secret.
    assert "now signed with the new secret" in page("switch-secret", webhook).content.decode()
    assert_step(
        step(),
        node_verifiers,
        single=[[new], [new, old]],
        standard=[[old], [new], [new, old]],
        single_refused=old,
    )

    # After the overlap: the new secret alone signs everything.
    Webhook.objects.filter(pk=webhook.pk).update(previous_secret_expires_at=timezone.now())
    after = step()
    assert all(len(lowered(r)["webhook-signature"].split(" ")) == 1 for r in after)
    assert_step(
        after,
        node_verifiers,
        single=[[new]],
        standard=[[new]],
        single_refused=old,
        standard_refused=old,
    )


def test_rotating_again_before_the_switch_keeps_the_secret_receivers_hold(every_scheme):
    """Single-signature receivers still hold the first secret: a second rotation (the new
    secret was lost, say) replaces the new one and leaves theirs signing."""
    first = every_scheme.secret
    operations.rotate_secret(every_scheme)
    operations.rotate_secret(every_scheme)
    signers = Webhook.objects.get().signers()
    assert signers.single == first and signers.standard == (every_scheme.secret, first)

    operations.switch_secret(every_scheme)
    switched = every_scheme.secret
    operations.rotate_secret(every_scheme)  # after a switch, the switched-to secret stays
    signers = Webhook.objects.get().signers()
    assert signers.single == switched and signers.standard == (every_scheme.secret, switched)


def test_with_no_overlap_a_rotation_switches_at_once(every_scheme, webhooks_settings):
    webhooks_settings(SECRET_ROTATION_OVERLAP=0)
    new = operations.rotate_secret(every_scheme)
    assert Webhook.objects.get().signers().standard == (new,)
    assert operations.switch_secret(every_scheme) is False
