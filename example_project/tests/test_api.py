"""The example product's settings screen: GitScrum's catalog and grid, iceScrum's roles,
and GitScrum's Free-plan gate, through webhooks_app's API."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from rest_framework.test import APIClient

from example_project.agile.models import Membership, Project
from example_project.agile.permissions import webhook_notice_recipients
from webhooks_app.models import Webhook

pytestmark = pytest.mark.django_db


def member_of(project, username="po", role=Membership.Role.PRODUCT_OWNER) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", "x")
    Membership.objects.create(project=project, user=user, role=role)
    return user


@pytest.fixture
def api(board):
    client = APIClient()
    client.force_authenticate(member_of(board))
    return client


@pytest.fixture
def base(board):
    return f"/api/projects/{board.pk}"


def test_the_catalog_is_gitscrums_26_events_in_6_categories(api, base):
    response = api.get(f"{base}/events/")

    categories = {c["name"]: [e["name"] for e in c["events"]] for c in response.json()}
    assert len(categories) == 6
    assert sum(len(v) for v in categories.values()) == 26
    assert categories["Sprint events"] == ["sprints.store", "sprints.update", "sprints.destroy"]
    assert response.json()[0]["events"][0]["description"] == "Task created"


def test_subscribing_by_category(api, base):
    created = api.post(
        f"{base}/webhooks/",
        {"url": "https://ci.example.com/hook", "categories": ["Time tracking events"]},
        format="json",
    )

    assert created.status_code == 201, created.json()
    assert len(created.json()["events"]) == 5


def test_the_grid_has_a_row_per_gitscrum_event_and_shows_wildcard_receivers(api, base):
    api.post(
        f"{base}/webhooks/",
        {"url": "https://ci.example.com/hook", "events": ["issues.*"]},
        format="json",
    )
    api.put(
        f"{base}/subscriptions/grid/sprints.store/",
        {"url": "https://chat.example.com/hook"},
        format="json",
    )

    grid = {row["event"]: row for row in api.get(f"{base}/subscriptions/grid/").json()}

    assert len(grid) == 26
    assert grid["sprints.store"]["url"] == "https://chat.example.com/hook"
    assert grid["issues.store"]["url"] is None  # no exact subscription, but...
    assert [r["pattern"] for r in grid["issues.store"]["receivers"]] == ["issues.*"]


@pytest.mark.parametrize(
    "role, allowed",
    [
        (Membership.Role.PRODUCT_OWNER, True),
        (Membership.Role.SCRUM_MASTER, True),
        (Membership.Role.DEVELOPER, False),
        (Membership.Role.STAKEHOLDER, False),
    ],
)
def test_only_product_owners_and_scrum_masters_manage_webhooks(board, base, role, allowed):
    client = APIClient()
    client.force_authenticate(member_of(board, "member", role))
    assert client.get(f"{base}/webhooks/").status_code == (200 if allowed else 403)


def test_a_free_plan_project_can_prepare_a_webhook_but_not_activate_it(api, board, base):
    Project.objects.filter(pk=board.pk).update(plan=Project.Plan.FREE)
    url = "https://ci.example.com/hook"

    refused = api.post(f"{base}/webhooks/", {"url": url, "events": ["*"]}, format="json")
    assert refused.status_code == 403 and "Pro feature" in refused.json()["detail"]

    prepared = api.post(
        f"{base}/webhooks/", {"url": url, "events": ["*"], "enabled": False}, format="json"
    )
    assert prepared.status_code == 201 and prepared.json()["status"] == "disabled"
    enable = api.post(f"{base}/webhooks/{prepared.json()['id']}/enable/")
    assert enable.status_code == 403 and "Upgrade" in enable.json()["detail"]
    assert Webhook.objects.get().status == "disabled"


def test_openapi_schema_and_its_ui_are_served(client):
    schema = client.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    assert "issues.move.*" in schema.content.decode()
    ui = client.get("/api/schema/ui/")
    assert ui.status_code == 200 and b"swagger-ui" in ui.content


@pytest.mark.parametrize(
    "role, status",
    [
        (Membership.Role.PRODUCT_OWNER, 200),
        (Membership.Role.SCRUM_MASTER, 200),
        (Membership.Role.DEVELOPER, 403),
        (Membership.Role.STAKEHOLDER, 403),
    ],
)
def test_the_settings_page_is_for_product_owners_and_scrum_masters(client, project, role, status):
    client.force_login(member_of(project, role=role))
    page = reverse("webhooks_portal:webhooks", kwargs={"project_pk": project.pk})
    assert client.get(page).status_code == status


def test_disabled_webhook_notices_go_to_the_projects_managers(project, make_webhook):
    member_of(project, "po", Membership.Role.PRODUCT_OWNER)
    member_of(project, "sm", Membership.Role.SCRUM_MASTER)
    member_of(project, "dev", Membership.Role.DEVELOPER)
    webhook = make_webhook("https://example.com/hook")
    assert webhook_notice_recipients(webhook) == ["po@example.com", "sm@example.com"]
