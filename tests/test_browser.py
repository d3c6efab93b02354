"""The admin in a real browser: Playwright driving Debian's headless Chromium.

One operator's path through the admin against a live server and a real receiver: log in,
add a webhook for a project with two events, send a test, find the ping in the delivery
log, redeliver it and see the second attempt. Each step leaves a screenshot in
``test-artifacts/browser/``.

Chromium comes from Debian (``make test`` installs it); Playwright's own browser download
is not used. Django's ORM is only touched before the browser starts and after it stops:
Playwright's sync API runs an event loop in this thread, where Django refuses queries.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect, sync_playwright

from tests.testapp.models import Project
from webhooks_app.models import Delivery, DeliveryLog, Trigger, Webhook

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "browser"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def shots():
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    taken: list[str] = []

    def shoot(page: Page, name: str) -> None:
        taken.append(f"{len(taken) + 1:02d}-{name}.png")
        page.screenshot(path=SHOTS / taken[-1], full_page=True)

    shoot.taken = taken
    return shoot


def launch_chromium(playwright):
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser test needs Debian's Chromium. "
            "`make test` installs it; or run `apt-get install -y chromium`."
        )
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def test_operator_adds_a_webhook_tests_it_and_redelivers_the_ping(
    live_server, django_user_model, receiver, shots
):
    django_user_model.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    Project.objects.create(name="Web Platform", slug="web-platform")
    Project.objects.create(name="Mobile", slug="mobile")

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.set_default_timeout(15_000)
        try:
            operate(page, live_server.url, receiver, shots)
        except Exception:
            page.screenshot(path=SHOTS / "failure.png", full_page=True)
            raise
        finally:
            browser.close()

    first, second = receiver.wait_for(2)
    assert [first.event, second.event] == ["ping", "ping"]
    assert first.verified is True and second.verified is True
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    webhook = Webhook.objects.get()
    assert webhook.project.slug == "web-platform"
    assert sorted(webhook.subscriptions.values_list("event_type", flat=True)) == [
        "items.store",
        "items.tags.add",
    ]
    delivery = Delivery.objects.get(webhook=webhook)
    assert (delivery.status, delivery.attempts) == (Delivery.Status.SUCCEEDED, 2)
    assert [(log.attempt, log.trigger) for log in DeliveryLog.objects.order_by("attempt")] == [
        (1, Trigger.TEST),
        (2, Trigger.REDELIVERY),
    ]
    assert shots.taken == [
        "01-login.png",
        "02-admin-home.png",
        "03-add-webhook.png",
        "04-secret-shown-once.png",
        "05-webhook-list.png",
        "06-test-sent.png",
        "07-delivery-log.png",
        "08-delivery-detail.png",
        "09-second-attempt.png",
    ]


def operate(page: Page, base_url: str, receiver, shoot) -> None:
    # Log in.
    page.goto(f"{base_url}/admin/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    shoot(page, "login")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Delivery logs")).to_be_visible()
    shoot(page, "admin-home")

    # Add a webhook for a project, with two events chosen from their categories.
    page.locator("tr.model-webhook").get_by_role("link", name="Add").click()
    expect(page.get_by_role("heading", name="Add webhook")).to_be_visible()
    page.get_by_label("Project").select_option(label="Web Platform")
    page.get_by_label("Name").fill("CI server")
    page.get_by_label("Payload URL").fill(receiver.url)
    page.locator("select[name='subscriptions-0-event_type']").select_option("items.store")
    page.locator("select[name='subscriptions-1-event_type']").select_option("items.tags.add")
    # Optgroups: everything, item events, tag events.
    groups = page.locator("select[name='subscriptions-0-event_type'] optgroup")
    expect(groups).to_have_count(3)
    shoot(page, "add-webhook")
    page.get_by_role("button", name="Save", exact=True).click()

    # The signing secret is shown once; the receiver is given it, as a real one would be.
    expect(page.get_by_text("Copy the secret now: it will not be shown again.")).to_be_visible()
    secret = page.get_by_label("Signing secret").input_value()
    assert secret.startswith("whsec_")
    receiver.secret = secret
    shoot(page, "secret-shown-once")
    page.get_by_role("link", name="I have copied it — continue").click()

    # The list shows the new webhook as active; send it a test with the action.
    row = page.locator("#result_list tbody tr", has_text="CI server")
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text("items.store, items.tags.add")
    expect(page.locator("body")).not_to_contain_text(secret)
    shoot(page, "webhook-list")
    row.locator("input.action-select").check()
    page.locator("select[name='action']").select_option(
        label="Send a test ping to the selected webhooks"
    )
    # Django 6 renamed the changelist's action button from "Go" to "Run".
    page.get_by_role("button", name=re.compile(r"^(Go|Run)$")).click()
    expect(page.locator("ul.messagelist")).to_contain_text(
        re.compile(r"“CI server”: test ping attempt #1 succeeded: HTTP 200 in \d+ ms\.")
    )
    receiver.wait_for(1)
    shoot(page, "test-sent")

    # Find the ping in the webhook's delivery log.
    page.locator("#result_list tbody tr", has_text="CI server").get_by_role(
        "link", name="Delivery log"
    ).click()
    expect(page.get_by_role("heading", name="Select delivery log to view")).to_be_visible()
    log_row = page.locator("#result_list tbody tr", has_text="ping")
    expect(log_row).to_have_count(1)
    expect(log_row).to_contain_text("#1")
    expect(log_row).to_contain_text("Test")
    expect(log_row).to_contain_text("200")
    expect(log_row).to_contain_text("Success")
    shoot(page, "delivery-log")

    # Its detail: what was sent and what came back; then redeliver it.
    log_row.locator("th a").click()
    expect(page.get_by_text("Request body")).to_be_visible()
    expect(page.locator("pre", has_text='"event": "ping"')).to_be_visible()
    expect(page.locator("pre", has_text="webhook-signature")).to_be_visible()
    shoot(page, "delivery-detail")
    page.get_by_role("button", name="Redeliver now").click()

    # Both attempts of the delivery are listed, the second one a manual redelivery.
    expect(page.locator("ul.messagelist")).to_contain_text(
        re.compile(r"Redelivered “ping” to “CI server”: attempt #2 succeeded: HTTP 200")
    )
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("#2")
    expect(rows.nth(0)).to_contain_text("Manual redelivery")
    expect(rows.nth(1)).to_contain_text("#1")
    expect(rows.nth(1)).to_contain_text("Test")
    shoot(page, "second-attempt")
