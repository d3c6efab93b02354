"""AgileTune's Organization Settings → Webhooks in the example product: a company's
administrators manage its own webhooks, through the API and the page, and those receive
the events of every project of the company and none of another company's, delivered to
a real receiver; GitScrum's Free plan still keeps a project's events from them."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from example_project.agile import services
from example_project.agile.models import Membership, Project
from example_project.agile.permissions import webhook_notice_recipients
from example_project.tests.factories import make_company, make_project, make_user
from webhooks_app.models import Webhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_of_company(company):
    user = make_user("carol")
    user.email = "carol@example.com"
    user.save()
    company.admins.add(user)
    return user


@pytest.fixture
def rival(db):
    """Another company, with a project of its own."""
    other = make_company("Globex", slug="globex")
    make_project(other, "Rival board", slug="rival")
    return other


def task_in_each(projects: list[Project], creator) -> None:
    for project in projects:
        services.create_task(project, f"Task of {project.name}", creator=creator)


def task_titles(receiver) -> list[str]:
    return sorted(r.json()["data"]["title"] for r in receiver.requests)


def test_a_company_webhook_made_through_the_api_gets_every_project_of_the_company_only(
    company, board, other_board, rival, admin_of_company, receiver, deliver
):
    api = APIClient()
    api.force_authenticate(admin_of_company)

    made = api.post(
        f"/api/organizations/{company.pk}/webhooks/",
        {"url": receiver.url, "events": ["issues.store"]},
        format="json",
    )
    assert made.status_code == 201, made.json()
    receiver.secret = made.json()["secret"]

    task_in_each([board, other_board, rival.projects.get()], admin_of_company)
    deliver()

    assert task_titles(receiver) == ["Task of Mobile", "Task of Web Platform"]
    assert all(r.verified for r in receiver.requests)


def test_a_company_webhook_made_on_the_settings_page_gets_every_project_of_the_company_only(
    client, company, board, other_board, rival, admin_of_company, receiver, deliver
):
    client.force_login(admin_of_company)
    base = reverse("webhooks_org_portal:webhooks", kwargs={"organization_pk": company.pk})

    added = client.post(
        base + "add/",
        {
            "url": receiver.url,
            "name": "Acme-wide",
            "enabled": "on",
            "verify_tls": "on",
            "events": ["issues.store"],
        },
    )
    assert added.status_code == 302, added.content.decode()[:2000]
    webhook = Webhook.objects.get(name="Acme-wide")
    receiver.secret = webhook.secret

    task_in_each([board, other_board, rival.projects.get()], admin_of_company)
    deliver()

    assert task_titles(receiver) == ["Task of Mobile", "Task of Web Platform"]
    listing = client.get(base).content.decode()
    assert "Organization Settings" in listing and "Acme-wide" in listing


def test_a_free_projects_tasks_reach_no_company_webhook(
    company, board, other_board, admin_of_company, receiver, deliver
):
    api = APIClient()
    api.force_authenticate(admin_of_company)
    made = api.post(
        f"/api/organizations/{company.pk}/webhooks/",
        {"url": receiver.url, "events": ["issues.store"]},
        format="json",
    ).json()
    receiver.secret = made["secret"]
    Project.objects.filter(pk=other_board.pk).update(plan=Project.Plan.FREE)

    task_in_each([board, other_board], admin_of_company)
    deliver()

    assert task_titles(receiver) == ["Task of Web Platform"]


def test_a_company_with_no_pro_project_prepares_webhooks_disabled(company, board, admin_of_company):
    Project.objects.filter(pk=board.pk).update(plan=Project.Plan.FREE)
    api = APIClient()
    api.force_authenticate(admin_of_company)

    refused = api.post(
        f"/api/organizations/{company.pk}/webhooks/",
        {"url": "https://ci.example.com/hook"},
        format="json",
    )

    assert refused.status_code == 403
    assert "no project of 'Acme Corp' is on the Pro plan" in refused.json()["detail"]


def test_a_product_owner_is_no_company_administrator(company, board, rival):
    product_owner = make_user("po")
    Membership.objects.create(project=board, user=product_owner, role=Membership.Role.PRODUCT_OWNER)
    rival_admin = make_user("dave")
    rival.admins.add(rival_admin)
    api = APIClient()

    for user in (product_owner, rival_admin):
        api.force_authenticate(user)
        assert api.get(f"/api/organizations/{company.pk}/webhooks/").status_code == 403


def test_the_company_admins_hear_of_its_webhook_failing(company, admin_of_company):
    webhook = Webhook.objects.create(url="https://ci.example.com/hook", organization=company)

    assert webhook_notice_recipients(webhook) == ["carol@example.com"]


def test_the_company_admin_page_links_its_webhook_settings(admin_client, company):
    response = admin_client.get(reverse("admin:agile_company_changelist"))

    expected = reverse("webhooks_org_portal:webhooks", kwargs={"organization_pk": company.pk})
    assert expected in response.content.decode()
