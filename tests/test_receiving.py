"""The receiving view decorator, fed requests our own sender made."""

from __future__ import annotations

import json
import time

import pytest
from django.core.cache import cache
from django.http import HttpResponse
from django.test import RequestFactory

from webhooks_app.receiving import webhook_view
from webhooks_app.signing import generate_secret, signature_headers

SECRET = generate_secret()


@pytest.fixture(autouse=True)
def forget_seen_ids():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def handled():
    return []


@pytest.fixture
def view(handled):
    @webhook_view(secret=SECRET)
    def receive(request, payload):
        handled.append(payload)

    return receive


def post(view, body=b'{"event":"items.store"}', *, msg_id="msg_1", at=None, secret=SECRET):
    headers = signature_headers([secret], msg_id, int(at or time.time()), body)
    request = RequestFactory().post("/hook", body, content_type="application/json", headers=headers)
    return view(request)


def test_a_request_our_sender_made_is_verified_and_handled(
    webhook, receiver, make_item, deliver, handled, view
):
    make_item(title="Ship it")
    deliver()
    (sent,) = receiver.wait_for(1)
    request = RequestFactory().post(
        "/hook", sent.body, content_type="application/json", headers=sent.headers
    )
    webhook.refresh_from_db()

    @webhook_view(secret=lambda request: webhook.secret)
    def receive(request, payload):
        handled.append(payload)

    assert receive(request).status_code == 204
    assert handled[0]["event"] == "items.store" and handled[0]["data"]["title"] == "Ship it"


@pytest.mark.parametrize(
    "kwargs, reason",
    [
        ({"at": time.time() - 3600}, "too old"),
        ({"at": time.time() + 3600}, "too new"),
        ({"secret": generate_secret()}, "mismatch"),
        ({"body": b"not json"}, "not JSON"),
    ],
)
def test_a_request_that_does_not_verify_never_reaches_the_handler(view, handled, kwargs, reason):
    response = post(view, **kwargs)
    assert response.status_code == 400
    assert json.loads(response.content) == {"error": reason}
    assert handled == []


def test_an_unsigned_request_is_refused(view, handled):
    request = RequestFactory().post("/hook", b"{}", content_type="application/json")
    assert view(request).status_code == 400 and handled == []


def test_a_redelivered_message_is_answered_but_handled_once(view, handled):
    assert post(view, msg_id="msg_1").status_code == 204
    assert post(view, msg_id="msg_1").status_code == 200
    assert post(view, msg_id="msg_2").status_code == 204
    assert len(handled) == 2


def test_a_handler_that_fails_lets_the_retry_through(handled):
    attempts = []

    @webhook_view(secret=SECRET)
    def flaky(request, payload):
        attempts.append(payload)
        if len(attempts) == 1:
            raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        post(flaky)
    assert post(flaky).status_code == 204
    assert len(attempts) == 2


def test_only_post_is_accepted_and_csrf_does_not_apply(view):
    assert view(RequestFactory().get("/hook")).status_code == 405
    assert getattr(view, "csrf_exempt", False)


# The cache option's fixes and its stated limits (docs/receivers.md, "A Django receiver").


def test_an_error_answer_gives_the_id_back_so_the_retry_is_handled():
    answers = [503, None]
    handled = []

    @webhook_view(secret=SECRET)
    def busy(request, payload):
        handled.append(payload)
        status = answers.pop(0)
        return HttpResponse(status=status) if status else None

    assert post(busy).status_code == 503
    assert post(busy).status_code == 204
    assert post(busy).status_code == 200
    assert len(handled) == 2


def test_ids_are_scoped_by_the_tenant_secret_that_verified(handled):
    tenants = {"acme": generate_secret(), "globex": generate_secret()}

    @webhook_view(secret=lambda request: tenants[request.GET["tenant"]])
    def receive(request, payload):
        handled.append(request.GET["tenant"])

    def post_as(tenant):
        headers = signature_headers([tenants[tenant]], "msg_1", int(time.time()), b"{}")
        request = RequestFactory().post(
            f"/hook?tenant={tenant}", b"{}", content_type="application/json", headers=headers
        )
        return receive(request).status_code

    assert [post_as("acme"), post_as("globex"), post_as("acme")] == [204, 204, 200]
    assert handled == ["acme", "globex"]


def test_ids_are_scoped_by_the_scope_given(handled):
    @webhook_view(secret=SECRET, scope=lambda request: request.GET["tenant"])
    def receive(request, payload):
        handled.append(request.GET["tenant"])

    def post_as(tenant):
        headers = signature_headers([SECRET], "msg_1", int(time.time()), b"{}")
        request = RequestFactory().post(
            f"/hook?tenant={tenant}", b"{}", content_type="application/json", headers=headers
        )
        return receive(request).status_code

    assert [post_as("1"), post_as("2"), post_as("2")] == [204, 204, 200]
    assert handled == ["1", "2"]


def test_a_copy_arriving_while_the_first_is_handled_is_asked_to_come_back():
    answers = []

    @webhook_view(secret=SECRET)
    def receive(request, payload):
        if not answers:  # the sender's copy arrives while this one is being handled
            answers.append(post(receive))

    assert post(receive).status_code == 204
    (copy,) = answers
    assert copy.status_code == 409 and json.loads(copy.content) == {"error": "being handled"}
    assert post(receive).status_code == 200


def test_the_local_memory_cache_forgets_ids_beyond_its_300_entries(handled, view):
    """The stated limit of the cache option with Django's default cache: an id is
    handled again once 300 others came after it."""
    post(view, msg_id="msg_first")
    for n in range(400):
        post(view, msg_id=f"msg_{n}")
    assert post(view, msg_id="msg_first").status_code == 204
    assert len(handled) == 402
