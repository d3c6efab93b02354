"""Project Settings → Webhooks in a real browser, as a Product Owner: Playwright drives
Debian's headless Chromium against a live server, a real receiver and real deliveries.

Every page is checked with axe-core (no serious or critical violation) and leaves a
screenshot in ``test-artifacts/browser/portal/``. Playwright's sync API runs an event
loop in this thread, where Django refuses queries, so what the product and the workers
do meanwhile (saving items, delivering) runs in a thread of its own.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth.models import Group, User
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect, sync_playwright

from tests.conftest import manager_of, run_in_threads
from tests.test_browser import SHOTS, launch_chromium
from tests.testapp.models import Item, Organization, Project
from tests.testapp.rules import managers_group
from webhooks_app.models import (
    Delivery,
    DeliveryLog,
    DeliveryTaskMarker,
    Trigger,
    Webhook,
    WebhookStatus,
)
from webhooks_app.testing import Reply, deliver_due

PORTAL_SHOTS = SHOTS / "portal"
ORGANIZATION_SHOTS = SHOTS / "portal-organization"
SERIOUS = ("serious", "critical")
ANY_IMPACT = ("minor", "moderate", "serious", "critical")


def elsewhere(work: Callable[[], Any]) -> Any:
    """Run ``work`` in a thread with its own database connection, and wait for it."""
    result: list[Any] = []
    run_in_threads(1, lambda: result.append(work()))
    return result[0]


class Visit:
    """Screenshots and accessibility checks of each page on the way."""

    def __init__(self, page: Page, folder: Path = PORTAL_SHOTS) -> None:
        self.page = page
        self.folder = folder
        self.axe = Axe()
        self.shots: list[str] = []
        self.violations: dict[str, list[str]] = {}
        self.overflowing: dict[str, int] = {}

    def check(self, name: str, impacts: tuple[str, ...] = SERIOUS) -> None:
        self.shots.append(f"{len(self.shots) + 1:02d}-{name}.png")
        self.page.screenshot(path=self.folder / self.shots[-1], full_page=True)
        found = self.axe.run(self.page).response["violations"]
        serious = [f"{v['id']}: {v['help']}" for v in found if v["impact"] in impacts]
        if serious:
            self.violations[name] = serious

    def walk(self, pages: dict[str, str]) -> None:
        """Every page at a desktop's width and a phone's: no axe violation of any
        impact, and at 390 px nothing wider than the screen (no sideways scroll)."""
        for width in (1280, 390):
            self.page.set_viewport_size({"width": width, "height": 900})
            for name, address in pages.items():
                self.page.goto(address)
                self.check(f"{width}-{name}", ANY_IMPACT)
                wide = self.page.evaluate("document.scrollingElement.scrollWidth")
                if width == 390 and wide > 390:
                    self.overflowing[name] = wide


def session_cookie(user: User, base_url: str) -> dict[str, Any]:
    client = Client()
    client.force_login(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}


def fail_until_disabled(project: Project) -> None:
    """Deliver, each time as if later (each retry due, each pause over), until the fifth
    consecutive failure disables the webhook: how many sends that takes depends on how
    the sending threads interleave."""
    webhook = Webhook.objects.get(project=project)
    for step in range(10):
        deliver_due(after=5 * step)
        webhook.refresh_from_db()
        if webhook.status == WebhookStatus.AUTO_DISABLED:
            return
    raise AssertionError(f"not disabled after 10 rounds: {webhook.consecutive_failures} failures")


def as_if_due_for(seconds: int) -> None:
    """As if the pending deliveries had been due that long, and the delivery task asked
    for as long ago (no clock to move; no worker runs in this test)."""
    moment = timezone.now() - timedelta(seconds=seconds)
    Delivery.objects.filter(status=Delivery.Status.PENDING).update(next_attempt_at=moment)
    DeliveryTaskMarker.objects.update_or_create(pk=1, defaults={"task_waiting_since": moment})


def make_items(project: Project, count: int) -> None:
    for i in range(count):
        Item.objects.create(project=project, title=f"Item {i}")


@pytest.mark.django_db(transaction=True)
def test_a_product_owner_manages_webhooks_in_the_browser(live_server, receiver, webhooks_settings):
    # One retry a second after a failure: the flow reaches auto-disable in seconds.
    webhooks_settings(RETRY_SCHEDULE=[1], RETRY_JITTER=0, FAILURE_THRESHOLD=5)
    project = Project.objects.create(name="Web Platform", slug="web-platform")
    free = Project.objects.create(name="Side Project", slug="side", plan="free")
    owner = manager_of(project, "olivia")
    owner.groups.add(Group.objects.get_or_create(name=managers_group(free))[0])
    developer = User.objects.create_user("dev", "dev@example.com", "x")
    base = live_server.url
    home = base + reverse("webhooks_portal:webhooks", kwargs={"project_pk": project.pk})
    free_home = base + reverse("webhooks_portal:webhooks", kwargs={"project_pk": free.pk})
    cookies = {"owner": session_cookie(owner, base), "dev": session_cookie(developer, base)}

    shutil.rmtree(PORTAL_SHOTS, ignore_errors=True)
    PORTAL_SHOTS.mkdir(parents=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_cookies([cookies["owner"]])
        page = context.new_page()
        page.set_default_timeout(15_000)
        visit = Visit(page)
        try:
            flow(page, visit, home, free_home, project, receiver)
            stranger = browser.new_context()
            stranger.add_cookies([cookies["dev"]])
            other = stranger.new_page()
            response = other.goto(home)
            assert response is not None and response.status == 403
            other.screenshot(path=PORTAL_SHOTS / "developer-forbidden.png")
            assert "Web Platform" not in other.content()
        except Exception:
            page.screenshot(path=PORTAL_SHOTS / "failure.png", full_page=True)
            raise
        finally:
            browser.close()

    assert visit.violations == {}
    assert visit.overflowing == {}
    webhook = Webhook.objects.get(project=project)
    assert webhook.status == WebhookStatus.ACTIVE
    stored = Delivery.objects.filter(webhook=webhook, event__event_type="items.store").exclude(
        trigger=Trigger.TEST  # the catalog's example
    )
    # 2 before the outage; 5 during it, given up and redelivered or held and released;
    # 2 saved while it was disabled, held and released; 1 left waiting, with no worker.
    assert stored.count() == 10
    assert stored.filter(status=Delivery.Status.SUCCEEDED).count() == 9
    (notice,) = mail.outbox
    assert notice.to == ["olivia@example.com"] and "failing" in notice.subject
    assert visit.shots[: len(FLOW_SHOTS)] == FLOW_SHOTS
    walked = [shot.split("-", 1)[1] for shot in visit.shots[len(FLOW_SHOTS) :]]
    assert walked == [f"{w}-{name}.png" for w in (1280, 390) for name in WALKED]


WALKED = (
    "list",
    "webhook",
    "edit",
    "rotate",
    "delete",
    "add",
    "grid",
    "log",
    "log-of-one-webhook",
    "attempt",
    "events",
)
FLOW_SHOTS = [
    "01-empty-list.png",
    "02-add-webhook.png",
    "03-secret-shown-once.png",
    "04-test-result.png",
    "05-delivery-log.png",
    "06-attempt-detail.png",
    "07-auto-disabled.png",
    "08-enabled-again.png",
    "09-redeliver-failed.png",
    "10-log-after-recovery.png",
    "11-per-event-grid.png",
    "12-free-plan.png",
    "13-free-plan-add.png",
    "14-waiting-no-worker.png",
    "15-webhook-page.png",
    "16-event-catalog.png",
    "17-example-sent.png",
]


def flow(page: Page, visit: Visit, home: str, free_home: str, project, receiver) -> None:
    page.goto(home)
    expect(page.get_by_role("heading", name="Webhooks")).to_be_visible()
    visit.check("empty-list")

    # 1. A webhook for a whole category and two single events; its secret, once.
    page.get_by_role("link", name="Add webhook").click()
    page.get_by_label("Payload URL").fill(receiver.url)
    page.get_by_label("Name").fill("Build server")
    page.get_by_label("Every event in “Item events”").check()
    page.get_by_label("Tag added to an item").check()
    page.get_by_label("Tag removed from an item").check()
    visit.check("add-webhook")
    page.get_by_role("button", name="Add webhook").click()
    expect(page.get_by_text("it will not be shown again")).to_be_visible()
    secret = page.get_by_label("Secret").input_value()
    assert secret.startswith("whsec_")
    visit.check("secret-shown-once")
    page.get_by_role("link", name="Done").click()

    # 2. A test to the real receiver: its status and body.
    page.get_by_role("button", name="Test Build server").click()
    expect(page.get_by_text("Answered HTTP 200")).to_be_visible()
    visit.check("test-result")
    page.get_by_role("link", name="Back to webhooks").click()

    # 3. Events from the product, delivered by a worker; the log fills.
    elsewhere(lambda: (make_items(project, 2), deliver_due()))
    page.get_by_role("link", name="Delivery log").click()
    expect(page.get_by_role("cell", name="items.store")).to_have_count(2)
    visit.check("delivery-log")
    page.get_by_role("row").filter(has_text="items.store").first.get_by_role("link").click()
    expect(page.get_by_text("webhook-signature")).to_be_visible()
    visit.check("attempt-detail")

    # 4. The receiver fails until the webhook is disabled; events meanwhile are held.
    receiver.default = Reply(status=500, body=b"down")
    elsewhere(lambda: (make_items(project, 5), fail_until_disabled(project)))
    elsewhere(lambda: make_items(project, 2))
    page.goto(home)
    expect(page.get_by_text("Disabled after consecutive failures")).to_be_visible()
    visit.check("auto-disabled")

    # 5. Back up: enable (the held events go), then redeliver what was given up.
    receiver.default = Reply()
    page.get_by_role("button", name="Enable Build server").click()
    # Held: the 2 saved while it was disabled, and whatever of the outage's deliveries
    # still had a retry left when it was disabled (the sending threads' timing decides).
    expect(page.get_by_text(re.compile(r"\d+ held deliveries are on their way"))).to_be_visible()
    visit.check("enabled-again")
    elsewhere(deliver_due)
    page.get_by_role("link", name="Delivery log").click()
    since = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Every failed delivery of Build server since").fill(since)
    page.get_by_role("button", name="Redeliver").click()
    queued = re.compile(r"\d+ failed deliveries of “Build server” are queued again")
    expect(page.get_by_text(queued)).to_be_visible()
    visit.check("redeliver-failed")
    elsewhere(deliver_due)
    page.reload()
    visit.check("log-after-recovery")

    # 6. GitScrum's per-event view.
    page.get_by_role("link", name="Per-event URLs").click()
    expect(page.get_by_role("row").filter(has_text="items.store")).to_be_visible()
    visit.check("per-event-grid")

    # 7. The Free plan: explained, and endpoints can only be prepared disabled.
    page.goto(free_home)
    expect(page.get_by_text("Endpoints cannot be activated.")).to_be_visible()
    visit.check("free-plan")
    page.get_by_role("link", name="Add webhook").click()
    expect(page.get_by_label("Active")).to_be_disabled()
    visit.check("free-plan-add")

    # 8. No worker runs: a new event waits, and after a minute the pages say why.
    elsewhere(lambda: (make_items(project, 1), as_if_due_for(61)))
    page.goto(home)
    expect(page.get_by_text("no worker is running")).to_be_visible()
    visit.check("waiting-no-worker")
    page.get_by_role("link", name="Build server", exact=True).click()
    expect(page.get_by_text("no worker is running")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Success rate"))).to_be_visible()
    visit.check("webhook-page")

    # 9. The event catalog: a schema, an example, and the example sent.
    page.get_by_role("link", name="Event catalog").first.click()
    page.get_by_text("JSON Schema").first.click()
    visit.check("event-catalog")
    page.get_by_role("button", name="Send example").first.click()
    expect(page.get_by_text("Answered HTTP 200")).to_be_visible()
    visit.check("example-sent")

    # 10. Every page, at a desktop's width and a phone's.
    webhook, attempt = elsewhere(
        lambda: (
            Webhook.objects.get(project=project),
            DeliveryLog.objects.filter(project=project).first(),
        )
    )
    visit.walk(every_page(home, webhook, attempt, filtered_log=True))


def every_page(
    home: str, webhook: Webhook, attempt: DeliveryLog, *, filtered_log: bool = False
) -> dict[str, str]:
    """The settings pages of one scope (a project's or an organisation's), by name, in
    the order they are walked; ``filtered_log``: the log of the one webhook too."""
    at = f"{home}{webhook.uuid}/"
    pages = {
        "list": home,
        "webhook": at,
        "edit": at + "edit/",
        "rotate": at + "rotate/",
        "delete": at + "delete/",
        "add": home + "add/",
        "grid": home + "grid/",
        "log": home + "log/",
    }
    if filtered_log:
        pages["log-of-one-webhook"] = f"{home}log/?webhook={webhook.uuid}"
    return {**pages, "attempt": f"{home}log/{attempt.uuid}/", "events": home + "events/"}


@pytest.mark.django_db(transaction=True)
def test_an_organisation_administrator_manages_its_webhooks_in_the_browser(live_server, receiver):
    """Organization Settings → Webhooks: a webhook added on the page gets the events of
    both projects of the organisation and none of another organisation's; every page
    of the organisation passes axe at 1280 and 390 px without sideways scroll."""
    acme, globex = (Organization.objects.create(name=n) for n in ("Acme", "Globex"))
    web = Project.objects.create(name="Web Platform", slug="web", organization=acme)
    data = Project.objects.create(name="Data", slug="data", organization=acme)
    rival = Project.objects.create(name="Rival", slug="rival", organization=globex)
    admin = manager_of(acme, "ada")
    base = live_server.url
    home = base + reverse("webhooks_org_portal:webhooks", kwargs={"organization_pk": acme.pk})
    cookie = session_cookie(admin, base)

    shutil.rmtree(ORGANIZATION_SHOTS, ignore_errors=True)
    ORGANIZATION_SHOTS.mkdir(parents=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_cookies([cookie])
        page = context.new_page()
        page.set_default_timeout(15_000)
        visit = Visit(page, ORGANIZATION_SHOTS)
        try:
            page.goto(home)
            expect(page.get_by_text("Organization Settings")).to_be_visible()
            page.get_by_role("link", name="Add webhook").click()
            page.get_by_label("Payload URL").fill(receiver.url)
            page.get_by_label("Name").fill("Acme warehouse")
            page.get_by_label("Every event in “Item events”").check()
            visit.check("add-webhook")
            page.get_by_role("button", name="Add webhook").click()
            receiver.secret = page.get_by_label("Secret").input_value()
            page.get_by_role("link", name="Done").click()

            elsewhere(
                lambda: (
                    [
                        Item.objects.create(project=p, title=f"in {p.slug}")
                        for p in (web, data, rival)
                    ],
                    deliver_due(),
                )
            )
            page.get_by_role("link", name="Delivery log").click()
            expect(page.get_by_role("cell", name="items.store")).to_have_count(2)
            visit.check("delivery-log")

            webhook, attempt = elsewhere(
                lambda: (
                    Webhook.objects.get(organization=acme),
                    DeliveryLog.objects.filter(webhook__organization=acme).first(),
                )
            )
            visit.walk(every_page(home, webhook, attempt))
        except Exception:
            page.screenshot(path=ORGANIZATION_SHOTS / "failure.png", full_page=True)
            raise
        finally:
            browser.close()

    assert sorted(r.json()["data"]["title"] for r in receiver.requests) == ["in data", "in web"]
    assert all(r.verified for r in receiver.requests)
    assert visit.violations == {}
    assert visit.overflowing == {}
    assert len(visit.shots) == 2 + 2 * 10
