"""The shop's webhooks, end to end: a real receiver gets signed requests. ``receiver``
and ``deliver`` come from webhooks_app's pytest plugin."""

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from jsonschema import Draft202012Validator
from orders.models import Order, Store

from webhooks_app import operations
from webhooks_app.schemas import contract, envelope_schema, openapi_document
from webhooks_app.testing import capture_events

pytestmark = pytest.mark.django_db


@pytest.fixture
def store() -> Store:
    return Store.objects.create(name="Main street")


@pytest.fixture
def webhook(store, receiver, settings):
    # The SSRF guard refuses loopback; the test's receiver listens there.
    settings.WEBHOOKS = {**settings.WEBHOOKS, "ALLOWED_NETWORKS": ["127.0.0.0/8"]}
    hook = operations.create_webhook(
        url=receiver.url, project=store, events=["orders.*"], name="Fulfilment"
    )
    receiver.secret = hook.secret
    return hook


def test_placing_an_order_posts_a_signed_orders_created(webhook, receiver, store, deliver):
    order = Order.objects.create(store=store, customer="ada@example.com", total=Decimal("12.50"))

    assert deliver() == 1
    (request,) = receiver.wait_for(1)
    assert request.verified
    assert request.json()["event"] == "orders.created"
    assert request.json()["data"] == {
        "id": order.pk,
        "customer": "ada@example.com",
        "total": "12.50",
        "shipped_at": None,
    }


def test_shipping_is_an_explicit_event(webhook, receiver, store, deliver):
    order = Order.objects.create(store=store, customer="ada@example.com", total=Decimal("3"))
    order.ship()

    assert deliver() == 2
    events = [request.event for request in receiver.wait_for(2)]
    assert sorted(events) == ["orders.created", "orders.shipped"]


def test_another_stores_orders_are_not_sent(webhook, receiver, deliver):
    elsewhere = Store.objects.create(name="Harbour")
    Order.objects.create(store=elsewhere, customer="bob@example.com", total=Decimal("1"))

    assert deliver() == 0
    assert receiver.requests == []


@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_delivers_the_order_placed(webhook, receiver, store):
    """The shop's own deployment: a real ``celery -A shop worker`` on the test database,
    handed the delivery task the order's commit enqueued."""
    shop = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "SHOP_SQLITE": str(connection.settings_dict["NAME"]),
        "SHOP_TEST_WORKER": "1",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "shop", "worker", "--pool", "solo"],
        cwd=shop,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        Order.objects.create(store=store, customer="ada@example.com", total=Decimal("7"))
        (request,) = receiver.wait_for(1, timeout=60)
    finally:
        worker.terminate()
        worker.wait(timeout=30)

    assert request.verified and request.event == "orders.created"


def test_placing_and_shipping_emit_two_events_whoever_subscribes(store):
    with capture_events() as captured:
        order = Order.objects.create(store=store, customer="ada@example.com", total=Decimal("3"))
        order.ship()

    assert captured.names == ["orders.created", "orders.shipped"]
    assert captured[1].data["shipped_at"] is not None
    assert captured[1].project == store.pk


def test_what_the_shop_emits_validates_against_its_published_schema(store, captured_events):
    order = Order.objects.create(store=store, customer="ada@example.com", total=Decimal("3"))
    order.ship()

    assert sorted(openapi_document()["webhooks"]) == ["orders.created", "orders.shipped"]
    for event in captured_events:
        Draft202012Validator(envelope_schema(contract(event.event))).validate(event.envelope)


def test_the_schema_document_is_printed(capsys):
    call_command("webhooks_schema")
    assert '"orders.shipped"' in capsys.readouterr().out
