"""The settings-screen API: endpoints, permissions, the activation rule and bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ValidationError
from django.utils import timezone
from rest_framework.test import APIClient

from tests.conftest import manager_of
from tests.testapp.models import Project
from webhooks_app import operations
from webhooks_app.models import Delivery, DeliveryLog, Webhook, WebhookStatus
from webhooks_app.signing import verify
from webhooks_app.testing import Receiver, Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(project):
    client = APIClient()
    client.force_authenticate(manager_of(project))
    return client


@pytest.fixture
def base(project):
    return f"/api/projects/{project.pk}"


def create(api, base, url, events=("items.store", "items.update"), **extra):
    return api.post(
        f"{base}/webhooks/", {"url": url, "events": list(events), **extra}, format="json"
    )


def test_event_catalog_is_grouped_by_category(api, base):
    response = api.get(f"{base}/events/")
    assert response.status_code == 200
    categories = {c["name"]: [e["name"] for e in c["events"]] for c in response.json()}
    assert categories == {
        "Item events": [
            "items.store",
            "items.update",
            "items.done",
            "items.move",
            "items.destroy",
        ],
        "Tag events": ["items.tags.add", "items.tags.remove"],
    }
    assert response.json()[0]["events"][0]["description"] == "Item created"


def test_create_shows_the_secret_once_and_never_again(api, base, receiver):
    response = create(api, base, receiver.url)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["events"] == ["items.store", "items.update"]
    assert body["status"] == "active" and body["enabled"] is True
    webhook_id = body["id"]

    listing = api.get(f"{base}/webhooks/").json()
    detail = api.get(f"{base}/webhooks/{webhook_id}/").json()
    assert "secret" not in listing[0] and "secret" not in detail
    assert body["secret"] not in str(listing) + str(detail)


def test_update_replaces_events_and_delete_removes(api, base, receiver):
    webhook_id = create(api, base, receiver.url).json()["id"]
    response = api.patch(
        f"{base}/webhooks/{webhook_id}/", {"events": ["items.tags.*"], "name": "CI"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["events"] == ["items.tags.*"] and response.json()["name"] == "CI"
    assert api.delete(f"{base}/webhooks/{webhook_id}/").status_code == 204
    assert not Webhook.objects.exists()


def test_subscribe_by_category_or_to_everything(api, base, receiver):
    by_category = create(api, base, receiver.url, events=[], categories=["Tag events"])
    assert by_category.status_code == 201, by_category.json()
    assert by_category.json()["events"] == ["items.tags.add", "items.tags.remove"]
    everything = create(api, base, receiver.url, events=["*"])
    assert everything.json()["events"] == ["*"]


def test_subscriptions_can_be_added_and_removed_one_by_one(api, base, receiver):
    webhook_id = create(api, base, receiver.url, events=["items.store"]).json()["id"]
    added = api.post(
        f"{base}/webhooks/{webhook_id}/subscriptions/", {"event": "items.*"}, format="json"
    )
    assert added.status_code == 201 and added.json()["events"] == ["items.*", "items.store"]
    duplicate = api.post(
        f"{base}/webhooks/{webhook_id}/subscriptions/", {"event": "items.store"}, format="json"
    )
    assert duplicate.status_code == 400 and "Duplicate" in duplicate.json()["event"][0]
    assert api.delete(f"{base}/webhooks/{webhook_id}/subscriptions/items.store/").status_code == 204
    assert api.delete(f"{base}/webhooks/{webhook_id}/subscriptions/items.store/").status_code == 404


def test_grid_sets_and_clears_one_url_per_event(api, base, receiver):
    grid = api.get(f"{base}/subscriptions/grid/").json()
    assert len(grid) == 7 and all(row["url"] is None for row in grid)

    first = api.put(f"{base}/subscriptions/grid/items.store/", {"url": receiver.url}, format="json")
    assert first.status_code == 201 and first.json()["secret"].startswith("whsec_")
    again = api.put(f"{base}/subscriptions/grid/items.done/", {"url": receiver.url}, format="json")
    assert again.status_code == 200 and "secret" not in again.json()  # same endpoint: reused
    with Receiver() as other:
        moved = api.put(
            f"{base}/subscriptions/grid/items.store/", {"url": other.url}, format="json"
        )
        assert moved.status_code == 201
        rows = {row["event"]: row["url"] for row in api.get(f"{base}/subscriptions/grid/").json()}
        assert rows["items.store"] == other.url and rows["items.done"] == receiver.url

    assert api.delete(f"{base}/subscriptions/grid/items.done/").status_code == 204
    rows = {row["event"]: row["url"] for row in api.get(f"{base}/subscriptions/grid/").json()}
    assert rows["items.done"] is None
    bad = api.put(f"{base}/subscriptions/grid/items.nope/", {"url": receiver.url}, format="json")
    assert bad.status_code == 404 and "items.nope" in bad.json()["detail"]  # no such row


def test_grid_lists_every_webhook_that_receives_each_event(
    api, base, project, make_webhook, other_project
):
    family = make_webhook("https://a.example.com/hook", ["items.*"], name="family")
    everything = make_webhook("https://b.example.com/hook", ["*"], project=None)
    make_webhook("https://c.example.com/hook", ["items.store"], status=WebhookStatus.DISABLED)
    make_webhook("https://d.example.com/hook", ["*"], project=other_project)

    def receivers() -> dict[str, list[tuple[str, str, bool]]]:
        grid = api.get(f"{base}/subscriptions/grid/").json()
        return {
            row["event"]: [
                (r["webhook"], r["pattern"], r["organisation_wide"]) for r in row["receivers"]
            ]
            for row in grid
        }

    rows = receivers()
    assert rows["items.store"] == [
        (str(family.uuid), "items.*", False),
        (str(everything.uuid), "*", True),
    ]
    assert rows["items.tags.add"] == rows["items.store"]

    # A project the activation rule refuses receives nothing, installation-wide included.
    Project.objects.filter(pk=project.pk).update(plan=Project.Plan.FREE)
    operations.disable(family)
    assert all(row == [] for row in receivers().values())


def test_enable_and_disable(api, base, receiver):
    webhook_id = create(api, base, receiver.url).json()["id"]
    disabled = api.post(f"{base}/webhooks/{webhook_id}/disable/")
    assert disabled.json()["status"] == "disabled" and disabled.json()["enabled"] is False
    enabled = api.post(f"{base}/webhooks/{webhook_id}/enable/")
    assert enabled.json()["status"] == "active"


def test_rotation_shows_the_new_secret_once_and_signs_with_both(api, base, receiver):
    created = create(api, base, receiver.url).json()
    assert created["rotation"] == {
        "stage": "none",
        "single_signature_secret": "current",
        "standard_signature_secrets": ["current"],
        "overlap_ends_at": None,
        "switched_at": None,
    }
    rotated = api.post(f"{base}/webhooks/{created['id']}/rotate-secret/").json()
    assert rotated["secret"] != created["secret"]
    expires = rotated["previous_secret_expires_at"]
    assert (
        timedelta(hours=23)
        < (timezone.datetime.fromisoformat(expires) - timezone.now())
        <= timedelta(hours=24)
    )
    assert rotated["rotation"] == {
        "stage": "rotated",
        "single_signature_secret": "previous",
        "standard_signature_secrets": ["current", "previous"],
        "overlap_ends_at": expires,
        "switched_at": None,
    }

    api.post(f"{base}/webhooks/{created['id']}/test/")
    (request,) = receiver.wait_for(1)
    assert len(request.headers["webhook-signature"].split()) == 2
    verify(request.body, request.headers, created["secret"])  # receivers not yet switched
    verify(request.body, request.headers, rotated["secret"])  # receivers already switched
    old_only = request.headers["X-Webhook-Signature-256"]
    assert verify(
        request.body, {"X-Webhook-Signature-256": old_only}, created["secret"], schemes=["hex"]
    )


def test_switch_secret_moves_single_signature_headers_and_says_so(api, base, receiver):
    created = create(api, base, receiver.url).json()
    switch = f"{base}/webhooks/{created['id']}/switch-secret/"
    refused = api.post(switch)
    assert refused.status_code == 409 and "nothing to switch" in refused.json()["detail"]

    new = api.post(f"{base}/webhooks/{created['id']}/rotate-secret/").json()["secret"]
    switched = api.post(switch)
    assert switched.status_code == 200
    rotation = switched.json()["rotation"]
    assert rotation["stage"] == "switched" and rotation["single_signature_secret"] == "current"
    assert rotation["standard_signature_secrets"] == ["current", "previous"]
    assert rotation["switched_at"] is not None
    assert api.post(switch).json()["rotation"] == rotation  # switching again changes nothing

    api.post(f"{base}/webhooks/{created['id']}/test/")
    (request,) = receiver.wait_for(1)
    single = {"X-Webhook-Signature-256": request.headers["X-Webhook-Signature-256"]}
    assert verify(request.body, single, new, schemes=["hex"]) == request.body
    verify(request.body, request.headers, created["secret"])  # webhook-signature: both


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
    assert count(event="items.store") == 0
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
    api, base, receiver, make_webhook, make_item, deliver, webhooks_settings
):
    webhooks_settings(RETRY_SCHEDULE=[])
    webhook = make_webhook(receiver.url)
    receiver.reply(Reply(status=500), Reply(status=500))
    make_item()
    make_item()
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
        ({"url": "not a url"}, "url", "spaces"),
        ({"url": "example.com/hook"}, "url", "http"),
        ({"url": "https://user:pass@example.com/hook"}, "url", "credentials"),
        ({"url": "http://169.254.169.254/latest"}, "url", "link-local"),
        ({"url": "https://example.com/hook", "events": ["items.nope"]}, "events", "Unknown event"),
        (
            {"url": "https://example.com/hook", "events": ["items.*", "items.*"]},
            "events",
            "Duplicate",
        ),
        (
            {"url": "https://example.com/hook", "categories": ["Billing"]},
            "categories",
            "Unknown category",
        ),
        (
            {"url": "https://example.com/hook", "categories": ["Item events", "Item events"]},
            "categories",
            "Duplicate category",
        ),
        # Past PostgreSQL's integer: once a 500 from the database.
        ({"url": "https://example.com/hook", "rate_limit": 2**40}, "rate_limit", "100000"),
        ({"url": "https://example.com/hook", "rate_limit": 0}, "rate_limit", "1"),
    ],
)
def test_bad_input_gets_a_400_naming_the_field(api, base, payload, field, message):
    response = api.post(f"{base}/webhooks/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert message in str(response.json()[field])
    assert not Webhook.objects.exists()


BAD_URLS = [
    pytest.param("http://2130706433/", "loopback", id="decimal-ipv4"),
    pytest.param("http://127.1/", "loopback", id="short-ipv4"),
    pytest.param("http://0x7f.0.0.1/", "loopback", id="hex-ipv4"),
    pytest.param("http://0177.0.0.1/", "loopback", id="octal-ipv4"),
    pytest.param("http://[fec0::1]/", "site-local", id="ipv6-site-local"),
    pytest.param("http://[::ffff:10.0.0.1]/", "private", id="ipv4-mapped"),
    pytest.param("http://[::127.0.0.1]/", "carrying 127.0.0.1", id="ipv4-compatible"),
    pytest.param("http://[64:ff9b::a00:1]/", "carrying 10.0.0.1", id="nat64"),
    pytest.param("http://[2002:7f00:1::1]/", "carrying 127.0.0.1", id="6to4-loopback"),
    pytest.param("http://[2002:c0a8:101::1]/", "carrying 192.168.1.1", id="6to4-private"),
    # Teredo: the client's address is stored inverted (here 127.0.0.1).
    pytest.param("http://[2001:0:808:808:0:0:80ff:fffe]/", "carrying 127.0.0.1", id="teredo"),
    pytest.param("http://192.0.0.8/", "IETF protocol assignments", id="ietf-192.0.0.0/24"),
    pytest.param("http://198.18.0.1/", "benchmarking", id="benchmarking"),
    pytest.param("http://[not-an-ip]/", "valid URL", id="bracketed-name"),
    pytest.param("http://[::1/", "valid URL", id="unclosed-bracket"),
    pytest.param("http://example.com/\r\nX-Injected: 1", "control characters", id="crlf"),
    pytest.param("http://" + "a" * 64 + ".example/", "host name", id="label-too-long"),
    pytest.param("http://a..example/", "host name", id="empty-label"),
    pytest.param("http://example.com:99999/", "valid URL", id="port-out-of-range"),
]


@pytest.mark.parametrize("url, message", BAD_URLS)
def test_every_way_of_entering_a_bad_url_gets_a_400_and_saves_nothing(
    api, base, url, message, webhooks_settings, make_webhook
):
    webhooks_settings(ALLOWED_NETWORKS=[])  # the tests' receivers' loopback is let through
    existing = make_webhook("https://example.com/kept")
    attempts = [
        api.post(f"{base}/webhooks/", {"url": url}, format="json"),
        api.patch(f"{base}/webhooks/{existing.uuid}/", {"url": url}, format="json"),
        api.put(f"{base}/subscriptions/grid/items.store/", {"url": url}, format="json"),
    ]
    for response in attempts:
        assert response.status_code == 400, (response.status_code, response.content)
        assert message in str(response.json()["url"])
    assert list(Webhook.objects.values_list("url", flat=True)) == ["https://example.com/kept"]


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "2606:4700::1111", "2002:808:808::1", "64:ff9b::808:808"]
)
def test_public_addresses_and_forms_carrying_one_are_let_through(address, webhooks_settings):
    from webhooks_app.engine.addresses import blocked_reason

    webhooks_settings(ALLOWED_NETWORKS=[])
    assert blocked_reason(address) is None


def test_json_nested_beyond_the_recursion_limit_is_a_400(api, base):
    body = '{"url": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = api.post(f"{base}/webhooks/", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]
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


def test_a_refused_project_can_see_and_prepare_but_not_activate(api, project, base, receiver):
    Project.objects.filter(pk=project.pk).update(plan=Project.Plan.FREE)
    refused = create(api, base, receiver.url)
    assert refused.status_code == 403
    assert "Pro feature" in refused.json()["detail"]
    assert not Webhook.objects.exists()

    prepared = create(api, base, receiver.url, enabled=False)
    assert prepared.status_code == 201
    webhook_id = prepared.json()["id"]
    assert api.get(f"{base}/webhooks/").status_code == 200
    assert prepared.json()["status"] == "disabled"  # by hand: nothing ever failed
    enable = api.post(f"{base}/webhooks/{webhook_id}/enable/")
    assert enable.status_code == 403 and "upgrade" in enable.json()["detail"]
    patch = api.patch(f"{base}/webhooks/{webhook_id}/", {"enabled": True}, format="json")
    assert patch.status_code == 403
    assert Webhook.objects.get().status == WebhookStatus.DISABLED


def test_a_disabled_webhook_created_through_the_api_reports_disabled(api, base, receiver):
    body = create(api, base, receiver.url, enabled=False).json()

    assert (body["status"], body["enabled"], body["disabled_detail"]) == ("disabled", False, "")
    assert api.get(f"{base}/webhooks/{body['id']}/").json()["status"] == "disabled"


def test_openapi_schema_describes_the_api_and_its_events(client):
    schema = client.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    document = schema.json()
    assert "/api/projects/{project_pk}/webhooks/" in document["paths"]
    assert "items.tags.*" in schema.content.decode()  # the catalog's patterns, as an enum


def test_the_manage_rule_is_the_hosts_to_replace(project, base, webhooks_settings):
    grouped = manager_of(project, "group-manager")
    permitted = User.objects.create_user("permitted")
    permitted.user_permissions.add(Permission.objects.get(codename="change_webhook"))

    def status_for(user) -> int:
        client = APIClient()
        client.force_authenticate(User.objects.get(pk=user.pk))
        return client.get(f"{base}/webhooks/").status_code

    assert (status_for(grouped), status_for(permitted)) == (200, 403)
    webhooks_settings(MANAGE_PERMISSION="webhooks_app.rules.default_can_manage")
    assert (status_for(grouped), status_for(permitted)) == (403, 200)


def test_patching_enabled_goes_through_enable_and_disable(api, base, receiver):
    webhook_id = create(api, base, receiver.url).json()["id"]
    off = api.patch(f"{base}/webhooks/{webhook_id}/", {"enabled": False}, format="json").json()
    assert off["status"] == "disabled" and off["enabled"] is False
    assert off["disabled_at"] is not None

    Webhook.objects.update(consecutive_failures=7, status=WebhookStatus.AUTO_DISABLED)
    on = api.patch(f"{base}/webhooks/{webhook_id}/", {"enabled": True}, format="json").json()
    assert on["status"] == "active" and on["consecutive_failures"] == 0


def test_patching_a_name_does_not_write_back_a_workers_counter(api, base, receiver):
    webhook_id = create(api, base, receiver.url).json()["id"]
    webhook = Webhook.objects.get()
    stale = api.get(f"{base}/webhooks/{webhook_id}/").json()
    # A worker records failures (and disables the webhook) after the page was loaded.
    Webhook.objects.filter(pk=webhook.pk).update(
        consecutive_failures=5, status=WebhookStatus.AUTO_DISABLED
    )
    api.patch(f"{base}/webhooks/{webhook_id}/", {"name": stale["name"] + "!"}, format="json")
    webhook.refresh_from_db()
    assert (webhook.consecutive_failures, webhook.status) == (5, WebhookStatus.AUTO_DISABLED)


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "webhooks/{webhook}/"),
        ("patch", "webhooks/{webhook}/"),
        ("delete", "webhooks/{webhook}/"),
        ("post", "webhooks/{webhook}/enable/"),
        ("post", "webhooks/{webhook}/disable/"),
        ("post", "webhooks/{webhook}/rotate-secret/"),
        ("post", "webhooks/{webhook}/switch-secret/"),
        ("post", "webhooks/{webhook}/test/"),
        ("get", "deliveries/{log}/"),
        ("post", "deliveries/{log}/redeliver/"),
    ],
)
def test_ids_of_another_project_are_not_found_from_this_one(
    api, base, other_project, receiver, method, path
):
    theirs = Webhook.objects.create(project=other_project, url=receiver.url)
    log = operations.send_test(theirs)
    response = getattr(api, method)(
        f"{base}/" + path.format(webhook=theirs.uuid, log=log.uuid), {}, format="json"
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_active and DeliveryLog.objects.filter(webhook=theirs).count() == 1


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


def test_delivery_options_are_set_and_shown(api, base):
    created = api.post(
        f"{base}/webhooks/",
        {
            "url": "https://example.com/hook",
            "signatures": ["github", "agiletune"],
            "extra_headers": {"X-Tenant": "acme"},
            "content_type": "form",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    shown = api.get(f"{base}/webhooks/{created.json()['id']}/").json()
    assert shown["signatures"] == ["github", "agiletune"]
    assert shown["extra_headers"] == {"X-Tenant": "acme"}
    assert shown["content_type"] == "form"


@pytest.mark.parametrize(
    "options, field, message",
    [
        ({"signatures": []}, "signatures", "one or more"),
        ({"signatures": ["bogus"]}, "signatures", "not a valid choice"),
        ({"signatures": ["github", "github"]}, "signatures", "twice"),
        ({"extra_headers": {"Content-Type": "text/plain"}}, "extra_headers", "set by the sender"),
        ({"extra_headers": {"webhook-id": "msg_x"}}, "extra_headers", "set by the sender"),
        ({"extra_headers": {"X-Hub-Signature-256": "x"}}, "extra_headers", "set by the sender"),
        ({"extra_headers": {"Bad Header": "x"}}, "extra_headers", "not a valid header name"),
        ({"extra_headers": {"X-A": "x\r\nX-B: y"}}, "extra_headers", "printable"),
        ({"extra_headers": ["X-A"]}, "extra_headers", "dictionary"),
        ({"content_type": "xml"}, "content_type", "not a valid choice"),
        ({"content_type": "form"}, "content_type", "parse the body as JSON"),
        ({"content_type": "form", "signatures": ["ed25519"]}, "content_type", "ed25519"),
    ],
)
def test_bad_delivery_options_get_a_400_naming_the_field(api, base, options, field, message):
    response = api.post(
        f"{base}/webhooks/", {"url": "https://example.com/hook", **options}, format="json"
    )
    assert response.status_code == 400, response.json()
    assert message in str(response.json()[field]), response.json()
    assert not Webhook.objects.exists()


def test_the_url_rule_lives_on_the_model_field(project):
    """A host's own ModelForm or full_clean() refuses what the API and pages refuse, and
    a one-label host (a service name on a private network) is not Django's to refuse."""
    with pytest.raises(ValidationError) as raised:
        Webhook(url="http://169.254.169.254/latest", project=project).full_clean()
    assert "link-local" in str(raised.value.message_dict["url"])
    Webhook(url="https://billing:8443/hooks", project=project).clean_fields(exclude=["project"])


def test_host_code_gets_the_same_validation_before_anything_is_written(project):
    with pytest.raises(ValidationError) as raised:
        operations.create_webhook(
            url="https://example.com/hook",
            project=project,
            extra_headers={"Host": "evil.example"},
        )
    assert "extra_headers" in raised.value.message_dict
    with pytest.raises(ValidationError) as raised:
        operations.create_webhook(url="https://example.com/hook", project=project, rate_limit=-1)
    assert "rate_limit" in raised.value.message_dict
    assert not Webhook.objects.exists()


# -- no 500, and the schema's word on every answer ---------------------------------------


def test_options_on_a_grid_row_describes_it_and_an_unknown_row_is_a_404(api, base):
    response = api.options(f"{base}/subscriptions/grid/items.store/")
    assert response.status_code == 200
    assert "url" in response.json()["actions"]["PUT"]
    unknown = api.options(f"{base}/subscriptions/grid/no.such.event/")
    assert unknown.status_code == 200 and "actions" not in unknown.json()


@pytest.mark.parametrize(
    "path",
    [
        "/nothing/here/",
        "/webhooks/not-a-uuid/",
        "/webhooks/%C2%84/enable/",
        "/deliveries/xyz/redeliver/",
        "/webhooks/00000000-0000-0000-0000-000000000000/",
    ],
)
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_every_path_under_the_api_answers_json_even_a_404(api, base, path, method):
    response = getattr(api, method)(f"{base}{path}", {}, format="json")
    assert response.status_code in (404, 405), response.status_code
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


def test_the_hosts_own_api_prefix_answers_json_too(api):
    # tests/urls.py mounts the API's not_found after its routes, as the README says.
    response = api.get("/api/projects/not-a-number/webhooks/")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


def test_a_path_without_its_trailing_slash_is_redirected_or_named_in_json(api, base):
    moved = api.get(f"{base}/webhooks?x=1")
    assert moved.status_code == 301 and moved["Location"].endswith("/webhooks/?x=1")
    assert moved.json()["detail"].startswith("Moved to")
    posted = api.post(f"{base}/webhooks", {"url": "https://example.com/h"}, format="json")
    assert posted.status_code == 404 and f"{base}/webhooks/" in posted.json()["detail"]
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    "action", ["enable", "disable", "rotate-secret", "test", "test-all", "redeliver"]
)
@pytest.mark.parametrize(
    "body, field",
    [
        ({"enabled": False}, "enabled"),
        ({"url": "https://elsewhere.example/"}, "url"),
        ([1, 2], "non_field_errors"),
        ("text", "non_field_errors"),
    ],
)
def test_actions_that_take_no_body_refuse_one_naming_what_was_sent(
    api, base, webhook, action, body, field
):
    if action == "redeliver":
        log = operations.send_test(webhook)
        url = f"{base}/deliveries/{log.uuid}/redeliver/"
    elif action == "test-all":
        url = f"{base}/webhooks/test-all/"
    else:
        url = f"{base}/webhooks/{webhook.uuid}/{action}/"
    secret = webhook.secret
    response = api.post(url, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    webhook.refresh_from_db()
    assert webhook.is_active and webhook.secret == secret


def test_actions_that_take_no_body_accept_none_or_an_empty_object(api, base, webhook):
    assert api.post(f"{base}/webhooks/{webhook.uuid}/disable/").status_code == 200
    assert api.post(f"{base}/webhooks/{webhook.uuid}/enable/", {}, format="json").status_code == 200


def test_the_schema_says_which_actions_take_no_body(client):
    schema = client.get("/api/schema/?format=json").json()
    actions = ["enable", "disable", "rotate-secret", "test"]
    for action in actions:
        operation = schema["paths"][
            f"/api/projects/{{project_pk}}/webhooks/{{webhook_id}}/{action}/"
        ]
        assert "requestBody" not in operation["post"], action
    assert (
        "requestBody"
        not in schema["paths"]["/api/projects/{project_pk}/webhooks/test-all/"]["post"]
    )


def test_the_api_reads_json_only_as_its_schema_says(api, base, receiver):
    form = api.post(f"{base}/webhooks/", {"url": receiver.url}, format="multipart")
    assert form.status_code == 415
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    "query, field",
    [
        ("webhook=", "webhook"),
        ("outcome=", "outcome"),
        ("event=", "event"),
        ("since=", "since"),
        ("page_size=0", "page_size"),
        ("page_size=abc", "page_size"),
        ("page_size=" + "9" * 5000, "page_size"),
        ("since=9999-12-31T23:59:59-23:00", "since"),
    ],
)
def test_empty_or_out_of_range_log_filters_get_a_400_naming_the_field(api, base, query, field):
    response = api.get(f"{base}/deliveries/?{query}")
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_answers_that_show_a_secret_are_never_stored(api, base, receiver):
    created = create(api, base, receiver.url)
    assert "no-store" in created["Cache-Control"]
    rotated = api.post(f"{base}/webhooks/{created.json()['id']}/rotate-secret/")
    assert "no-store" in rotated["Cache-Control"]
    row = api.put(
        f"{base}/subscriptions/grid/items.done/", {"url": receiver.url + "/x"}, format="json"
    )
    assert row.status_code == 201 and "secret" in row.json()
    assert "no-store" in row["Cache-Control"]
    listed = api.get(f"{base}/webhooks/")
    assert "no-store" not in listed.get("Cache-Control", "")


@pytest.mark.django_db(transaction=True)
def test_subscribing_a_webhook_deleted_meanwhile_says_it_does_not_exist(make_webhook):
    webhook = make_webhook("https://example.com/h")
    Webhook.objects.filter(pk=webhook.pk).delete()  # by another request, after this one read it
    with pytest.raises(Webhook.DoesNotExist):
        operations.subscribe(webhook, "items.store")


def test_subscribing_to_a_pattern_it_has_leaves_one_subscription(make_webhook):
    webhook = make_webhook("https://example.com/h", events=())
    first = operations.subscribe(webhook, "items.store")
    assert operations.subscribe(webhook, "items.store") == first
    assert webhook.subscriptions.count() == 1
