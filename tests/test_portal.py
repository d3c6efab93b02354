"""Project Settings → Webhooks: the pages a project's own managers use, through Django's
test client against real receivers. (The whole flow in a browser is test_portal_browser.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tests.conftest import manager_of
from webhooks_app import operations
from webhooks_app.models import Delivery, DeliveryLog, Webhook, WebhookStatus
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
    webhook = make_webhook("https://ci.example.com/hook", events=("items.tags.*", "items.store"))
    page = signed_in.get(url(project, "edit", webhook_id=webhook.uuid))
    assert 'value="items.tags.*"' in text(page)  # the family rides along, hidden

    signed_in.post(
        url(project, "edit", webhook_id=webhook.uuid),
        add_form(webhook.url, events=["items.done"], kept="items.tags.*"),
    )
    assert sorted(webhook.subscriptions.values_list("event_type", flat=True)) == [
        "items.done",
        "items.tags.*",
    ]
    signed_in.post(
        url(project, "edit", webhook_id=webhook.uuid), add_form(webhook.url, all_events="on")
    )
    assert list(webhook.subscriptions.values_list("event_type", flat=True)) == ["*"]


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


def test_the_edit_page_marks_each_rotation_step_and_switches(signed_in, project, make_webhook):
    webhook = make_webhook("https://ci.example.com/hook")
    edit = url(project, "edit", webhook_id=webhook.uuid)
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
