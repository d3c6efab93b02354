"""The host's event catalog is the only one anyone sees."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from webhooks_app import operations
from webhooks_app.events import catalog, patterns_for

pytestmark = pytest.mark.django_db

SHOP_EVENTS = [
    ("shop.order.paid", "Order paid", "Orders"),
    ("shop.order.refunded", "Order refunded", "Orders"),
]
SHOP_PATTERNS = ["*", "shop.*", "shop.order.*", "shop.order.paid", "shop.order.refunded"]


@pytest.fixture
def shop_catalog(webhooks_settings):
    webhooks_settings(EVENTS=SHOP_EVENTS)


def enums(node) -> list[list]:
    """Every ``enum`` list in an OpenAPI document."""
    if isinstance(node, dict):
        found = [node["enum"]] if isinstance(node.get("enum"), list) else []
        return found + [e for value in node.values() for e in enums(value)]
    if isinstance(node, list):
        return [e for value in node for e in enums(value)]
    return []


def test_a_two_event_catalog_is_exactly_what_the_api_lists(shop_catalog, admin_user, project):
    api = APIClient()
    api.force_authenticate(admin_user)

    listed = api.get(f"/api/projects/{project.pk}/events/").json()

    assert listed == [
        {
            "name": "Orders",
            "events": [
                {"name": "shop.order.paid", "description": "Order paid"},
                {"name": "shop.order.refunded", "description": "Order refunded"},
            ],
        }
    ]


def test_a_two_event_catalog_is_exactly_what_the_admin_form_offers(shop_catalog, admin_client):
    page = admin_client.get(reverse("admin:webhooks_app_webhook_add")).content.decode()

    offered = set(re.findall(r'<option value="([^"]+)"', page))
    events = {value for value in offered if "*" not in value and "." in value}
    assert events == {"shop.order.paid", "shop.order.refunded"}
    assert {"*", "shop.*"} <= offered
    assert "items." not in page


def test_a_two_event_catalog_is_exactly_what_the_schema_enumerates(shop_catalog, client):
    response = client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    patterns = [enum for enum in enums(response.json()) if "*" in enum]
    assert patterns and all(sorted(enum) == SHOP_PATTERNS for enum in patterns)
    assert "items." not in response.content.decode()


def test_subscribing_accepts_the_catalogs_patterns_and_nothing_else(shop_catalog, project):
    webhook = operations.create_webhook(url="https://example.com/hook", project=project)

    for pattern in SHOP_PATTERNS:
        operations.subscribe(webhook, pattern)
    with pytest.raises(operations.UnknownEventPattern):
        operations.subscribe(webhook, "items.store")
    assert catalog.patterns() == SHOP_PATTERNS
    assert set(patterns_for("shop.order.paid")) <= set(SHOP_PATTERNS)
