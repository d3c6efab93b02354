"""What is recorded of an answer: stored as it came, apart from what no database holds."""

from __future__ import annotations

import dataclasses

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.conftest import answered
from webhooks_app.engine import claims, outcomes
from webhooks_app.engine.policy import RetryPolicy
from webhooks_app.models import Delivery, DeliveryLog
from webhooks_app.testing import Reply


def test_an_answer_with_nul_characters_is_recorded(webhook, receiver, make_item, deliver):
    # PostgreSQL's text holds no NUL: the log shows a replacement character instead.
    receiver.reply(Reply(body=b"a\x00b", headers={"X-Odd": "c\x00d"}))
    make_item()
    deliver()
    log = DeliveryLog.objects.get()
    assert log.response_body == "a\ufffdb"
    assert log.response_headers["X-Odd"] == "c\ufffdd"
    assert Delivery.objects.get().status == "succeeded"


def test_an_attempts_log_belongs_to_its_deliverys_event_and_webhook(
    webhook, receiver, make_item, deliver
):
    make_item()
    make_item()
    deliver()
    pairs = DeliveryLog.objects.values_list(
        "event_id", "delivery__event_id", "webhook_id", "delivery__webhook_id"
    )
    assert len(pairs) == 2
    assert all(e == its_e and w == its_w for e, its_e, w, its_w in pairs)

    # The database no longer checks these two keys (migration 0019); deleting still
    # takes the log with it.
    webhook.delete()
    assert not DeliveryLog.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_log_takes_its_event_and_webhook_from_the_held_delivery(webhook, make_item):
    # What the worker thinks it holds cannot give the log other parents than the row it
    # holds locked (PostgreSQL writes the log in the statement that locks the row).
    if connection.vendor != "postgresql":
        pytest.skip("SQLite writes one transaction at a time: there is no other writer")
    make_item()
    make_item()
    with transaction.atomic():
        [first, second] = claims.claim(2, timezone.now())
    wrong = dataclasses.replace(first, event_id=second.event_id)
    now = timezone.now()
    with transaction.atomic():
        outcomes.record([answered(wrong, now)], RetryPolicy.from_settings(), now)

    log = DeliveryLog.objects.get()
    assert log.delivery_id == first.id
    assert log.event_id == first.event_id != second.event_id
