"""PostgreSQL: inside a host's transaction the task marker is taken at commit, by a
deferred trigger that says so with a notice (and says nothing when a task covers the
commit), so nothing is asked after the commit.

These tests commit (transactional_db): the trigger only runs at a real COMMIT."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from webhooks_app.engine import commit_marker
from webhooks_app.models import DeliveryTaskMarker, Event
from webhooks_app.runners import current_runner

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the commit-time marker is PostgreSQL's (SQLite takes it in the statement)")


@pytest.fixture
def queue():
    runner = current_runner()
    runner.drop_queued()
    return runner


def marker_until():
    return DeliveryTaskMarker.objects.get().covered_until


def after_commit(captured: CaptureQueriesContext) -> list[str]:
    sqls = [q["sql"] for q in captured.captured_queries]
    return sqls[sqls.index("COMMIT") + 1 :]


def test_an_uncovered_transaction_takes_the_marker_at_commit_and_enqueues_once(
    webhook, make_item, queue
):
    DeliveryTaskMarker.objects.update(covered_until=None)
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        make_item()
        make_item()  # a second event: still one take, one task

    assert marker_until() > timezone.now() + timedelta(seconds=20)  # a queued task's cover
    assert queue.queued() == 1
    marker_queries = [sql for sql in after_commit(captured) if "deliverytaskmarker" in sql]
    assert marker_queries == []  # the commit answered: nothing asked afterwards


def test_a_covered_transaction_enqueues_nothing_and_asks_nothing_after_commit(
    webhook, make_item, queue
):
    covered = timezone.now() + timedelta(seconds=10)
    DeliveryTaskMarker.objects.update(covered_until=covered)
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        make_item()

    assert queue.queued() == 0
    assert marker_until() == covered
    assert after_commit(captured) == []


def test_a_transaction_that_did_not_ask_leaves_the_marker_alone(webhook, queue):
    """Other writers of events (a test ping, a host's fixture) are not emits: the trigger
    does nothing for them, so it never covers commits without a task on its way."""
    DeliveryTaskMarker.objects.update(covered_until=None)
    with transaction.atomic():
        Event.objects.create(event_type="ping", body="{}", created_at=timezone.now())

    assert marker_until() is None
    assert queue.queued() == 0


def test_a_rolled_back_emit_takes_nothing(webhook, make_item, queue):
    DeliveryTaskMarker.objects.update(covered_until=None)
    with pytest.raises(RuntimeError), transaction.atomic():
        make_item()
        raise RuntimeError("the host's view failed")

    assert marker_until() is None
    assert queue.queued() == 0


def test_a_covering_task_cannot_take_its_cover_back_while_a_covered_commit_ends(webhook, make_item):
    """A task leaving uncovers, then claims once more. The trigger that found the marker
    covered share-locks its row until its commit ends, so the uncover waits for the
    commit, and the task's last claim sees its rows."""
    DeliveryTaskMarker.objects.update(covered_until=timezone.now() + timedelta(seconds=10))
    dsn = connection.get_connection_params()
    other = psycopg.connect(
        **{k: v for k, v in dsn.items() if k in ("dbname", "host", "port", "user", "password")},
        autocommit=True,
    )
    try:
        other.execute("SET lock_timeout = '300ms'")
        with transaction.atomic():
            make_item()
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the commit-time work, now
            assert commit_marker.answer(connection) is None  # covered: nothing said
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("UPDATE webhooks_app_deliverytaskmarker SET covered_until = NULL")
        other.execute("UPDATE webhooks_app_deliverytaskmarker SET covered_until = NULL")
    finally:
        other.close()
