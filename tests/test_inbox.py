"""The durable inbox: a message's id is recorded in the transaction of its handler's own
writes, so it is handled once, and a handler that fails leaves it free for the retry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest
from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.urls import reverse

from tests.testapp.models import Tag
from tests.testapp.receivers import RECEIVER_SECRET
from webhooks_app.conf import WebhookConfigurationError
from webhooks_app.inbox import operations
from webhooks_app.inbox.models import Message
from webhooks_app.inbox.scopes import fingerprint
from webhooks_app.receiving import webhook_view
from webhooks_app.signing import generate_secret, signature_headers
from webhooks_app.testing import wait_until

SECRET = generate_secret()


def post(view, payload=None, *, msg_id="msg_1", secret=SECRET, path="/hook", **options):
    body = json.dumps(payload or {"name": "first"}).encode()
    headers = signature_headers([secret], msg_id, int(time.time()), body, **options)
    headers["Authorization"] = "Bearer the-hosts-own-credential"
    request = RequestFactory().post(path, body, content_type="application/json", headers=headers)
    return view(request)


def post_items(client, title="Ship it", *, msg_id="msg_1"):
    """A signed message to the test host's inbox view (tests.testapp.receivers)."""
    body = json.dumps({"event": "items.store", "data": {"title": title}}).encode()
    headers = signature_headers([RECEIVER_SECRET], msg_id, int(time.time()), body)
    return client.post(
        reverse("receive-items"), body, content_type="application/json", headers=headers
    )


@pytest.fixture
def scripted(db):
    """An inbox view whose handler writes a Tag, then answers what ``answers`` says
    (a status code, "raise", or nothing: 204)."""
    answers: list[int | str] = []

    @webhook_view(secret=SECRET, inbox="tests.scripted")
    def receive(request, payload):
        Tag.objects.create(name=payload["name"])
        answer = answers.pop(0) if answers else None
        if answer == "raise":
            raise RuntimeError("database down")
        return HttpResponse(status=answer) if answer else None

    receive.answers = answers
    return receive


def test_a_message_is_handled_once_and_recorded_with_the_handlers_writes(scripted):
    assert post(scripted).status_code == 204
    assert post(scripted).status_code == 200
    assert Tag.objects.count() == 1
    message = Message.objects.get()
    assert (message.status, message.attempts, message.handler) == ("handled", 1, "tests.scripted")
    assert json.loads(message.payload) == {"name": "first"}
    assert message.headers["webhook-id"] == "msg_1"
    assert "authorization" not in message.headers  # the host's credentials are not kept


def test_an_error_answer_undoes_the_handlers_writes_and_frees_the_id(scripted):
    scripted.answers.append(503)
    assert post(scripted).status_code == 503
    assert Tag.objects.count() == 0
    failed = Message.objects.get()
    assert (failed.status, failed.attempts, failed.last_error) == ("failed", 1, "answered 503")

    assert post(scripted).status_code == 204
    assert post(scripted).status_code == 200
    assert Tag.objects.count() == 1
    handled = Message.objects.get()
    assert (handled.status, handled.attempts, handled.last_error) == ("handled", 2, "")


def test_a_handler_that_raises_frees_the_id_for_the_retry(scripted):
    scripted.answers.append("raise")
    with pytest.raises(RuntimeError):
        post(scripted)
    assert Tag.objects.count() == 0
    assert Message.objects.get().last_error == "RuntimeError: database down"
    assert post(scripted).status_code == 204
    assert Tag.objects.count() == 1


def test_ids_are_scoped_by_the_tenant_secret_that_verified(db):
    tenants = {"acme": generate_secret(), "globex": generate_secret()}

    @webhook_view(secret=lambda request: tenants[request.GET["tenant"]], inbox="tests.tenants")
    def receive(request, payload):
        Tag.objects.create(name=request.GET["tenant"])

    def post_as(tenant):
        return post(receive, secret=tenants[tenant], path=f"/hook?tenant={tenant}").status_code

    assert [post_as("acme"), post_as("globex"), post_as("acme")] == [204, 204, 200]
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["acme", "globex"]
    scopes = set(Message.objects.values_list("scope", flat=True))
    assert scopes == {fingerprint(tenants["acme"]), fingerprint(tenants["globex"])}
    assert not any(secret in scope for scope in scopes for secret in tenants.values())


def test_a_secret_among_several_scopes_by_the_one_that_verified(db):
    old, new = generate_secret(), generate_secret()

    @webhook_view(secret=[new, old], inbox="tests.rotation")
    def receive(request, payload):
        pass

    assert post(receive, secret=old).status_code == 204
    assert Message.objects.get().scope == fingerprint(old)


def test_ids_are_scoped_by_the_scope_given(db):
    @webhook_view(secret=SECRET, inbox="tests.scope", scope=lambda request: request.GET["t"])
    def receive(request, payload):
        Tag.objects.create(name=request.GET["t"])

    codes = [post(receive, path=f"/hook?t={t}").status_code for t in ("1", "2", "2")]
    assert codes == [204, 204, 200]
    assert set(Message.objects.values_list("scope", flat=True)) == {"1", "2"}


def test_a_message_without_an_id_is_recorded_and_handled_each_time(db):
    @webhook_view(secret=SECRET, schemes=["github"], inbox="tests.no-id")
    def receive(request, payload):
        Tag.objects.create(name="no id")

    assert post(receive, schemes=["github"]).status_code == 204
    assert post(receive, schemes=["github"]).status_code == 204
    assert list(Message.objects.values_list("msg_id", flat=True)) == ["", ""]


def test_a_long_id_and_a_nul_in_the_payload_are_stored_as_they_came(scripted):
    long_id = "msg_" + "x" * 1000
    payload = {"name": "odd", "note": "a\x00b \ud800"}
    assert post(scripted, payload, msg_id=long_id).status_code == 204
    assert post(scripted, payload, msg_id=long_id).status_code == 200
    message = Message.objects.get()
    assert message.msg_id.startswith("sha256:")
    assert json.loads(message.payload) == payload


def test_replay_handles_a_message_the_sender_gave_up_on(db, client, monkeypatch):
    monkeypatch.setenv("TESTAPP_RECEIVER_ANSWERS", "503")
    assert post_items(client).status_code == 503
    monkeypatch.delenv("TESTAPP_RECEIVER_ANSWERS")

    (outcome,) = operations.replay(Message.objects.all())
    assert outcome.ok and outcome.status == 204
    assert list(Tag.objects.values_list("name", flat=True)) == ["got Ship it"]
    message = Message.objects.get()
    assert (message.status, message.attempts) == ("handled", 2)
    assert post_items(client).status_code == 200  # a late retry from the sender


def test_a_replay_that_fails_changes_nothing_and_says_why(db, client, monkeypatch):
    assert post_items(client).status_code == 204
    monkeypatch.setenv("TESTAPP_RECEIVER_ANSWERS", "500")
    (outcome,) = operations.replay(Message.objects.all())
    assert (outcome.ok, outcome.status) == (False, 500)
    assert Tag.objects.count() == 1
    message = Message.objects.get()
    assert (message.status, message.attempts, message.last_error) == ("handled", 2, "answered 500")


def test_replay_of_a_handler_no_view_registers_says_so(db):
    message = Message.objects.create(
        handler="gone.handler",
        scope="s",
        msg_id="m",
        status="failed",
        path="/x",
        body="{}",
        payload="{}",
    )
    (outcome,) = operations.replay([message])
    assert not outcome.ok and "gone.handler" in outcome.error
    message.refresh_from_db()
    assert "gone.handler" in message.last_error


def test_the_admin_lists_filters_and_shows_what_was_received(admin_client, client, monkeypatch):
    assert post_items(client, "Handled", msg_id="msg_ok").status_code == 204
    monkeypatch.setenv("TESTAPP_RECEIVER_ANSWERS", "503")
    assert post_items(client, "Refused", msg_id="msg_refused").status_code == 503
    url = reverse("admin:webhooks_inbox_message_changelist")

    page = admin_client.get(url).content.decode()
    assert "msg_ok" in page and "msg_refused" in page
    failed = admin_client.get(url, {"status": "failed"}).content.decode()
    assert "msg_refused" in failed and "msg_ok" not in failed
    scope = fingerprint(RECEIVER_SECRET)
    assert "msg_ok" in admin_client.get(url, {"scope": scope}).content.decode()
    assert "msg_ok" not in admin_client.get(url, {"scope": "other"}).content.decode()

    message = Message.objects.get(msg_id="msg_ok")
    detail = admin_client.get(reverse("admin:webhooks_inbox_message_change", args=[message.pk]))
    assert "&quot;title&quot;: &quot;Handled&quot;" in detail.content.decode()


def test_the_admin_replay_action_runs_the_handler_again(admin_client, client, monkeypatch):
    monkeypatch.setenv("TESTAPP_RECEIVER_ANSWERS", "503")
    assert post_items(client, "Later").status_code == 503
    monkeypatch.delenv("TESTAPP_RECEIVER_ANSWERS")
    message = Message.objects.get()

    response = admin_client.post(
        reverse("admin:webhooks_inbox_message_changelist"),
        {"action": "replay", "_selected_action": [message.pk]},
        follow=True,
    )
    assert "1 message handled." in response.content.decode()
    assert list(Tag.objects.values_list("name", flat=True)) == ["got Later"]
    message.refresh_from_db()
    assert message.status == "handled"


def test_two_handlers_cannot_share_an_inbox_name(db):
    def first(request, payload):
        pass

    def second(request, payload):
        pass

    webhook_view(secret=SECRET, inbox="tests.shared")(first)
    with pytest.raises(WebhookConfigurationError, match="each handler needs a name"):
        webhook_view(secret=SECRET, inbox="tests.shared")(second)


def test_the_inbox_needs_its_app_installed():
    others = [app for app in settings.INSTALLED_APPS if app != "webhooks_app.inbox"]
    with (
        override_settings(INSTALLED_APPS=others),
        pytest.raises(WebhookConfigurationError, match=r"webhooks_app\.inbox"),
    ):
        webhook_view(secret=SECRET, inbox="tests.uninstalled")(lambda request, p: None)


# Two copies at once, on PostgreSQL: the second's insert waits on the first's row.


@pytest.fixture
def postgres(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("the concurrent insert is shown on PostgreSQL")


@pytest.fixture
def held(postgres):
    """An inbox view whose handler, on its first call, waits for ``release`` and then
    answers ``first_answer`` (None: 204)."""
    state = {"entered": threading.Event(), "release": threading.Event(), "first_answer": None}
    calls: list[str] = []

    @webhook_view(secret=SECRET, inbox="tests.held")
    def receive(request, payload):
        Tag.objects.create(name=f"call {len(calls)}")
        calls.append(payload["name"])
        if len(calls) == 1:
            state["entered"].set()
            state["release"].wait(timeout=60)
            status = state["first_answer"]
            return HttpResponse(status=status) if status else None
        return None

    state["view"], state["calls"] = receive, calls
    return state


def two_copies_at_once(held) -> dict[str, int]:
    """The first copy enters the handler; the second arrives and waits on the inbox
    row; then the first finishes."""
    answers: dict[str, int] = {}

    def send(name: str) -> None:
        try:
            answers[name] = post(held["view"]).status_code
        finally:
            connection.close()

    first = threading.Thread(target=send, args=("first",))
    first.start()
    assert held["entered"].wait(timeout=60)
    second = threading.Thread(target=send, args=("second",))
    second.start()
    wait_for_a_backend_waiting_on_a_lock()
    held["release"].set()
    first.join(timeout=60)
    second.join(timeout=60)
    return answers


def wait_for_a_backend_waiting_on_a_lock() -> None:
    """Until the second copy waits on the first's inbox row."""

    def waiting() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return bool(cursor.fetchone()[0])

    wait_until(waiting, timeout=60)


def test_a_copy_arriving_during_handling_waits_and_is_not_handled_again(held):
    assert two_copies_at_once(held) == {"first": 204, "second": 200}
    assert len(held["calls"]) == 1 and Tag.objects.count() == 1
    assert Message.objects.get().status == "handled"


def test_a_copy_arriving_during_a_failing_handling_is_handled_after_it(held):
    held["first_answer"] = 503
    assert two_copies_at_once(held) == {"first": 503, "second": 204}
    assert len(held["calls"]) == 2
    assert list(Tag.objects.values_list("name", flat=True)) == ["call 1"]
    assert Message.objects.get().status == "handled"


RECEIVE_ONLY = """
import json, time
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.contrib.auth.models import Group
from webhooks_app.inbox.models import Message
from webhooks_app.signing import signature_headers
from tests.receiver_only_urls import SECRET

call_command("migrate", verbosity=0)
call_command("check", fail_level="WARNING")
body = b'{"name": "from a receive-only host"}'
headers = signature_headers([SECRET], "msg_1", int(time.time()), body)
codes = [
    Client().post("/hook/", body, content_type="application/json", headers=headers).status_code
    for _ in range(2)
]
print(json.dumps({
    "codes": codes,
    "groups": Group.objects.count(),
    "messages": list(Message.objects.values_list("status", flat=True)),
    "tables": connection.introspection.table_names(),
}))
"""


def test_a_host_that_only_receives_installs_only_the_inbox(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + RECEIVE_ONLY],
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.receiver_only_settings",
            "RECEIVER_ONLY_DB": str(tmp_path / "receiver.sqlite3"),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["codes"] == [204, 200]
    assert (seen["groups"], seen["messages"]) == (1, ["handled"])
    assert "webhooks_inbox_message" in seen["tables"]
    assert not [t for t in seen["tables"] if t.startswith(("webhooks_app_", "django_q"))]
