"""Project Settings → Webhooks: the pages a project's own managers use, through Django's
test client against real receivers. (The whole flow in a browser is test_portal_browser.)"""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from tests.conftest import manager_of
from webhooks_app import operations
from webhooks_app.models import (
    Delivery,
    DeliveryLog,
    DeliveryTaskMarker,
    Webhook,
    WebhookStatus,
)
from webhooks_app.testing import Reply


@pytest.fixture
def manager(project):
    return manager_of(project, "owner")


@pytest.fixture
def signed_in(client, manager):
    client.force_login(manager)
    return client


def url(project, name="webhooks", **kwargs) -> str:
    return reverse(f"webhooks_portal:{name}", kwargs={"project_pk": project.pk, **kwargs})


def text(response) -> str:
    return response.content.decode()


def add_form(address: str, **fields) -> dict:
    return {"url": address, "name": "CI", "enabled": "on", "verify_tls": "on", **fields}


# -- access -----------------------------------------------------------------------------


def test_anyone_but_a_manager_gets_a_403_that_says_nothing_of_the_project(
    client, project, make_webhook
):
    make_webhook("https://secret-partner.example.com/hook")
    outsider = User.objects.create_user("dev", "dev@example.com", "x")
    client.force_login(outsider)
    for page in ("webhooks", "add", "grid", "log"):
        response = client.get(url(project, page))
        assert response.status_code == 403
        assert project.name not in text(response) and "secret-partner" not in text(response)
    assert client.post(url(project, "test-all")).status_code == 403


def test_signing_in_is_asked_first_and_a_missing_project_is_a_404(client, signed_in, project):
    assert signed_in.get(url(project)).status_code == 200
    signed_in.logout()
    assert signed_in.get(url(project)).status_code == 302
    signed_in.force_login(User.objects.get(username="owner"))
    missing = reverse("webhooks_portal:webhooks", kwargs={"project_pk": project.pk + 100})
    assert signed_in.get(missing).status_code == 404


def test_changes_need_a_csrf_token(project, manager):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(manager)
    assert strict.post(url(project, "add"), add_form("https://example.com/h")).status_code == 403
    assert not Webhook.objects.exists()


# -- creating and editing ---------------------------------------------------------------


def test_a_webhook_is_made_from_a_category_and_single_events_and_its_secret_shown_once(
    signed_in, project
):
    response = signed_in.post(
        url(project, "add"),
        add_form(
            "https://ci.example.com/hook",
            categories=["Item events"],
            events=["items.tags.add", "items.tags.remove"],
        ),
        follow=True,
    )
    webhook = Webhook.objects.get()
    item_events = ["items.store", "items.update", "items.done", "items.move", "items.destroy"]
    assert sorted(webhook.subscriptions.values_list("event_type", flat=True)) == sorted(
        [*item_events, "items.tags.add", "items.tags.remove"]
    )
    assert webhook.secret in text(response) and "will not be shown again" in text(response)
    again = signed_in.get(url(project, "secret", webhook_id=webhook.uuid), follow=True)
    assert webhook.secret not in text(again) and "shown only once" in text(again)


def test_all_events_is_one_subscription_and_edits_keep_what_the_boxes_cannot_show(
    signed_in, project, make_webhook
):
    webhook = make_webhook("https://ci.example.com/hook", events=("items.*", "items.store"))
    page = signed_in.get(url(project, "edit", webhook_id=webhook.uuid))
    assert 'value="items.*"' in text(page)  # the family rides along, hidden

    signed_in.post(
        url(project, "edit", webhook_id=webhook.uuid),
        add_form(webhook.url, events=["items.done"], kept="items.*"),
    )
    assert sorted(webhook.subscriptions.values_list("event_type", flat=True)) == [
        "items.*",
        "items.done",
    ]
    signed_in.post(
        url(project, "edit", webhook_id=webhook.uuid), add_form(webhook.url, all_events="on")
    )
    assert list(webhook.subscriptions.values_list("event_type", flat=True)) == ["*"]


def test_a_category_is_saved_as_the_families_that_hold_only_its_events(signed_in, project):
    signed_in.post(
        url(project, "add"), add_form("https://ci.example.com/hook", categories=["Tag events"])
    )
    webhook = Webhook.objects.get()
    # "items.tags.*": a tag event added to the catalog later arrives without an edit.
    assert list(webhook.subscriptions.values_list("event_type", flat=True)) == ["items.tags.*"]
    edit = signed_in.get(url(project, "edit", webhook_id=webhook.uuid))
    assert edit.context["form"].initial["categories"] == ["Tag events"]
    assert edit.context["form"].initial["kept"] == ""
    listed = text(signed_in.get(url(project)))
    assert "Tag events" in listed and "items.tags.*" not in listed


def test_a_bad_url_is_shown_beside_its_field_and_nothing_is_saved(signed_in, project):
    response = signed_in.post(url(project, "add"), add_form("http://127.1:8080/\r\nX: y"))
    assert response.status_code == 200
    assert "control characters" in text(response)
    assert 'role="alert"' in text(response)
    assert not Webhook.objects.exists()


def test_on_the_free_plan_the_page_explains_and_webhooks_are_prepared_disabled(signed_in, project):
    project.plan = "free"
    project.save()
    page = signed_in.get(url(project))
    assert "Endpoints cannot be activated." in text(page) and "Pro feature" in text(page)

    signed_in.post(url(project, "add"), add_form("https://ci.example.com/hook"))
    webhook = Webhook.objects.get()
    assert webhook.status == WebhookStatus.DISABLED
    response = signed_in.post(url(project, "enable", webhook_id=webhook.uuid), follow=True)
    assert "Pro feature" in text(response)
    webhook.refresh_from_db()
    assert webhook.status == WebhookStatus.DISABLED


# -- actions ----------------------------------------------------------------------------


def test_test_shows_the_receivers_status_and_body(signed_in, project, make_webhook, receiver):
    webhook = make_webhook(receiver.url)
    receiver.reply(Reply(status=418, body=b"I'm a teapot"))
    response = signed_in.post(url(project, "test", webhook_id=webhook.uuid))
    assert "Answered HTTP 418" in text(response) and "I&#x27;m a teapot" in text(response)
    assert receiver.wait_for(1)[0].event == "ping"


def test_test_all_and_disable_enable_and_delete_after_confirming(
    signed_in, project, make_webhook, receiver
):
    webhook = make_webhook(receiver.url, name="Builds")
    assert "Answered HTTP 200" in text(signed_in.post(url(project, "test-all")))

    signed_in.post(url(project, "disable", webhook_id=webhook.uuid))
    webhook.refresh_from_db()
    assert webhook.status == WebhookStatus.DISABLED
    signed_in.post(url(project, "enable", webhook_id=webhook.uuid))
    webhook.refresh_from_db()
    assert webhook.status == WebhookStatus.ACTIVE

    confirm = signed_in.get(url(project, "delete", webhook_id=webhook.uuid))
    assert "Yes, delete it" in text(confirm) and Webhook.objects.exists()
    signed_in.post(url(project, "delete", webhook_id=webhook.uuid))
    assert not Webhook.objects.exists()


def test_rotating_shows_the_new_secret_once_and_when_the_old_one_stops(
    signed_in, project, make_webhook
):
    webhook = make_webhook("https://ci.example.com/hook")
    old = webhook.secret
    response = signed_in.post(url(project, "rotate", webhook_id=webhook.uuid), follow=True)
    webhook.refresh_from_db()
    assert webhook.secret != old and webhook.secret in text(response)
    assert "webhook-signature carries two signatures" in text(response)
    assert "are still signed with the previous secret" in text(response)


def test_the_webhook_page_marks_each_rotation_step_and_switches(signed_in, project, make_webhook):
    webhook = make_webhook("https://ci.example.com/hook")
    edit = url(project, "webhook", webhook_id=webhook.uuid)
    switch = url(project, "switch-secret", webhook_id=webhook.uuid)

    def current_step():
        return text(signed_in.get(edit)).split('aria-current="step">')[1].split("</li>")[0]

    assert "Before rotating" in current_step() and switch not in text(signed_in.get(edit))
    signed_in.post(url(project, "rotate", webhook_id=webhook.uuid))
    assert "Rotated, not switched" in current_step() and switch in text(signed_in.get(edit))
    signed_in.post(switch)
    assert "Switched:" in current_step() and switch not in text(signed_in.get(edit))
    Webhook.objects.update(previous_secret_expires_at=timezone.now())
    assert "After the overlap" in current_step()
    response = signed_in.post(switch, follow=True)
    assert "No rotation of" in text(response)


def test_another_projects_webhook_is_a_404(signed_in, project, other_project, make_webhook):
    theirs = make_webhook("https://other.example.com/hook", project=other_project)
    assert signed_in.get(url(project, "edit", webhook_id=theirs.uuid)).status_code == 404
    assert signed_in.post(url(project, "delete", webhook_id=theirs.uuid)).status_code == 404
    assert Webhook.objects.filter(pk=theirs.pk).exists()


# -- the grid ---------------------------------------------------------------------------


def test_the_grid_sets_and_clears_one_url_per_event(signed_in, project):
    response = signed_in.post(
        url(project, "grid"), {"event": "items.store", "url": "https://ci.example.com/a"}
    )
    webhook = Webhook.objects.get()
    assert response.url == url(project, "secret", webhook_id=webhook.uuid)
    grid = text(signed_in.get(url(project, "grid")))
    assert 'value="https://ci.example.com/a"' in grid

    signed_in.post(url(project, "grid"), {"event": "items.store", "url": ""})
    assert not webhook.subscriptions.exists()


# -- the log ----------------------------------------------------------------------------


def test_the_log_filters_pages_by_keyset_and_shows_each_attempt(
    signed_in, project, webhook, receiver, make_item, deliver, webhooks_settings
):
    webhooks_settings(PAGE_SIZE=2)
    for i in range(3):
        make_item(title=f"t{i}")
    deliver()
    first = signed_in.get(url(project, "log"))
    assert text(first).count("items.store</td>") == 2 and "Older attempts" in text(first)
    cursor = first.context["next_query"]
    second = signed_in.get(url(project, "log") + "?" + cursor)
    assert text(second).count("items.store</td>") == 1 and "Older attempts" not in text(second)

    none = signed_in.get(url(project, "log"), {"outcome": "failure"})
    assert "No attempt matches." in text(none)
    bad = signed_in.get(
        url(project, "log"), {"since": "2026-11-02T00:00", "until": "2026-11-01T00:00"}
    )
    assert "Must not be earlier" in text(bad)

    entry = DeliveryLog.objects.first()
    detail = text(signed_in.get(url(project, "attempt", log_id=entry.uuid)))
    assert "webhook-signature" in detail and "HTTP 200" in detail and "items.store" in detail


def test_redeliver_one_attempt_and_every_failure_since(
    signed_in, project, webhook, receiver, make_item, deliver, webhooks_settings
):
    webhooks_settings(RETRY_SCHEDULE=[])  # a failure is final at once
    receiver.default = Reply(status=500)
    make_item()
    make_item()
    deliver()
    assert Delivery.objects.filter(status=Delivery.Status.FAILED).count() == 2
    receiver.default = Reply()

    entry = DeliveryLog.objects.order_by("id").first()
    response = signed_in.post(url(project, "attempt", log_id=entry.uuid), follow=True)
    assert "Redelivered: attempt #2" in text(response)

    since = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = signed_in.post(
        url(project, "redeliver-failed", webhook_id=webhook.uuid), {"since": since}, follow=True
    )
    assert "1 failed deliveries" in text(response)
    deliver()
    assert Delivery.objects.filter(status=Delivery.Status.SUCCEEDED).count() == 2


# -- notification -----------------------------------------------------------------------


def test_managers_are_emailed_when_a_webhook_is_disabled_after_failures(
    project,
    manager,
    make_webhook,
    receiver,
    make_item,
    deliver,
    webhooks_settings,
    django_capture_on_commit_callbacks,
):
    webhooks_settings(FAILURE_THRESHOLD=2, BASE_URL="https://app.example.com")
    User.objects.create_user("bystander", "bystander@example.com", "x")
    webhook = make_webhook(receiver.url, name="Builds")
    receiver.default = Reply(status=503, body=b"down for maintenance")
    make_item()
    make_item()
    with django_capture_on_commit_callbacks(execute=True):  # the signal is sent on commit
        deliver()  # the first 503 pauses the endpoint until its retry
        deliver(after=3600)

    webhook.refresh_from_db()
    assert webhook.status == WebhookStatus.AUTO_DISABLED
    (message,) = mail.outbox
    assert message.to == ["owner@example.com"]
    assert "Builds" in message.subject and "failing" in message.subject
    assert "failed 2 times in a row" in message.body and "503" in message.body
    assert f"https://app.example.com{url(project)}" in message.body


def test_managers_get_one_digest_of_the_deliveries_given_up_not_a_mail_each(
    project, manager, make_webhook, receiver, make_item, deliver, webhooks_settings
):
    from webhooks_app.notifications import send_given_up_digests

    webhooks_settings(RETRY_SCHEDULE=[], FAILURE_THRESHOLD=100)  # a failure is final at once
    webhook = make_webhook(receiver.url, name="Builds <ci>")
    receiver.default = Reply(status=500)
    for _ in range(3):
        make_item()
    deliver()
    assert send_given_up_digests() == 1
    (message,) = mail.outbox
    assert message.to == ["owner@example.com"]
    assert message.subject.endswith("Webhook Builds <ci>: 3 deliveries were given up")
    assert "gave up 3 deliveries" in message.body and "items.store" in message.body
    assert "last answer 500" in message.body

    # More given up within the hour: counted, mailed in the next digest, not now.
    make_item()
    deliver()
    assert send_given_up_digests() == 0
    later = timezone.now() + timedelta(hours=1, seconds=1)
    assert send_given_up_digests(now=later) == 1
    assert "1 delivery was given up" in mail.outbox[1].subject
    assert send_given_up_digests(now=later + timedelta(hours=2)) == 0  # nothing new
    webhook.refresh_from_db()
    assert webhook.given_up_unreported == 0


def test_a_failed_test_ping_is_no_given_up_delivery(project, manager, make_webhook, receiver):
    from webhooks_app.notifications import send_given_up_digests

    receiver.default = Reply(status=500)
    operations.send_test(make_webhook(receiver.url))
    assert send_given_up_digests() == 0 and mail.outbox == []


def test_disabling_by_hand_emails_nobody(
    project, make_webhook, signed_in, django_capture_on_commit_callbacks
):
    webhook = make_webhook("https://ci.example.com/hook")
    with django_capture_on_commit_callbacks(execute=True) as sent:
        signed_in.post(url(project, "disable", webhook_id=webhook.uuid))
    assert sent and mail.outbox == []


def test_a_grid_row_for_an_unknown_event_is_refused_with_a_message(signed_in, project):
    response = signed_in.post(
        url(project, "grid"), {"event": "items.nope", "url": "https://ci.example.com/a"}
    )
    assert "not an event of the catalog" in text(response)
    assert not Webhook.objects.exists()


# -- a webhook's own page -----------------------------------------------------------------


def test_the_webhook_page_shows_status_the_last_day_recent_attempts_and_every_action(
    signed_in, project, webhook, receiver, make_item, deliver
):
    make_item()
    deliver()
    receiver.default = Reply(status=500)
    operations.send_test(webhook)
    page = signed_in.get(url(project, "webhook", webhook_id=webhook.uuid))
    body = text(page)
    assert "Active" in body and "Receiving its events." in body
    day = page.context["day"]
    assert (day.attempts, day.successes, round(day.success_rate)) == (2, 1, 50)
    assert "<svg" in body and "Success rate: 50% of 2 attempts" in body
    assert len(page.context["recent"]) == 2 and "(test)" in body
    for action in ("test", "disable", "edit", "rotate", "delete"):
        assert url(project, action, webhook_id=webhook.uuid) in body
    assert f"{url(project, 'log')}?webhook={webhook.uuid}" in body


def test_the_edit_form_saves_every_option_through_the_operations(signed_in, project, webhook):
    form = add_form(
        "https://ci.example.com/hook",
        https_only="on",
        signatures=["standard", "github"],
        content_type="json",
        extra_headers="X-Team: builds\nX-Env: prod",
        rate_limit="5",
    )
    response = signed_in.post(url(project, "edit", webhook_id=webhook.uuid), form)
    assert response.status_code == 302, response.context["form"].errors
    webhook.refresh_from_db()
    assert webhook.https_only and webhook.signatures == ["standard", "github"]
    assert webhook.extra_headers == {"X-Team": "builds", "X-Env": "prod"}
    assert webhook.rate_limit == 5
    page = text(signed_in.get(url(project, "edit", webhook_id=webhook.uuid)))
    # One "Name: value" a line (PostgreSQL's jsonb keeps its own key order).
    assert "X-Team: builds\n" in page or page.count("X-Team: builds</textarea>") == 1
    assert "X-Env: prod" in page


def test_an_https_only_webhook_refuses_an_http_url_and_bad_options_are_named(
    signed_in, project, webhook
):
    edit = url(project, "edit", webhook_id=webhook.uuid)
    refused = signed_in.post(edit, add_form("http://ci.example.com/hook", https_only="on"))
    assert "HTTPS-only" in text(refused)
    headers = signed_in.post(edit, add_form(webhook.url, extra_headers="no colon here"))
    assert "Line 1 is not" in text(headers)
    clash = signed_in.post(
        edit, add_form(webhook.url, signatures=["standard"], content_type="form")
    )
    assert "Form-encoded bodies cannot be signed" in text(clash)
    webhook.refresh_from_db()
    assert not webhook.https_only and webhook.extra_headers == {}
    with pytest.raises(ValidationError):
        operations.update_webhook(webhook, url="http://ci.example.com/hook", https_only=True)


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("short-secret", "Too weak"),
        ("a" * 40, "Too weak"),
        ("whsec_!!notbase64", "base64"),
        ("whsec_" + "QUJD", "24 to 64 random bytes"),
        ("has spaces in it but is long enough 1234567", "no spaces"),
    ],
)
def test_an_entered_secret_too_weak_or_malformed_is_refused(signed_in, project, secret, problem):
    response = signed_in.post(
        url(project, "add"), add_form("https://ci.example.com/h", secret=secret)
    )
    assert problem in text(response)
    assert not Webhook.objects.exists()


def test_an_entered_secret_signs_and_rotating_asks_first_and_takes_one_too(
    signed_in, project, receiver
):
    mine = "iceScrum-style-secret-0123456789-abcdefXYZ"
    signed_in.post(url(project, "add"), add_form(receiver.url, secret=mine))
    webhook = Webhook.objects.get()
    assert webhook.secret == mine
    receiver.secret = mine
    operations.send_test(webhook)
    assert receiver.wait_for(1)[0].event == "ping"  # the receiver verified the signature

    rotate = url(project, "rotate", webhook_id=webhook.uuid)
    confirm = signed_in.get(rotate)
    assert "Yes, rotate the secret" in text(confirm)
    webhook.refresh_from_db()
    assert webhook.secret == mine  # asking changed nothing
    again = signed_in.post(rotate, {"secret": mine})
    assert "has not used" in text(again)
    new = "whsec_" + base64.b64encode(b"k" * 32).decode()
    shown = signed_in.post(rotate, {"secret": new}, follow=True)
    webhook.refresh_from_db()
    assert webhook.secret == new and webhook.previous_secret == mine and new in text(shown)


# -- what waits ---------------------------------------------------------------------------


def as_if_due_for(seconds: int) -> None:
    """As if the pending deliveries had been due that long (no clock to move)."""
    moment = timezone.now() - timedelta(seconds=seconds)
    Delivery.objects.filter(status=Delivery.Status.PENDING).update(next_attempt_at=moment)
    DeliveryTaskMarker.objects.filter(pk=1).update(task_waiting_since=moment)


def test_with_no_worker_a_new_event_shows_as_waiting_with_the_warning_everywhere(
    signed_in, project, webhook, make_item
):
    make_item()  # no worker runs in this test: nothing sends it
    page = url(project, "webhook", webhook_id=webhook.uuid)
    fresh = text(signed_in.get(page))
    assert "Deliveries are waiting" not in fresh
    log = signed_in.get(url(project, "log"))
    assert [d.event.event_type for d in log.context["waiting"]] == ["items.store"]

    as_if_due_for(61)
    for address in (page, url(project), url(project, "log")):
        body = text(signed_in.get(address))
        assert "1 delivery has been due since" in body, address
        assert "no worker is running" in body, address
    assert signed_in.get(page).context["wait"].pending == 1


def test_a_failing_endpoints_waiting_deliveries_say_so(signed_in, project, webhook, make_item):
    make_item()
    as_if_due_for(120)
    Webhook.objects.filter(pk=webhook.pk).update(
        consecutive_failures=2, paused_until=timezone.now() + timedelta(minutes=4)
    )
    body = text(signed_in.get(url(project, "webhook", webhook_id=webhook.uuid)))
    assert "the endpoint is failing" in body and "Next retry at" in body
    listed = text(signed_in.get(url(project)))
    assert "2 failures in a row" in listed


def test_enabling_says_how_many_held_deliveries_go(signed_in, project, webhook, make_item):
    operations.disable(webhook)
    enable = url(project, "enable", webhook_id=webhook.uuid)
    assert "no delivery was held" in text(signed_in.post(enable, follow=True))
    Webhook.objects.filter(pk=webhook.pk).update(status=WebhookStatus.AUTO_DISABLED)
    make_item()
    page = text(signed_in.get(url(project, "webhook", webhook_id=webhook.uuid)))
    assert "Its events are held" in page
    assert "1 held delivery is on its way" in text(signed_in.post(enable, follow=True))


# -- the event catalog ------------------------------------------------------------------


def test_the_catalog_shows_each_events_schema_and_example_and_sends_one(
    signed_in, project, webhook, receiver
):
    page = signed_in.get(url(project, "events"))
    body = text(page)
    assert "Item created" in body and "JSON Schema" in body and "Example payload" in body
    assert "&quot;const&quot;: &quot;items.store&quot;" in body  # indented JSON
    assert "saves: items.tags.*" in body
    response = signed_in.post(
        url(project, "send-example"), {"event": "items.store", "webhook": str(webhook.uuid)}
    )
    assert "An example of items.store was sent" in text(response)
    (received,) = receiver.wait_for(1)
    assert received.event == "items.store" and received.json()["data"]
    refused = signed_in.post(
        url(project, "send-example"), {"event": "ping", "webhook": str(webhook.uuid)}, follow=True
    )
    assert "Not an event of the catalog" in text(refused)


# -- readable ---------------------------------------------------------------------------


def test_the_log_filters_by_webhook_and_bodies_are_indented_with_times_zoned(
    signed_in, project, webhook, make_webhook, make_item, deliver, receiver
):
    other = make_webhook(receiver.url, name="Other")
    make_item()
    deliver()
    only = signed_in.get(url(project, "log"), {"webhook": str(other.uuid)})
    assert {row.webhook for row, _ in only.context["rows"]} == {other}
    entry = DeliveryLog.objects.filter(webhook=webhook).get()
    detail = text(signed_in.get(url(project, "attempt", log_id=entry.uuid)))
    assert "{\n  &quot;event&quot;: &quot;items.store&quot;" in detail
    assert " UTC</time>" in detail and "Times in UTC" in detail


def test_signing_in_goes_to_the_hosts_login_url(client, project, settings):
    settings.LOGIN_URL = "/sign-in/"
    response = client.get(url(project))
    assert response.status_code == 302
    assert response["Location"] == f"/sign-in/?next={url(project)}"
