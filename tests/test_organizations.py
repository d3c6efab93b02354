"""Organisation webhooks: made by an organisation's managers through the API and the
pages, they receive the events of every project of the organisation and none of
another's (delivered by the engine to a real receiver), under the projects' plan gate;
installation-wide webhooks stay the staff's."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from tests.conftest import manager_of
from tests.testapp.models import Item, Project
from webhooks_app import emit, operations
from webhooks_app.engine.routing import routing
from webhooks_app.exceptions import ActivationRefused
from webhooks_app.models import RoutingVersion, Webhook
from webhooks_app.notifications import default_recipients, settings_page_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def org_manager(organization):
    return manager_of(organization, "org-admin")


@pytest.fixture
def org_api(org_manager):
    client = APIClient()
    client.force_authenticate(org_manager)
    return client


def org_base(organization) -> str:
    return f"/api/organizations/{organization.pk}"


def page(organization, name="webhooks", **kwargs) -> str:
    return reverse(
        f"webhooks_org_portal:{name}", kwargs={"organization_pk": organization.pk, **kwargs}
    )


def titles(receiver) -> list[str]:
    return sorted(r.json()["data"]["title"] for r in receiver.requests)


def one_item_in_each(*projects: Project) -> None:
    for one in projects:
        Item.objects.create(project=one, title=f"in {one.slug}")


# -- the done-when: every project of its organisation, none of another's -------------------


def test_an_organisation_webhook_made_through_the_api_receives_its_projects_events_only(
    org_api, organization, project, sibling, other_project, other_organization, receiver, deliver
):
    made = org_api.post(
        f"{org_base(organization)}/webhooks/",
        {"url": receiver.url, "events": ["items.store"]},
        format="json",
    )
    assert made.status_code == 201, made.json()
    receiver.secret = made.json()["secret"]
    assert Webhook.objects.get(uuid=made.json()["id"]).organization == organization

    one_item_in_each(project, sibling, other_project)
    deliver()

    assert titles(receiver) == ["in data", "in web-platform"]
    assert all(r.verified for r in receiver.requests)
    log = org_api.get(f"{org_base(organization)}/deliveries/").json()["results"]
    assert sorted(entry["event_type"] for entry in log) == ["items.store", "items.store"]


def test_an_organisation_webhook_made_on_the_page_receives_its_projects_events_only(
    client,
    org_manager,
    organization,
    project,
    sibling,
    other_project,
    other_organization,
    receiver,
    deliver,
):
    client.force_login(org_manager)
    response = client.post(
        page(organization, "add"),
        {
            "url": receiver.url,
            "name": "Acme CI",
            "enabled": "on",
            "verify_tls": "on",
            "events": ["items.store"],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    webhook = Webhook.objects.get(name="Acme CI")
    assert (webhook.organization, webhook.project) == (organization, None)
    receiver.secret = webhook.secret

    one_item_in_each(project, sibling, other_project)
    deliver()

    assert titles(receiver) == ["in data", "in web-platform"]
    listing = client.get(page(organization)).content.decode()
    assert "Acme CI" in listing and "Organization Settings" in listing
    log = client.get(page(organization, "log")).content.decode()
    assert log.count("items.store") >= 2


@pytest.mark.parametrize("given", ["instance", "pk"])
def test_an_emit_naming_a_project_reaches_its_organisations_webhook_whether_instance_or_pk(
    organization, other_organization, project, other_project, make_webhook, given
):
    mine = make_webhook(
        "http://127.0.0.1:9/acme", ["items.*"], project=None, organization=organization
    )
    make_webhook(
        "http://127.0.0.1:9/globex", ["items.*"], project=None, organization=other_organization
    )

    event = emit("items.store", {"n": 1}, project=project if given == "instance" else project.pk)

    assert list(event.deliveries.values_list("webhook_id", flat=True)) == [mine.pk]


def test_the_organisation_is_read_off_a_project_instance_without_a_query(
    organization, project, make_webhook, django_assert_num_queries
):
    make_webhook("http://127.0.0.1:9/acme", ["items.*"], project=None, organization=organization)
    project = Project.objects.get(pk=project.pk)  # nothing of it cached but its columns
    routing.current()  # the map read beforehand, as a running process has it

    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 3):
        emit("items.store", {"n": 1}, project=project)  # the recording statement(s) only


def test_another_organisations_subscription_costs_a_save_no_recording(
    organization, other_organization, other_project, make_webhook, django_assert_num_queries
):
    make_webhook("http://127.0.0.1:9/acme", ["items.*"], project=None, organization=organization)
    other_project = Project.objects.get(pk=other_project.pk)
    routing.current()

    with django_assert_num_queries(0):
        assert emit("items.store", {"n": 1}, project=other_project) is None


# -- the plan gate ------------------------------------------------------------------------


def test_a_free_projects_events_reach_no_organisation_webhook(
    organization, project, sibling, make_webhook, receiver, deliver
):
    hook = make_webhook(receiver.url, ["items.store"], project=None, organization=organization)
    receiver.secret = hook.secret
    Project.objects.filter(pk=sibling.pk).update(plan=Project.Plan.FREE)

    one_item_in_each(project, sibling)
    deliver()

    assert titles(receiver) == ["in web-platform"]


def test_a_downgrade_holds_what_an_organisation_webhook_had_queued(
    organization, project, make_webhook, receiver, deliver
):
    make_webhook(receiver.url, ["items.store"], project=None, organization=organization)
    one_item_in_each(project)
    Project.objects.filter(pk=project.pk).update(plan=Project.Plan.FREE)
    routing.invalidate()  # the plan change, honoured at once rather than within the bound

    assert deliver() == 0 and receiver.requests == []


def test_activating_an_organisation_webhook_asks_the_rule_about_the_organisation(
    org_api, organization, receiver
):
    organization.plan = "free"
    organization.save()

    refused = org_api.post(
        f"{org_base(organization)}/webhooks/", {"url": receiver.url}, format="json"
    )
    prepared = org_api.post(
        f"{org_base(organization)}/webhooks/",
        {"url": receiver.url, "enabled": False},
        format="json",
    )

    assert refused.status_code == 403 and "Pro feature" in refused.json()["detail"]
    assert prepared.status_code == 201, prepared.json()
    with pytest.raises(ActivationRefused):
        operations.enable(Webhook.objects.get(uuid=prepared.json()["id"]))


# -- who manages them ---------------------------------------------------------------------


def test_only_the_organisations_managers_see_its_webhooks(
    organization, other_organization, project, make_webhook, client
):
    make_webhook("http://127.0.0.1:9/acme", project=None, organization=organization)
    project_manager = manager_of(project, "po")
    other_admin = manager_of(other_organization, "globex-admin")
    api = APIClient()
    for user in (project_manager, other_admin):
        api.force_authenticate(user)
        response = api.get(f"{org_base(organization)}/webhooks/")
        assert response.status_code == 403
        assert response.json()["detail"].startswith("Only the organisation's managers")
        client.force_login(user)
        assert client.get(page(organization)).status_code == 403
    api.force_authenticate(project_manager)  # a project's page shows none of them
    assert api.get(f"/api/projects/{project.pk}/webhooks/").json() == []
    assert api.get("/api/organizations/999999/webhooks/").status_code == 404


def test_a_webhook_has_one_scope_and_the_api_names_the_field(organization, project):
    with pytest.raises(ValidationError) as refused:
        operations.create_webhook(
            url="https://example.com/hook", project=project, organization=organization
        )
    assert "organization" in refused.value.message_dict
    hook = operations.create_webhook(url="https://example.com/hook", organization=organization)
    with pytest.raises(ValidationError):
        operations.move(hook, project, organization=organization)
    operations.move(hook, project)
    hook.refresh_from_db()
    assert (hook.project, hook.organization) == (project, None)


def test_without_organisation_settings_no_webhook_gets_an_organisation(
    organization, webhooks_settings
):
    webhooks_settings(ORGANIZATION_MODEL=None, PROJECT_ORGANIZATION_FIELD=None)
    with pytest.raises(ValidationError) as refused:
        operations.create_webhook(url="https://example.com/hook", organization=organization)
    assert "ORGANIZATION_MODEL" in str(refused.value)


def test_failure_mail_goes_to_the_organisations_managers_with_its_page(
    organization, org_manager, project, make_webhook
):
    manager_of(project, "po")  # a project's manager is not one of them
    hook = make_webhook("http://127.0.0.1:9/acme", project=None, organization=organization)

    assert default_recipients(hook) == ["org-admin@example.com"]
    assert settings_page_url(hook) == page(organization)


def test_installation_wide_webhooks_are_labelled_staff_only_in_the_admin(
    admin_client, organization, project, make_webhook
):
    make_webhook("https://installation.example.com/hook", project=None)
    make_webhook("https://acme.example.com/hook", project=None, organization=organization)
    make_webhook("https://project.example.com/hook")

    everything = admin_client.get(reverse("admin:webhooks_app_webhook_changelist")).content
    installation = admin_client.get(
        reverse("admin:webhooks_app_webhook_changelist") + "?scope=installation"
    ).content.decode()

    assert b"Installation-wide (staff only)" in everything
    assert b"Acme (every project)" in everything
    assert "installation.example.com" in installation
    assert "acme.example.com" not in installation and "project.example.com" not in installation


def test_the_admin_moves_a_webhook_to_an_organisation(admin_client, organization, make_webhook):
    hook = make_webhook("https://example.com/hook", ["items.store"])
    change = reverse("admin:webhooks_app_webhook_change", args=[hook.pk])
    form = {
        "project": "",
        "organization": organization.pk,
        "name": "",
        "url": hook.url,
        "enabled": "on",
        "verify_tls": "on",
        "signatures": ["standard"],
        "extra_headers": "{}",
        "content_type": "json",
        "subscriptions-TOTAL_FORMS": "0",
        "subscriptions-INITIAL_FORMS": "0",
    }

    both = admin_client.post(change, {**form, "project": hook.project_id})
    moved = admin_client.post(change, form)

    assert both.status_code == 200 and b"not both" in both.content
    assert moved.status_code == 302, moved.content.decode()[:3000]
    hook.refresh_from_db()
    assert (hook.project, hook.organization) == (None, organization)


# -- routing --------------------------------------------------------------------------------


def test_changing_a_webhooks_organisation_bumps_the_routing_version(
    organization, other_organization, make_webhook
):
    hook = make_webhook("http://127.0.0.1:9/a", project=None, organization=organization)
    before = RoutingVersion.objects.get().version

    Webhook.objects.filter(pk=hook.pk).update(organization=other_organization)

    assert RoutingVersion.objects.get().version > before


def test_the_grid_of_an_organisation_sets_its_own_urls(org_api, organization, project):
    base = org_base(organization)
    response = org_api.put(
        f"{base}/subscriptions/grid/items.store/",
        {"url": "https://acme.example.com/h"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert Webhook.objects.get().organization == organization

    project_rows = APIClient()
    project_rows.force_authenticate(manager_of(project, "po"))
    row = project_rows.get(f"/api/projects/{project.pk}/subscriptions/grid/").json()[0]
    assert [(r["url"], r["scope"]) for r in row["receivers"]] == [
        ("https://acme.example.com/h", "organization")
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's emit functions")
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_a_process_still_on_the_previous_emit_function_gives_organisation_webhooks_nothing(
    organization, other_organization, other_project, make_webhook, version
):
    """During a deploy, old code calls webhooks_app_emit_v1/v2, to which a webhook with
    no project was every project's: an organisation's webhook must not get another
    organisation's events from it."""
    make_webhook("http://127.0.0.1:9/acme", ["*"], project=None, organization=organization)
    installation = make_webhook("http://127.0.0.1:9/all", ["*"], project=None)
    key = ", NULL::varchar, NULL::timestamptz" if version == "v2" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT recorded_event FROM webhooks_app_emit_{version}(ARRAY['*']::varchar[], "
            "ARRAY[%s]::bigint[], gen_random_uuid(), 'items.store'::varchar, %s::bigint, "
            f"'{{}}'::text, now(), NULL::timestamptz, false{key})",
            [other_project.pk, other_project.pk],
        )
        (event_id,) = cursor.fetchone()

    recipients = Webhook.objects.filter(deliveries__event_id=event_id)
    assert list(recipients) == [installation]
