"""The Django admin of webhooks, through Django's test client against real receivers."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from tests.testapp.models import Project
from webhooks_app import operations
from webhooks_app.models import (
    Delivery,
    DeliveryLog,
    Event,
    Trigger,
    Webhook,
    WebhookStatus,
)
from webhooks_app.signing import sign_hex
from webhooks_app.testing import Reply

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:webhooks_app_webhook_changelist")
ADD = reverse("admin:webhooks_app_webhook_add")
LOGS = reverse("admin:webhooks_app_deliverylog_changelist")
SECRETS = reverse("admin:webhooks_app_webhook_secrets")


def change_url(obj) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def texts(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def run_action(client, url: str, action: str, objects, **extra):
    data = {"action": action, "_selected_action": [o.pk for o in objects], **extra}
    return client.post(url, data, follow=True)


def webhook_form(project, url: str, events=(), *, extra_forms: int = 1, **fields) -> dict:
    """POST data of the webhook add form, with its events inline."""
    data = {
        "project": project.pk if project else "",
        "name": fields.pop("name", "Build server"),
        "url": url,
        "enabled": "on",
        "verify_tls": "on",
        "signatures": ["standard", "hex"],
        "extra_headers": "{}",
        "content_type": "json",
        "subscriptions-TOTAL_FORMS": str(len(events) + extra_forms),
        "subscriptions-INITIAL_FORMS": "0",
        "subscriptions-MIN_NUM_FORMS": "0",
        "subscriptions-MAX_NUM_FORMS": "1000",
        **fields,
    }
    for i, event in enumerate(events):
        data[f"subscriptions-{i}-event_type"] = event
    return data


def change_form(webhook: Webhook, **fields) -> dict:
    """POST data of the webhook change form as it stands, with ``fields`` changed."""
    subscriptions = list(webhook.subscriptions.all())
    data = {
        "project": webhook.project_id or "",
        "name": webhook.name,
        "url": webhook.url,
        "signatures": webhook.signatures,
        "extra_headers": json.dumps(webhook.extra_headers),
        "content_type": webhook.content_type,
        "subscriptions-TOTAL_FORMS": str(len(subscriptions)),
        "subscriptions-INITIAL_FORMS": str(len(subscriptions)),
        "subscriptions-MIN_NUM_FORMS": "0",
        "subscriptions-MAX_NUM_FORMS": "1000",
    }
    if webhook.is_active:
        data["enabled"] = "on"
    if webhook.verify_tls:
        data["verify_tls"] = "on"
    for i, subscription in enumerate(subscriptions):
        data[f"subscriptions-{i}-id"] = subscription.pk
        data[f"subscriptions-{i}-webhook"] = webhook.pk
        data[f"subscriptions-{i}-event_type"] = subscription.event_type
    for name, value in fields.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def failed_delivery(webhook: Webhook, *, age: timedelta = timedelta(0)) -> Delivery:
    created = timezone.now() - age
    event = Event.objects.create(
        event_type="items.store", body='{"event":"items.store","data":{}}', created_at=created
    )
    return Delivery.objects.create(
        webhook=webhook,
        event=event,
        status=Delivery.Status.FAILED,
        attempts=6,
        created_at=created,
    )


# -- the webhook list ----------------------------------------------------------------


def test_list_shows_each_status_in_words(admin_client, make_webhook):
    make_webhook("http://127.0.0.1:9/a", name="Healthy")
    make_webhook("http://127.0.0.1:9/b", name="Flaky", consecutive_failures=3)
    make_webhook(
        "http://127.0.0.1:9/c",
        name="Broken",
        status=WebhookStatus.AUTO_DISABLED,
        disabled_detail="5 consecutive failed deliveries; last: HTTP 503",
    )
    make_webhook("http://127.0.0.1:9/d", name="Paused", status=WebhookStatus.DISABLED)
    make_webhook("http://127.0.0.1:9/e", name="Retired", status=WebhookStatus.GONE)

    page = admin_client.get(CHANGELIST).content.decode()

    for label in (
        "Active",
        "Failing (3 in a row)",
        "Disabled after consecutive failures",
        "Disabled by hand",
        "Disabled: the endpoint answered 410 Gone",
    ):
        assert label in page
    assert "5 consecutive failed deliveries; last: HTTP 503" in page  # the badge's tooltip

    failing = admin_client.get(CHANGELIST, {"status": "failing"})
    assert [w.name for w in failing.context["cl"].result_list] == ["Flaky"]
    broken = admin_client.get(CHANGELIST, {"status": "auto-disabled"})
    assert [w.name for w in broken.context["cl"].result_list] == ["Broken"]


def test_add_page_offers_events_grouped_by_category(admin_client):
    page = admin_client.get(ADD).content.decode()

    assert '<optgroup label="Item events">' in page
    assert '<optgroup label="Tag events">' in page
    assert "items.store — Item created" in page
    assert "items.* — Every “items.” event (7, and any added later)" in page
    assert "* — All events, including ones added later" in page


# -- adding, editing, secrets ----------------------------------------------------------


def test_adding_a_webhook_saves_its_events_and_shows_the_secret_once(admin_client, project):
    response = admin_client.post(
        ADD,
        webhook_form(project, "https://ci.example.com/hook", ["items.store", "items.tags.*"]),
        follow=True,
    )

    webhook = Webhook.objects.get()
    assert sorted(webhook.subscriptions.values_list("event_type", flat=True)) == [
        "items.store",
        "items.tags.*",
    ]
    assert response.redirect_chain[-1][0].startswith(SECRETS)
    page = response.content.decode()
    assert webhook.secret in page
    assert "it will not be shown again" in page
    assert any("was added successfully" in m for m in texts(response))

    again = admin_client.get(SECRETS, follow=True)
    assert webhook.secret not in again.content.decode()
    assert any("shown only once" in m for m in texts(again))
    assert webhook.secret not in admin_client.get(change_url(webhook)).content.decode()
    assert webhook.secret not in admin_client.get(CHANGELIST).content.decode()


def test_a_webhook_added_unticked_is_disabled_by_hand(admin_client, project):
    admin_client.post(
        ADD, webhook_form(project, "https://ci.example.com/hook", ["items.store"], enabled="")
    )

    webhook = Webhook.objects.get()
    assert webhook.status == "disabled"
    assert "Disabled by hand" in admin_client.get(CHANGELIST).content.decode()


def test_unknown_event_is_rejected_with_a_message_naming_it(admin_client, project):
    response = admin_client.post(
        ADD, webhook_form(project, "https://ci.example.com/hook", ["items.store", "items.creat"])
    )

    assert response.status_code == 200
    assert "“items.creat” is not a known event" in response.content.decode()
    assert not Webhook.objects.exists()

    response = admin_client.post(
        ADD, webhook_form(project, "https://ci.example.com/hook", ["ping"])
    )
    assert "“ping” is sent only by the “Send a test ping” action" in response.content.decode()
    assert not Webhook.objects.exists()


def test_the_same_event_twice_is_rejected(admin_client, project):
    response = admin_client.post(
        ADD, webhook_form(project, "https://ci.example.com/hook", ["items.store", "items.store"])
    )

    assert response.status_code == 200
    assert "Please correct the duplicate data for event" in response.content.decode()
    assert not Webhook.objects.exists()


def test_a_webhook_without_events_is_saved_with_a_warning(admin_client, project):
    response = admin_client.post(
        ADD, webhook_form(project, "https://ci.example.com/hook"), follow=True
    )

    assert Webhook.objects.count() == 1
    assert any("subscribes to no events" in m for m in texts(response))


def test_a_stored_pattern_the_list_does_not_offer_is_kept(admin_client, make_webhook):
    webhook = make_webhook("https://ci.example.com/hook", events=["items.tags.*"])

    page = admin_client.get(change_url(webhook)).content.decode()
    assert '<option value="items.tags.*" selected>' in page
    assert "Tag added to an item, Tag removed from an item" in page

    response = admin_client.post(change_url(webhook), change_form(webhook, name="Renamed"))
    assert response.status_code == 302
    assert list(webhook.subscriptions.values_list("event_type", flat=True)) == ["items.tags.*"]


def test_unticking_enabled_disables_by_hand_and_ticking_resumes(admin_client, make_webhook):
    webhook = make_webhook("https://ci.example.com/hook", name="CI")

    response = admin_client.post(
        change_url(webhook), change_form(webhook, enabled=None), follow=True
    )
    webhook.refresh_from_db()
    assert webhook.status == WebhookStatus.DISABLED
    assert any("is disabled by hand" in m for m in texts(response))

    Webhook.objects.filter(pk=webhook.pk).update(status=WebhookStatus.AUTO_DISABLED)
    held = failed_delivery(webhook)
    Delivery.objects.filter(pk=held.pk).update(status=Delivery.Status.PENDING)
    response = admin_client.post(
        change_url(webhook), change_form(webhook, enabled="on"), follow=True
    )
    webhook.refresh_from_db()
    assert webhook.status == "active"
    assert any("1 held delivery is being sent now" in m for m in texts(response))


def test_saving_the_form_does_not_overwrite_the_failure_count(admin_client, make_webhook):
    webhook = make_webhook("https://ci.example.com/hook", name="CI")
    data = change_form(webhook, name="CI server")
    Webhook.objects.filter(pk=webhook.pk).update(consecutive_failures=2)

    admin_client.post(change_url(webhook), data)

    webhook.refresh_from_db()
    assert webhook.name == "CI server"
    assert webhook.consecutive_failures == 2


def test_delivery_options_are_changed_in_the_admin(admin_client, make_webhook):
    webhook = make_webhook("https://ci.example.com/hook")
    data = change_form(
        webhook,
        signatures=["github", "icescrum"],
        extra_headers='{"X-Tenant": "acme"}',
        content_type="form",
    )
    admin_client.post(change_url(webhook), data)
    webhook.refresh_from_db()
    assert webhook.signatures == ["github", "icescrum"]
    assert webhook.extra_headers == {"X-Tenant": "acme"}
    assert webhook.content_type == "form"

    refused = admin_client.post(change_url(webhook), {**data, "extra_headers": '{"Host": "x"}'})
    assert "set by the sender" in refused.content.decode()
    webhook.refresh_from_db()
    assert webhook.extra_headers == {"X-Tenant": "acme"}
    refused = admin_client.post(change_url(webhook), {**data, "signatures": ["standard"]})
    assert "parse the body as JSON" in refused.content.decode()
    webhook.refresh_from_db()
    assert webhook.signatures == ["github", "icescrum"]


def test_change_page_shows_why_a_webhook_was_disabled(admin_client, make_webhook):
    webhook = make_webhook(
        "https://ci.example.com/hook",
        status=WebhookStatus.GONE,
        disabled_at=timezone.now(),
        disabled_detail="HTTP 410 from https://ci.example.com/hook",
    )

    page = admin_client.get(change_url(webhook)).content.decode()

    assert "Disabled: the endpoint answered 410 Gone" in page
    assert "Nothing is sent until it is enabled again." in page
    assert "Detail: HTTP 410 from https://ci.example.com/hook" in page
    assert "Hidden. It is shown once" in page


# -- actions ---------------------------------------------------------------------------


def test_send_test_action_pings_a_real_receiver(admin_client, webhook, receiver):
    response = run_action(admin_client, CHANGELIST, "send_test_action", [webhook])

    (request,) = receiver.wait_for(1)
    assert request.event == "ping"
    assert request.verified is True, request.error
    assert request.json()["data"]["webhook"]["uuid"] == str(webhook.uuid)
    (message,) = texts(response)
    assert "test ping attempt #1 succeeded: HTTP 200 in" in message
    log = DeliveryLog.objects.get()
    assert log.trigger == Trigger.TEST and log.response_status == 200


def test_send_test_reports_the_status_code_or_error(
    admin_client, make_webhook, receiver, closed_port_url
):
    failing = make_webhook(receiver.url, name="Failing")
    unreachable = make_webhook(closed_port_url, name="Unreachable")
    receiver.reply(Reply(status=500, body=b"boom"))

    response = run_action(admin_client, CHANGELIST, "send_test_action", [failing, unreachable])

    messages = "\n".join(texts(response))
    assert "“Failing”: test ping attempt #1 failed: HTTP 500." in messages
    assert "“Unreachable”: test ping attempt #1 failed:" in messages
    assert "refused" in messages.lower()
    failing.refresh_from_db()
    assert failing.consecutive_failures == 0  # a test does not count towards disabling


def test_send_test_button_on_the_change_page(admin_client, webhook, receiver):
    url = reverse("admin:webhooks_app_webhook_send_test", args=[webhook.pk])

    assert admin_client.get(url).status_code == 405
    response = admin_client.post(url, follow=True)

    assert response.redirect_chain[-1][0] == change_url(webhook)
    assert receiver.wait_for(1)[0].event == "ping"
    assert any("succeeded: HTTP 200" in m for m in texts(response))
    page = response.content.decode()
    assert "Send test ping" in page and "Rotate secret" in page and "Redeliver failed" in page


def test_disable_and_enable_actions(admin_client, make_webhook):
    webhook = make_webhook("https://ci.example.com/hook", name="CI")

    response = run_action(admin_client, CHANGELIST, "disable_action", [webhook])
    webhook.refresh_from_db()
    assert webhook.status == "disabled"
    assert "Disabled by hand" in response.content.decode()
    assert any("is disabled by hand" in m for m in texts(response))

    response = run_action(admin_client, CHANGELIST, "enable_action", [webhook])
    webhook.refresh_from_db()
    assert webhook.status == "active"
    assert any("is enabled and receives its events again" in m for m in texts(response))

    response = run_action(admin_client, CHANGELIST, "enable_action", [webhook])
    assert texts(response) == ["“CI” was already enabled."]


def test_enabling_an_auto_disabled_webhook_sends_what_was_held(admin_client, make_webhook):
    webhook = make_webhook(
        "https://ci.example.com/hook",
        name="CI",
        status=WebhookStatus.AUTO_DISABLED,
        consecutive_failures=5,
    )
    held = failed_delivery(webhook)
    Delivery.objects.filter(pk=held.pk).update(
        status=Delivery.Status.PENDING, next_attempt_at=timezone.now() + timedelta(hours=2)
    )

    response = run_action(admin_client, CHANGELIST, "enable_action", [webhook])

    webhook.refresh_from_db()
    assert webhook.status == "active" and webhook.consecutive_failures == 0
    held.refresh_from_db()
    assert held.next_attempt_at <= timezone.now()
    assert any("1 held delivery is being sent now" in m for m in texts(response))


def test_rotate_secret_shows_the_new_secret_once_and_the_old_one_still_signs(
    admin_client, webhook, receiver
):
    old = webhook.secret

    response = run_action(admin_client, CHANGELIST, "rotate_secret_action", [webhook])

    webhook.refresh_from_db()
    assert webhook.secret != old
    page = response.content.decode()
    assert response.redirect_chain[-1][0].startswith(SECRETS)
    assert webhook.secret in page and old not in page
    assert "X-Webhook-Signature-256) are still signed with the previous secret" in page
    assert webhook.secret not in admin_client.get(SECRETS, follow=True).content.decode()
    change_page = admin_client.get(change_url(webhook)).content.decode()
    assert webhook.secret not in change_page
    assert 'aria-current="step"><strong>Now, until the switch or' in change_page
    assert reverse("admin:webhooks_app_webhook_switch_secret", args=[webhook.pk]) in change_page

    receiver.secret = old  # a receiver that has not switched yet
    run_action(admin_client, CHANGELIST, "send_test_action", [webhook])
    receiver.secret = webhook.secret  # and one that has
    run_action(admin_client, CHANGELIST, "send_test_action", [webhook])
    first, second = receiver.wait_for(2)
    assert first.verified is True, first.error
    assert second.verified is True, second.error


def test_switch_moves_single_signature_headers_to_the_new_secret(admin_client, webhook, receiver):
    old = webhook.secret
    operations.rotate_secret(webhook)
    run_action(admin_client, CHANGELIST, "send_test_action", [webhook])

    response = admin_client.post(
        reverse("admin:webhooks_app_webhook_switch_secret", args=[webhook.pk]), follow=True
    )

    assert any("now signed with the new secret" in m for m in texts(response))
    page = response.content.decode()
    assert 'aria-current="step"><strong>Now, until' in page and "Switched:" in page
    assert "switch-secret/" not in page  # no button: nothing is left to switch
    run_action(admin_client, CHANGELIST, "send_test_action", [webhook])
    before, after = (r.headers["X-Webhook-Signature-256"] for r in receiver.wait_for(2))
    assert before == "sha256=" + sign_hex(old, receiver.requests[0].body)
    assert after == "sha256=" + sign_hex(webhook.secret, receiver.requests[1].body)
    again = run_action(admin_client, CHANGELIST, "switch_secret_action", [webhook])
    assert any("was already switched" in m for m in texts(again))


def test_switch_without_a_rotation_changes_nothing(admin_client, make_webhook):
    webhook = make_webhook("https://ci.example.com/hook")
    response = run_action(admin_client, CHANGELIST, "switch_secret_action", [webhook])
    assert any("no rotation is waiting for a switch" in m for m in texts(response))
    webhook.refresh_from_db()
    assert webhook.secret_switched_at is None


def test_rotate_secret_button_on_the_change_page(admin_client, make_webhook):
    webhook = make_webhook("https://ci.example.com/hook")
    old = webhook.secret

    response = admin_client.post(
        reverse("admin:webhooks_app_webhook_rotate_secret", args=[webhook.pk])
    )
    secrets_page = admin_client.get(response.url)

    webhook.refresh_from_db()
    assert webhook.secret != old and webhook.secret in secrets_page.content.decode()
    assert f'href="{change_url(webhook)}"' in secrets_page.content.decode()


def test_secrets_page_ignores_an_outside_next_url(admin_client, make_webhook):
    webhook = make_webhook("https://ci.example.com/hook")
    session = admin_client.session
    session["webhooks_app.reveal_secrets"] = [webhook.pk]
    session.save()

    page = admin_client.get(SECRETS, {"next": "https://evil.example.com/"}).content.decode()

    assert "evil.example.com" not in page
    assert f'href="{CHANGELIST}"' in page


def test_redeliver_failed_asks_since_when_then_sends_them_again(
    admin_client, webhook, receiver, deliver
):
    recent = failed_delivery(webhook, age=timedelta(hours=2))
    old = failed_delivery(webhook, age=timedelta(days=3))

    page = admin_client.post(
        CHANGELIST, {"action": "redeliver_failed_action", "_selected_action": [webhook.pk]}
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "Failed in the last 24 hours" in html
    assert [(w.failed_recent, w.failed_total) for w, _badge in page.context["rows"]] == [(1, 2)]

    response = admin_client.post(
        CHANGELIST,
        {
            "action": "redeliver_failed_action",
            "_selected_action": [webhook.pk],
            "confirm": "yes",
            "period": "24h",
        },
        follow=True,
    )

    assert any(
        "1 failed delivery since" in m and "is being sent again" in m for m in texts(response)
    )
    recent.refresh_from_db()
    old.refresh_from_db()
    assert (recent.status, recent.trigger) == (Delivery.Status.PENDING, Trigger.REDELIVERY)
    assert old.status == Delivery.Status.FAILED
    assert deliver() == 1
    assert receiver.wait_for(1)[0].headers["webhook-id"] == recent.event.msg_id


def test_redeliver_failed_since_a_chosen_time(admin_client, make_webhook):
    webhook = make_webhook("https://ci.example.com/hook", name="CI")
    failed_delivery(webhook, age=timedelta(days=3))
    failed_delivery(webhook, age=timedelta(days=10))
    url = reverse("admin:webhooks_app_webhook_redeliver_failed", args=[webhook.pk])
    assert admin_client.get(url).status_code == 200

    missing = admin_client.post(url, {"confirm": "yes", "period": "since"})
    assert "Enter the date and time to redeliver from." in missing.content.decode()

    since = timezone.now() - timedelta(days=4)
    response = admin_client.post(
        url,
        {
            "confirm": "yes",
            "period": "since",
            "since_0": since.strftime("%Y-%m-%d"),
            "since_1": since.strftime("%H:%M:%S"),
        },
        follow=True,
    )

    assert response.redirect_chain[-1][0] == change_url(webhook)
    assert webhook.deliveries.filter(status=Delivery.Status.PENDING).count() == 1
    assert any("1 failed delivery since" in m for m in texts(response))


# -- the delivery log ------------------------------------------------------------------


@pytest.fixture
def ping_log(admin_client, webhook, receiver) -> DeliveryLog:
    run_action(admin_client, CHANGELIST, "send_test_action", [webhook])
    receiver.wait_for(1)
    return DeliveryLog.objects.get()


def test_log_is_read_only(admin_client, ping_log):
    model_admin = admin.site._registry[DeliveryLog]
    request = admin_client.get(LOGS).wsgi_request

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, ping_log)
    assert not model_admin.has_delete_permission(request, ping_log)
    assert "delete_selected" not in model_admin.get_actions(request)
    assert admin_client.get(reverse("admin:webhooks_app_deliverylog_add")).status_code == 403
    assert admin_client.post(change_url(ping_log), {"attempt": 9}).status_code == 403
    ping_log.refresh_from_db()
    assert ping_log.attempt == 1
    delete = reverse("admin:webhooks_app_deliverylog_delete", args=[ping_log.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403


def test_log_list_columns_filters_and_search(admin_client, ping_log, webhook):
    page = admin_client.get(LOGS)
    html = page.content.decode()

    assert f'href="{change_url(webhook)}"' in html  # the webhook's change page
    assert f'href="{change_url(ping_log.event)}"' in html  # the event's page
    row = page.context["cl"].result_list[0]
    assert row == ping_log
    for text in ("ping", "#1", "Test", "200", "Success", " ms"):
        assert text in html

    def listed(**query):
        return list(admin_client.get(LOGS, query).context["cl"].result_list)

    assert listed(outcome="failure") == []
    assert listed(outcome="success") == [ping_log]
    assert listed(trigger="test") == [ping_log]
    assert listed(event_type="items.store") == []
    assert listed(event_type="ping") == [ping_log]
    assert listed(webhook__id__exact=webhook.pk) == [ping_log]
    assert listed(q=str(ping_log.uuid)) == [ping_log]  # X-Webhook-Delivery
    assert listed(q=ping_log.event.msg_id) == [ping_log]  # webhook-id
    assert listed(q="ping") == [ping_log]
    assert listed(q="127.0.0.1") == [ping_log]
    assert listed(q="items.store") == []


def test_log_detail_shows_the_request_and_the_response(admin_client, ping_log):
    page = admin_client.get(change_url(ping_log)).content.decode()

    assert "&quot;event&quot;: &quot;ping&quot;," in page  # the body, indented
    assert "webhook-signature" in page and "X-Webhook-Delivery" in page
    assert ping_log.event.msg_id in page
    assert "Redeliver now" in page
    assert 'name="_save"' not in page


def test_log_redeliver_action_makes_attempt_2(admin_client, ping_log, receiver):
    response = run_action(admin_client, LOGS, "redeliver_action", [ping_log])

    assert any("attempt #2 succeeded: HTTP 200" in m for m in texts(response))
    attempts = DeliveryLog.objects.order_by("attempt")
    assert [(log.attempt, log.trigger) for log in attempts] == [
        (1, Trigger.TEST),
        (2, Trigger.REDELIVERY),
    ]
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert second.verified is True
    assert "#2" in response.content.decode()


def test_log_redeliver_button_shows_every_attempt(admin_client, ping_log, receiver):
    url = reverse("admin:webhooks_app_delivery_redeliver", args=[ping_log.delivery_id])

    assert admin_client.get(url).status_code == 405
    response = admin_client.post(url, follow=True)

    assert response.redirect_chain[-1][0] == f"{LOGS}?delivery={ping_log.delivery_id}"
    assert [log.attempt for log in response.context["cl"].result_list] == [2, 1]
    assert receiver.wait_for(2)
    detail = admin_client.get(change_url(ping_log)).content.decode()
    assert "#2" in detail and "Manual redelivery" in detail


def test_log_redeliver_of_a_disabled_webhook_is_held(admin_client, ping_log, webhook):
    operations.disable(webhook)

    response = run_action(admin_client, LOGS, "redeliver_action", [ping_log])

    assert any("not sent, because the webhook is disabled" in m for m in texts(response))
    ping_log.delivery.refresh_from_db()
    assert ping_log.delivery.status == Delivery.Status.PENDING
    assert DeliveryLog.objects.count() == 1


def test_event_page_is_read_only_and_lists_its_deliveries(admin_client, ping_log, webhook):
    event = ping_log.event

    page = admin_client.get(change_url(event)).content.decode()

    assert event.msg_id in page
    assert "&quot;event&quot;: &quot;ping&quot;" in page
    assert f'href="{change_url(webhook)}"' in page
    assert f"?delivery={ping_log.delivery_id}" in page
    assert admin_client.post(change_url(event), {}).status_code == 403
    assert admin_client.get(reverse("admin:webhooks_app_event_add")).status_code == 403


def test_a_staff_user_without_change_permission_cannot_act(client, django_user_model, ping_log):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.set(
        Permission.objects.filter(codename__in=["view_webhook", "view_deliverylog"])
    )
    client.force_login(viewer)

    logs = client.get(LOGS)
    assert "redeliver_action" not in logs.content.decode()
    redeliver = reverse("admin:webhooks_app_delivery_redeliver", args=[ping_log.delivery_id])
    assert client.post(redeliver).status_code == 403
    send = reverse("admin:webhooks_app_webhook_send_test", args=[ping_log.webhook_id])
    assert client.post(send).status_code == 403
    assert DeliveryLog.objects.count() == 1


def test_the_activation_rule_refuses_an_active_webhook_in_the_admin(
    admin_client, project, receiver, make_webhook
):
    Project.objects.filter(pk=project.pk).update(plan=Project.Plan.FREE)
    response = admin_client.post(ADD, webhook_form(project, receiver.url, extra_forms=0))
    assert response.status_code == 200
    assert "Pro feature" in response.content.decode()
    assert not Webhook.objects.exists()

    webhook = make_webhook(receiver.url, status=WebhookStatus.DISABLED)
    response = run_action(admin_client, CHANGELIST, "enable_action", [webhook])
    assert any("was not enabled" in m and "Pro feature" in m for m in texts(response))
    webhook.refresh_from_db()
    assert webhook.status == WebhookStatus.DISABLED


def test_the_admin_refuses_to_move_an_active_webhook_to_a_refused_project(
    admin_client, make_webhook, other_project
):
    Project.objects.filter(pk=other_project.pk).update(plan=Project.Plan.FREE)
    active = make_webhook("https://ci.example.com/hook", name="CI")

    response = admin_client.post(change_url(active), change_form(active, project=other_project.pk))

    assert response.status_code == 200
    assert "Pro feature" in response.content.decode()
    active.refresh_from_db()
    assert active.project_id != other_project.pk and active.is_active

    # Disabled, it may move there: it receives nothing until the project may activate it.
    prepared = make_webhook("https://ci.example.com/other", status=WebhookStatus.DISABLED)
    response = admin_client.post(
        change_url(prepared), change_form(prepared, project=other_project.pk)
    )
    assert response.status_code == 302
    prepared.refresh_from_db()
    assert prepared.project_id == other_project.pk


def test_delivery_list_shows_pending_and_failed_deliveries_and_redelivers_them(
    admin_client, webhook, receiver
):
    failed = failed_delivery(webhook)
    deliveries = reverse("admin:webhooks_app_delivery_changelist")

    page = admin_client.get(deliveries, {"status__exact": "failed"})
    assert list(page.context["cl"].result_list) == [failed]

    response = run_action(admin_client, deliveries, "redeliver_action", [failed])

    assert any("succeeded: HTTP 200" in m for m in texts(response))
    failed.refresh_from_db()
    assert failed.status == Delivery.Status.SUCCEEDED
    assert receiver.wait_for(1)[0].headers["webhook-id"] == failed.event.msg_id


@pytest.mark.parametrize(
    "url, message",
    [
        ("ftp://example.com/x", "http"),
        ("https://u:p@example.com/x", "credentials"),
        ("http://[::1/", "valid URL"),
        ("http://example.com/\r\nX-Injected: 1", "control characters"),
        ("http://a..example/", "host name is not valid"),
    ],
)
def test_admin_rejects_bad_endpoint_urls(admin_client, project, url, message):
    response = admin_client.post(
        reverse("admin:webhooks_app_webhook_add"),
        {
            "project": project.pk,
            "url": url,
            "verify_tls": "on",
            "subscriptions-TOTAL_FORMS": "0",
            "subscriptions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200 and message in response.content.decode()
    assert not Webhook.objects.exists()
