"""Bad input on every settings page and admin page: a clear error, never a 5xx.

Each page gets the cases found by hand (issue 18), then generated query strings and form
posts: the page's own fields, and fields it does not have, set to values a browser would
never send. Hypothesis runs derandomized, so a run is repeatable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import manager_of
from webhooks_app import operations
from webhooks_app.models import DeliveryLog, Subscription, Webhook, WebhookStatus
from webhooks_app.notifications import notify_disabled

pytestmark = pytest.mark.django_db

EXAMPLES = 15  # per page and method: bounded, so both fuzz tests take about 20 s

NASTY = [
    "",
    " ",
    "0",
    "-1",
    "1e309",
    "9" * 5000,
    "x" * 3000,
    "null",
    "[]",
    "{}",
    '{"a": 1}',
    "<script>alert(1)</script>",
    "\x00",
    "é\u202e",
    "on",
    "*",
    "ping",
    "no.such.event",
    "items.*",
    "items.store",
    "2024-02-30T00:00:00",
    "2024-02-30T00:00:00|1",
    "2024-01-01T25:00:00|1",
    "9999-12-31T23:59:59-23:00",
    "9999-12-31T23:59:59-23:00|1",
    "0001-01-01T00:00:00+23:00|1",
    "2024-01-01T00:00:00+00:00|" + "9" * 30,
    "0001-01-01",
    "http://127.0.0.1:1/",
    "http://[2002:7f00:1::1]/",
    "00000000-0000-0000-0000-000000000000",
]
FIELDS = [
    "before",
    "webhook",
    "secret",
    "https_only",
    "signatures",
    "content_type",
    "extra_headers",
    "rate_limit",
    "url",
    "name",
    "enabled",
    "verify_tls",
    "all_events",
    "categories",
    "events",
    "kept",
    "event",
    "outcome",
    "since",
    "until",
    "period",
    "project",
    "signatures",
    "extra_headers",
    "content_type",
    "rate_limit",
    "action",
    "_selected_action",
    "next",
    "q",
    "o",
    "p",
    "status",
]

values = st.one_of(
    st.sampled_from(NASTY),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40),
)
junk = st.dictionaries(st.sampled_from(FIELDS), st.one_of(values, st.lists(values, max_size=3)))


@dataclass
class Page:
    url: str
    methods: tuple[str, ...] = ("get", "post")
    valid: dict = field(default_factory=dict)  # a valid post, that the junk is merged into


@pytest.fixture
def manager_client(project):
    client = Client(raise_request_exception=False)
    client.force_login(manager_of(project, "owner"))
    return client


@pytest.fixture
def admin_client_no_raise(admin_user):
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    return client


@pytest.fixture
def attempt(webhook):
    return operations.send_test(webhook)


def portal(project, name: str, **kwargs) -> str:
    return reverse(f"webhooks_portal:{name}", kwargs={"project_pk": project.pk, **kwargs})


def portal_pages(project, webhook: Webhook, attempt: DeliveryLog) -> list[Page]:
    hook = {"webhook_id": webhook.uuid}
    form = {"url": webhook.url, "name": "CI", "enabled": "on", "events": ["items.store"]}
    return [
        Page(portal(project, "webhooks"), ("get",)),
        Page(portal(project, "add"), valid=form),
        Page(portal(project, "test-all"), ("post",)),
        Page(portal(project, "grid"), valid={"event": "items.store", "url": webhook.url}),
        Page(portal(project, "log"), ("get",)),
        Page(portal(project, "attempt", log_id=attempt.uuid)),
        Page(portal(project, "edit", **hook), valid=form),
        Page(portal(project, "secret", **hook), ("get",)),
        Page(portal(project, "rotate", **hook)),
        Page(portal(project, "webhook", **hook), ("get",)),
        Page(portal(project, "events"), ("get",)),
        Page(
            portal(project, "send-example"),
            ("post",),
            {"event": "items.store", "webhook": str(webhook.uuid)},
        ),
        Page(portal(project, "test", **hook), ("post",)),
        Page(portal(project, "enable", **hook), ("post",)),
        Page(portal(project, "disable", **hook), ("post",)),
        Page(portal(project, "delete", **hook), ("get",)),
        Page(portal(project, "redeliver-failed", **hook), ("post",), {"since": "2024-01-01"}),
    ]


def admin_pages(project, webhook: Webhook, attempt: DeliveryLog) -> list[Page]:
    from tests.test_admin import change_form, webhook_form

    def admin(name: str, *args) -> str:
        return reverse(f"admin:webhooks_app_{name}", args=args)

    return [
        Page(admin("webhook_changelist"), valid={"action": "disable_action"}),
        Page(admin("webhook_add"), valid=webhook_form(project, webhook.url, ["items.store"])),
        Page(admin("webhook_change", webhook.pk), valid=change_form(webhook)),
        Page(admin("webhook_secrets"), ("get",)),
        Page(admin("webhook_redeliver_failed", webhook.pk), ("post",), {"period": "24h"}),
        Page(admin("deliverylog_changelist"), ("get",)),
        Page(admin("deliverylog_change", attempt.pk), ("get",)),
        Page(admin("delivery_changelist"), ("get",)),
        Page(admin("event_changelist"), ("get",)),
    ]


def fuzz(client: Client, pages: list[Page]) -> dict[str, str]:
    """Every page and method, with junk merged into a valid request: what answered 5xx."""
    failures: dict[str, str] = {}
    for page in pages:
        for method in page.methods:
            try:
                fuzz_one(client, page, method)
            except AssertionError as failure:
                failures[f"{method.upper()} {page.url}"] = str(failure)[:1000]
    return failures


def fuzz_one(client: Client, page: Page, method: str) -> None:
    @given(data=junk)
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(data):
        sent = {**page.valid, **data} if method == "post" else data
        response = getattr(client, method)(page.url, sent)
        assert response.status_code < 500, (page.url, method, sent)

    check()


def test_no_settings_page_answers_5xx_to_any_query_or_form(
    manager_client, project, webhook, attempt
):
    failures = fuzz(manager_client, portal_pages(project, webhook, attempt))
    assert not failures, "\n".join(f"{k}: {v}" for k, v in failures.items())


def test_no_admin_page_answers_5xx_to_any_query_or_form(
    admin_client_no_raise, project, webhook, attempt
):
    failures = fuzz(admin_client_no_raise, admin_pages(project, webhook, attempt))
    assert not failures, "\n".join(f"{k}: {v}" for k, v in failures.items())


# -- the cases found by hand -------------------------------------------------------------


@pytest.mark.parametrize(
    "before",
    [
        "2024-02-30T00:00:00|1",
        "2024-01-01T25:00:00|1",
        "9999-12-31T23:59:59-23:00|1",
        "2024-01-01T00:00:00+00:00|" + "9" * 30,
        "yesterday|1",
        "2024-01-01T00:00:00+00:00|x",
    ],
)
def test_a_log_page_link_that_was_tampered_with_is_a_400_showing_the_newest(
    manager_client, project, attempt, before
):
    response = manager_client.get(portal(project, "log"), {"before": before})
    assert response.status_code == 400
    assert "page link is not valid" in response.content.decode()
    assert str(attempt.uuid) in response.content.decode()


def test_the_log_pages_through_with_the_links_it_writes(
    manager_client, project, webhook, webhooks_settings
):
    webhooks_settings(PAGE_SIZE=1)
    first, second = operations.send_test(webhook), operations.send_test(webhook)
    page_one = manager_client.get(portal(project, "log"))
    assert str(second.uuid) in page_one.content.decode()
    link = page_one.context["next_query"]
    page_two = manager_client.get(portal(project, "log") + "?" + link)
    assert page_two.status_code == 200
    assert str(first.uuid) in page_two.content.decode()
    assert str(second.uuid) not in page_two.content.decode()


@pytest.mark.parametrize("kept", ["no.such.event", "ping", "items.store no.such.*"])
def test_a_hidden_pattern_that_selects_no_event_is_a_form_error(
    manager_client, project, webhook, kept
):
    form = {"url": webhook.url, "name": "CI", "enabled": "on", "kept": kept}
    added = manager_client.post(portal(project, "add"), form)
    assert added.status_code == 200
    assert "Not an event of the catalog" in added.content.decode()
    assert Webhook.objects.count() == 1
    edited = manager_client.post(portal(project, "edit", webhook_id=webhook.uuid), form)
    assert edited.status_code == 200
    assert "Not an event of the catalog" in edited.content.decode()
    assert list(webhook.subscriptions.values_list("event_type", flat=True)) == ["items.*"]


def test_a_stored_pattern_the_catalog_lost_is_kept_when_the_page_is_saved(
    manager_client, project, webhook
):
    Subscription.objects.create(webhook=webhook, event_type="orders.gone")
    page = manager_client.get(portal(project, "edit", webhook_id=webhook.uuid))
    kept = page.context["form"].initial["kept"]
    assert "orders.gone" in kept.split()
    form = {"url": webhook.url, "name": "CI", "enabled": "on", "kept": kept}
    saved = manager_client.post(portal(project, "edit", webhook_id=webhook.uuid), form)
    assert saved.status_code == 302
    assert set(webhook.subscriptions.values_list("event_type", flat=True)) == {
        "items.*",
        "orders.gone",
    }


def test_the_page_showing_a_new_secret_is_never_stored(manager_client, project, webhook):
    rotated = manager_client.post(portal(project, "rotate", webhook_id=webhook.uuid))
    shown = manager_client.get(rotated["Location"])
    webhook.refresh_from_db()
    assert webhook.secret in shown.content.decode()
    assert "no-store" in shown["Cache-Control"]


def test_the_admin_page_showing_secrets_is_never_stored(admin_client, webhook):
    from tests.test_admin import run_action

    changelist = reverse("admin:webhooks_app_webhook_changelist")
    shown = run_action(admin_client, changelist, "rotate_secret_action", [webhook])
    webhook.refresh_from_db()
    assert webhook.secret in shown.content.decode()
    assert "no-store" in shown["Cache-Control"]


@pytest.mark.parametrize("selected", ["abc", "9" * 30, "9" * 5000, ""])
@pytest.mark.parametrize("changelist", ["webhook", "delivery", "deliverylog"])
def test_an_admin_action_on_ids_that_are_not_ids_is_refused_with_a_message(
    admin_client, webhook, selected, changelist
):
    url = reverse(f"admin:webhooks_app_{changelist}_changelist")
    response = admin_client.post(
        url, {"action": "delete_selected", "_selected_action": [selected]}, follow=True
    )
    assert response.status_code == 200
    assert "Items must be selected" in response.content.decode()
    assert Webhook.objects.filter(pk=webhook.pk).exists()


@pytest.mark.parametrize("extra_headers", ["", "null"])
def test_adding_a_webhook_in_the_admin_with_no_extra_headers(
    admin_client, project, receiver, extra_headers
):
    from tests.test_admin import webhook_form

    form = webhook_form(project, receiver.url, ["items.store"], extra_headers=extra_headers)
    response = admin_client.post(reverse("admin:webhooks_app_webhook_add"), form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Webhook.objects.get().extra_headers == {}


def test_the_disabled_mail_subject_is_plain_text(project, make_webhook, settings):
    settings.WEBHOOKS = {
        **settings.WEBHOOKS,
        "NOTIFY_RECIPIENTS": "tests.test_no_server_errors.ops",
    }
    webhook = make_webhook("https://example.com/h", name="<script>Q&A</script>")
    webhook.status = WebhookStatus.AUTO_DISABLED
    notify_disabled(None, webhook, WebhookStatus.AUTO_DISABLED, "HTTP 500")
    (sent,) = mail.outbox
    assert "Webhook <script>Q&A</script> is failing" in sent.subject
    assert "&lt;" not in sent.subject and "&amp;" not in sent.subject
    assert "<script>Q&A</script>" in sent.body  # a plain-text body, not HTML: no escaping


def ops(webhook: Webhook) -> list[str]:
    return ["ops@example.com"]
