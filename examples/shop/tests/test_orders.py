"""The shop's webhooks, end to end: a real receiver gets signed requests."""

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from orders.models import Order, Store

from webhooks_app import operations
from webhooks_app.testing import Receiver, deliver_due

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server


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


def test_placing_an_order_posts_a_signed_orders_created(webhook, receiver, store):
    order = Order.objects.create(store=store, customer="ada@example.com", total=Decimal("12.50"))

    assert deliver_due() == 1
    (request,) = receiver.wait_for(1)
    assert request.verified
    assert request.json()["event"] == "orders.created"
    assert request.json()["data"] == {
        "id": order.pk,
        "customer": "ada@example.com",
        "total": "12.50",
        "shipped_at": None,
    }


def test_shipping_is_an_explicit_event(webhook, receiver, store):
    order = Order.objects.create(store=store, customer="ada@example.com", total=Decimal("3"))
    order.ship()

    assert deliver_due() == 2
    events = [request.event for request in receiver.wait_for(2)]
    assert sorted(events) == ["orders.created", "orders.shipped"]


def test_another_stores_orders_are_not_sent(webhook, receiver):
    elsewhere = Store.objects.create(name="Harbour")
    Order.objects.create(store=elsewhere, customer="bob@example.com", total=Decimal("1"))

    assert deliver_due() == 0
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
