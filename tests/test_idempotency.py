"""emit(..., idempotency_key=): a host task that runs twice sends one event, on both
databases, however the two emits interleave."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import run_in_threads
from webhooks_app import emit
from webhooks_app.exceptions import InvalidIdempotencyKey
from webhooks_app.models import Delivery, Event

DATA = {"uuid": "6f1c1b9e-8d7f-4d8e-9a53-1f0b6c1c2d3e", "title": "Ship it", "done": True}


def emit_done(project, key, **kwargs):
    return emit("items.done", DATA, project=project, idempotency_key=key, **kwargs)


def test_the_same_key_twice_records_one_event_and_one_set_of_deliveries(
    webhook, project, receiver, deliver
):
    first = emit_done(project, "task-41:done")
    again = emit_done(project, "task-41:done")

    assert again.pk == first.pk
    assert Event.objects.get().idempotency_key == "task-41:done"
    assert Delivery.objects.count() == 1
    assert deliver() == 1
    assert len(receiver.wait_for(1)) == 1


def test_the_retry_returns_the_first_events_body_not_its_own(webhook, project):
    first = emit_done(project, "k")
    again = emit("items.done", {**DATA, "title": "Changed"}, project=project, idempotency_key="k")
    assert again.body == first.body


def test_other_keys_and_no_key_record_events_of_their_own(webhook, project):
    emit_done(project, "a")
    emit_done(project, "b")
    emit_done(project, None)
    emit_done(project, None)
    assert Event.objects.count() == 4
    assert Delivery.objects.count() == 4


def test_a_key_is_unique_per_event_type(make_webhook, project, receiver):
    make_webhook(receiver.url, ["items.*"])
    emit_done(project, "item-7")
    emit("items.update", DATA, project=project, changes={}, idempotency_key="item-7")
    assert sorted(Event.objects.values_list("event_type", flat=True)) == [
        "items.done",
        "items.update",
    ]


def test_a_key_older_than_the_window_records_a_new_event(webhook, project, webhooks_settings):
    webhooks_settings(IDEMPOTENCY_WINDOW=3600)
    first = emit_done(project, "nightly")
    Event.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(hours=2))

    second = emit_done(project, "nightly")

    assert second.pk != first.pk
    assert Delivery.objects.count() == 2
    first.refresh_from_db()
    assert first.idempotency_key is None  # released: the window is over
    assert emit_done(project, "nightly").pk == second.pk


def test_an_emit_nobody_receives_keeps_no_key(project, make_webhook, receiver):
    assert emit_done(project, "lonely") is None
    make_webhook(receiver.url, ["items.*"])
    assert emit_done(project, "lonely") is not None


@pytest.mark.parametrize("key", ["", "x" * 201, 42])
def test_a_key_that_is_not_a_short_string_is_refused(webhook, project, key):
    with pytest.raises(InvalidIdempotencyKey, match="idempotency_key"):
        emit_done(project, key)
    assert not Event.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_emits_with_one_key_record_one_event(project, make_webhook, receiver):
    """The second emit runs while the first one's transaction still holds the key."""
    make_webhook(receiver.url, ["items.*"])
    first_emitted, second_starting = threading.Event(), threading.Event()
    returned: list[Event] = []

    def first() -> None:
        with transaction.atomic():
            returned.append(emit_done(project.pk, "race"))
            first_emitted.set()
            second_starting.wait(10)
        # Committed only now: the second emit waits on the key until here.

    def second() -> None:
        first_emitted.wait(10)
        second_starting.set()
        returned.append(emit_done(project.pk, "race"))

    steps = iter([first, second])
    lock = threading.Lock()

    def run() -> None:
        with lock:
            step = next(steps)
        step()

    run_in_threads(2, run)
    assert len(returned) == 2
    assert len({event.pk for event in returned}) == 1
    assert Event.objects.count() == 1
    assert Delivery.objects.count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's one-statement path")
def test_on_postgresql_an_emit_is_one_statement_with_or_without_a_key(webhook, project):
    emit_done(project, None)  # this process reads its routing map
    for key in (None, "one-statement"):
        with CaptureQueriesContext(connection) as queries:
            emit_done(project, key)
        assert len(queries) == 1, [q["sql"] for q in queries]
    with CaptureQueriesContext(connection) as queries:
        emit_done(project, "one-statement")
    assert len(queries) == 2  # and a retry reads the key's event, which it returns
