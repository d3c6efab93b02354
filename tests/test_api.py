"""The settings-screen API: endpoints, permissions, plan gate and bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from rest_framework.test import APIClient

from example_project.agile.models import Membership, Project
from tests.rules import managers_group
from webhooks_app.models import Delivery, DeliveryLog, Webhook
from webhooks_app.signing import verify
from webhooks_app.testing import Receiver, Reply

pytestmark = pytest.mark.django_db


def member_of(project, username="po", role=Membership.Role.PRODUCT_OWNER) -> User:
    user = User.objects.create_user(username, password="x")
    Membership.objects.create(project=project, user=user, role=role)
    return user


manager_of = member_of


@pytest.fixture
def api(project):
    client = APIClient()
    client.force_authenticate(manager_of(project))
    return client


@pytest.fixture
def base(project):
    return f"/api/projects/{project.pk}"


def create(api, base, url, events=("issues.store", "issues.update"), **extra):
    return api.post(
        f"{base}/webhooks/", {"url": url, "events": list(events), **extra}, format="json"
    )


def test_event_catalog_is_grouped_by_category(api, base):
    response = api.get(f"{base}/events/")
    assert response.status_code == 200
    categories = {c["name"]: [e["name"] for e in c["events"]] for c in response.json()}
    assert len(categories) == 6
    assert sum(len(v) for v in categories.values()) == 26
    assert categories["Sprint events"] == ["sprints.store", "sprints.update", "sprints.destroy"]
    assert response.json()[0]["events"][0]["description"] == "Task created"


def test_create_shows_the_secret_once_and_never_again(api, base, receiver):
    response = create(api, base, receiver.url)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["events"] == ["issues.store", "issues.update"]
    assert body["status"] == "active" and body["enabled"] is True
    webhook_id = body["id"]

    listing = api.get(f"{base}/webhooks/").json()
    detail = api.get(f"{base}/webhooks/{webhook_id}/").json()
    assert "secret" not in listing[0] and "secret" not in detail
    assert body["secret"] not in str(listing) + str(detail)


def test_update_replaces_events_and_delete_removes(api, base, receiver):
    webhook_id = create(api, base, receiver.url).json()["id"]
    response = api.patch(
        f"{base}/webhooks/{webhook_id}/", {"events": ["sprints.*"], "name": "CI"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["events"] == ["sprints.*"] and response.json()["name"] == "CI"
    assert api.delete(f"{base}/webhooks/{webhook_id}/").status_code == 204
    assert not Webhook.objects.exists()


def test_subscribe_by_category_or_to_everything(api, base, receiver):
    by_category = create(api, base, receiver.url, events=[], categories=["Time tracking events"])
    assert by_category.status_code == 201, by_category.json()
    assert len(by_category.json()["events"]) == 5
    everything = create(api, base, receiver.url, events=["*"])
    assert everything.json()["events"] == ["*"]


def test_subscriptions_can_be_added_and_removed_one_by_one(api, base, receiver):
    webhook_id = create(api, base, receiver.url, events=["issues.store"]).json()["id"]
    added = api.post(
        f"{base}/webhooks/{webhook_id}/subscriptions/", {"event": "issues.*"}, format="json"
    )
    assert added.status_code == 201 and added.json()["events"] == ["issues.*", "issues.store"]
    duplicate = api.post(
        f"{base}/webhooks/{webhook_id}/subscriptions/", {"event": "issues.store"}, format="json"
    )
    assert duplicate.status_code == 400 and "Duplicate" in duplicate.json()["event"][0]
    assert (
        api.delete(f"{base}/webhooks/{webhook_id}/subscriptions/issues.store/").status_code == 204
    )
    assert (
        api.delete(f"{base}/webhooks/{webhook_id}/subscriptions/issues.store/").status_code == 404
    )


def test_gitscrum_grid_sets_and_clears_one_url_per_event(api, base, receiver):
    grid = api.get(f"{base}/subscriptions/grid/").json()
    assert len(grid) == 26 and all(row["url"] is None for row in grid)

    first = api.put(
        f"{base}/subscriptions/grid/issues.store/", {"url": receiver.url}, format="json"
    )
    assert first.status_code == 201 and first.json()["secret"].startswith("whsec_")
    again = api.put(
        f"{base}/subscriptions/grid/sprints.store/", {"url": receiver.url}, format="json"
    )
    assert again.status_code == 200 and "secret" not in again.json()  # same endpoint: reused
    with Receiver() as other:
        moved = api.put(
            f"{base}/subscriptions/grid/issues.store/", {"url": other.url}, format="json"
        )
        assert moved.status_code == 201
        rows = {row["event"]: row["url"] for row in api.get(f"{base}/subscriptions/grid/").json()}
        assert rows["issues.store"] == other.url and rows["sprints.store"] == receiver.url

    assert api.delete(f"{base}/subscriptions/grid/sprints.store/").status_code == 204
    rows = {row["event"]: row["url"] for row in api.get(f"{base}/subscriptions/grid/").json()}
    assert rows["sprints.store"] is None
    bad = api.put(f"{base}/subscriptions/grid/issues.nope/", {"url": receiver.url}, format="json")
    assert bad.status_code == 400 and "event" in bad.json()


def test_enable_and_disable(api, base, receiver):
    webhook_id = create(api, base, receiver.url).json()["id"]
    disabled = api.post(f"{base}/webhooks/{webhook_id}/disable/")
    assert (
        disabled.json()["status"] == "disabled" and disabled.json()["disabled_reason"] == "manual"
    )
    enabled = api.post(f"{base}/webhooks/{webhook_id}/enable/")
    assert enabled.json()["status"] == "active"


def test_rotation_shows_the_new_secret_once_and_signs_with_both(api, base, receiver):
    created = create(api, base, receiver.url).json()
    rotated = api.post(f"{base}/webhooks/{created['id']}/rotate-secret/").json()
    assert rotated["secret"] != created["secret"]
    expires = rotated["previous_secret_expires_at"]
    assert (
        timedelta(hours=23)
        < (timezone.datetime.fromisoformat(expires) - timezone.now())
        <= timedelta(hours=24)
    )

    api.post(f"{base}/webhooks/{created['id']}/test/")
    (request,) = receiver.wait_for(1)
    assert len(request.headers["webhook-signature"].split()) == 2
    verify(request.body, request.headers, created["secret"])  # receivers not yet switched
    verify(request.body, request.headers, rotated["secret"])  # receivers already switched


def test_test_answers_with_the_delivery_outcome(api, base, receiver):
    webhook_id = create(api, base, receiver.url).json()["id"]
    receiver.reply(Reply(status=503, body=b"down for maintenance"))
    failed = api.post(f"{base}/webhooks/{webhook_id}/test/").json()
    assert failed["outcome"] == "failure" and failed["status_code"] == 503
    assert failed["delivery"]["response_body"] == "down for maintenance"
    ok = api.post(f"{base}/webhooks/{webhook_id}/test/").json()
    assert ok["outcome"] == "success" and ok["delivery"]["request_body"]["event"] == "ping"
    assert Webhook.objects.get().consecutive_failures == 0  # tests never count


def test_test_all_pings_every_webhook_of_the_project(api, base, receiver, closed_port_url):
    create(api, base, receiver.url)
    create(api, base, closed_port_url)
    outcomes = api.post(f"{base}/webhooks/test-all/").json()
    assert sorted(o["outcome"] for o in outcomes) == ["failure", "success"]
    assert receiver.count == 1


def test_delivery_logs_filter_paginate_and_show_request_and_response(
    api, base, receiver, webhooks_settings
):
    webhooks_settings(PAGE_SIZE=2)
    webhook_id = create(api, base, receiver.url).json()["id"]
    receiver.reply(Reply(status=500))
    for _ in range(3):
        api.post(f"{base}/webhooks/{webhook_id}/test/")

    page = api.get(f"{base}/deliveries/").json()
    assert "count" not in page  # keyset pages: nothing counts the whole history
    assert len(page["results"]) == 2 and page["next"] and page["previous"] is None
    rest = api.get(page["next"]).json()
    assert len(rest["results"]) == 1 and rest["next"] is None and rest["previous"]
    ids = [log["id"] for log in page["results"] + rest["results"]]
    assert len(set(ids)) == 3
    times = [log["created_at"] for log in page["results"] + rest["results"]]
    assert times == sorted(times, reverse=True)  # newest first, across pages

    def count(**filters) -> int:
        return len(api.get(f"{base}/deliveries/", {**filters, "page_size": 50}).json()["results"])

    failures = api.get(f"{base}/deliveries/", {"outcome": "failure"}).json()
    assert len(failures["results"]) == 1
    assert count(event="issues.store") == 0
    assert count(since=(timezone.now() + timedelta(hours=1)).isoformat()) == 0
    assert count(webhook=webhook_id) == 3

    log_id = failures["results"][0]["id"]
    detail = api.get(f"{base}/deliveries/{log_id}/").json()
    assert detail["response_status"] == 500
    assert detail["request_headers"]["X-Webhook-Event"] == "ping"
    assert detail["request_body"]["event"] == "ping"


def test_redeliver_one_sends_again_with_the_same_message_id(api, base, receiver):
    webhook_id = create(api, base, receiver.url).json()["id"]
    receiver.reply(Reply(status=500))
    first = api.post(f"{base}/webhooks/{webhook_id}/test/").json()["delivery"]

    again = api.post(f"{base}/deliveries/{first['id']}/redeliver/")
    assert again.status_code == 201
    second = again.json()
    assert second["attempt"] == 2 and second["trigger"] == "redelivery"
    assert second["outcome"] == "success" and second["event_id"] == first["event_id"]
    a, b = receiver.wait_for(2)
    assert a.headers["webhook-id"] == b.headers["webhook-id"]


def test_redeliver_failed_since_a_time(
    api, base, receiver, make_webhook, make_task, deliver, webhooks_settings
):
    webhooks_settings(RETRY_SCHEDULE=[])
    webhook = make_webhook(receiver.url)
    receiver.reply(Reply(status=500), Reply(status=500))
    make_task()
    make_task()
    deliver()
    assert Delivery.objects.filter(status="failed").count() == 2
    response = api.post(
        f"{base}/webhooks/{webhook.uuid}/redeliver-failed/",
        {"since": (timezone.now() - timedelta(hours=1)).isoformat()},
        format="json",
    )
    assert response.status_code == 202 and response.json() == {"queued": 2}
    deliver()
    assert Delivery.objects.filter(status="succeeded").count() == 2


@pytest.mark.parametrize(
    "payload, field, message",
    [
        ({"url": "ftp://example.com/hook"}, "url", "http"),
        ({"url": "not a url"}, "url", "http"),
        ({"url": "https://user:pass@example.com/hook"}, "url", "credentials"),
        ({"url": "http://169.254.169.254/latest"}, "url", "link-local"),
        ({"url": "https://example.com/hook", "events": ["issues.nope"]}, "events", "Unknown event"),
        (
            {"url": "https://example.com/hook", "events": ["issues.*", "issues.*"]},
            "events",
            "Duplicate",
        ),
        (
            {"url": "https://example.com/hook", "categories": ["Billing"]},
            "categories",
            "Unknown category",
        ),
    ],
)
def test_bad_input_gets_a_400_naming_the_field(api, base, payload, field, message):
    response = api.post(f"{base}/webhooks/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert message in str(response.json()[field])
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    "query, field",
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01"}, "until"),
        ({"since": "2026-11-02T00:00:00Z", "until": "2026-11-01T00:00:00Z"}, "until"),
        ({"outcome": "maybe"}, "outcome"),
    ],
)
def test_malformed_log_filters_get_a_400_naming_the_field(api, base, query, field):
    response = api.get(f"{base}/deliveries/", query)
    assert response.status_code == 400 and field in response.json(), response.json()


def test_redeliver_failed_needs_a_valid_since(api, base, receiver):
    webhook_id = create(api, base, receiver.url).json()["id"]
    response = api.post(
        f"{base}/webhooks/{webhook_id}/redeliver-failed/", {"since": "soon"}, format="json"
    )
    assert response.status_code == 400 and "since" in response.json()


def test_non_managers_get_403_and_see_nothing(project, other_project, receiver, base, make_webhook):
    make_webhook(receiver.url)
    stranger = APIClient()
    stranger.force_authenticate(manager_of(other_project, "someone-else"))
    for url in (f"{base}/webhooks/", f"{base}/deliveries/", f"{base}/subscriptions/grid/"):
        response = stranger.get(url)
        assert response.status_code == 403, url
        assert receiver.url not in response.content.decode()
    assert (
        stranger.post(f"{base}/webhooks/", {"url": receiver.url}, format="json").status_code == 403
    )
    assert APIClient().get(f"{base}/webhooks/").status_code == 403  # anonymous


def test_a_manager_sees_only_their_projects_webhooks(
    api, project, other_project, make_webhook, receiver
):
    theirs = make_webhook(receiver.url, project=other_project)
    mine = make_webhook(receiver.url)
    ids = [w["id"] for w in api.get(f"/api/projects/{project.pk}/webhooks/").json()]
    assert ids == [str(mine.uuid)]
    assert api.get(f"/api/projects/{project.pk}/webhooks/{theirs.uuid}/").status_code == 404
    assert api.get(f"/api/projects/{other_project.pk}/webhooks/").status_code == 403
    assert api.get("/api/projects/999999/webhooks/").status_code == 404


def test_free_plan_can_see_and_prepare_but_not_activate(api, project, base, receiver):
    Project.objects.filter(pk=project.pk).update(plan=Project.Plan.FREE)
    refused = create(api, base, receiver.url)
    assert refused.status_code == 403
    assert "Pro feature" in refused.json()["detail"]
    assert not Webhook.objects.exists()

    prepared = create(api, base, receiver.url, enabled=False)
    assert prepared.status_code == 201
    webhook_id = prepared.json()["id"]
    assert api.get(f"{base}/webhooks/").status_code == 200
    enable = api.post(f"{base}/webhooks/{webhook_id}/enable/")
    assert enable.status_code == 403 and "Upgrade" in enable.json()["detail"]
    patch = api.patch(f"{base}/webhooks/{webhook_id}/", {"enabled": True}, format="json")
    assert patch.status_code == 403
    assert Webhook.objects.get().enabled is False


def test_openapi_schema_and_browsable_ui_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/projects/{project_pk}/webhooks/" in schema.content
    ui = client.get("/api/schema/ui/")
    assert ui.status_code == 200 and b"swagger-ui" in ui.content


@pytest.mark.parametrize(
    "role, allowed",
    [
        (Membership.Role.PRODUCT_OWNER, True),
        (Membership.Role.SCRUM_MASTER, True),
        (Membership.Role.DEVELOPER, False),
        (Membership.Role.STAKEHOLDER, False),
    ],
)
def test_only_product_owners_and_scrum_masters_manage_webhooks(project, base, role, allowed):
    client = APIClient()
    client.force_authenticate(member_of(project, "member", role))
    assert client.get(f"{base}/webhooks/").status_code == (200 if allowed else 403)


def test_the_manage_rule_is_the_hosts_to_replace(project, base, webhooks_settings):
    user = User.objects.create_user("group-manager")
    user.groups.add(Group.objects.create(name=managers_group(project)))
    client = APIClient()
    client.force_authenticate(user)
    assert client.get(f"{base}/webhooks/").status_code == 403  # not a PO or SM
    webhooks_settings(MANAGE_PERMISSION="tests.rules.can_manage")
    assert client.get(f"{base}/webhooks/").status_code == 200


def test_patching_enabled_goes_through_enable_and_disable(api, base, receiver):
    webhook_id = create(api, base, receiver.url).json()["id"]
    off = api.patch(f"{base}/webhooks/{webhook_id}/", {"enabled": False}, format="json").json()
    assert off["status"] == "disabled" and off["disabled_reason"] == "manual"
    assert off["disabled_at"] is not None

    Webhook.objects.update(consecutive_failures=7, disabled_reason="failures")
    on = api.patch(f"{base}/webhooks/{webhook_id}/", {"enabled": True}, format="json").json()
    assert on["status"] == "active" and on["consecutive_failures"] == 0


def test_patching_a_name_does_not_write_back_a_workers_counter(api, base, receiver):
    webhook_id = create(api, base, receiver.url).json()["id"]
    webhook = Webhook.objects.get()
    stale = api.get(f"{base}/webhooks/{webhook_id}/").json()
    # A worker records failures (and disables the webhook) after the page was loaded.
    Webhook.objects.filter(pk=webhook.pk).update(
        consecutive_failures=5, enabled=False, disabled_reason="failures"
    )
    api.patch(f"{base}/webhooks/{webhook_id}/", {"name": stale["name"] + "!"}, format="json")
    webhook.refresh_from_db()
    assert (webhook.consecutive_failures, webhook.enabled) == (5, False)


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "webhooks/{webhook}/"),
        ("patch", "webhooks/{webhook}/"),
        ("delete", "webhooks/{webhook}/"),
        ("post", "webhooks/{webhook}/enable/"),
        ("post", "webhooks/{webhook}/disable/"),
        ("post", "webhooks/{webhook}/rotate-secret/"),
        ("post", "webhooks/{webhook}/test/"),
        ("get", "deliveries/{log}/"),
        ("post", "deliveries/{log}/redeliver/"),
    ],
)
def test_ids_of_another_project_are_not_found_from_this_one(
    api, base, other_project, receiver, method, path
):
    theirs = Webhook.objects.create(project=other_project, url=receiver.url)
    from webhooks_app.delivery import send_test

    log = send_test(theirs).attempt_logs.get()
    response = getattr(api, method)(
        f"{base}/" + path.format(webhook=theirs.uuid, log=log.uuid), {}, format="json"
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.enabled and DeliveryLog.objects.filter(webhook=theirs).count() == 1


def test_test_all_pings_at_most_the_limit_and_reports_the_rest(
    api, base, receiver, webhooks_settings
):
    webhooks_settings(MAX_TESTS_PER_REQUEST=2)
    for _ in range(3):
        create(api, base, receiver.url)
    outcomes = api.post(f"{base}/webhooks/test-all/").json()
    assert [o["outcome"] for o in outcomes] == ["success", "success", "skipped"]
    assert "at most 2" in outcomes[2]["error"]
    assert receiver.count == 2
