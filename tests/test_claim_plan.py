"""PostgreSQL: a claim reads an endpoint's due deliveries in claim order from an index,
so its cost is what it takes, not the endpoint's backlog (migration 0018); recording a
group finds its deliveries by primary key, whatever the table holds."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import answered
from webhooks_app.engine import claims, outcomes
from webhooks_app.engine.policy import RetryPolicy
from webhooks_app.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite claims scan the due rows by design (see Delivery.Meta)")


def nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(node for child in plan.get("Plans", []) for node in nodes(child))]


def rows_picked(plan: dict[str, Any]) -> list[int]:
    """Rows each scan of webhooks_app_delivery fed to the row locks (the picking; the
    update that follows joins back by primary key)."""
    return [
        node["Actual Rows"] * node["Actual Loops"]
        for locks in nodes(plan)
        if locks["Node Type"] == "LockRows"
        for node in nodes(locks)
        if node.get("Relation Name") == "webhooks_app_delivery"
    ]


@pytest.fixture
def backlog(webhook, make_item):
    """500 deliveries due (the table not analyzed yet, as after a burst)."""
    with transaction.atomic():
        for _ in range(500):
            make_item()
    # Deliveries put back together (released by a stopped worker, held by a downgrade)
    # share one due time: order among them is by id alone.
    Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE webhooks_app_delivery")


def explained(captured: CaptureQueriesContext, prefix: str) -> dict[str, Any]:
    """The captured statement starting with ``prefix`` run again, explained, in a
    savepoint thrown away after (inside the caller's transaction)."""
    [sql] = [q["sql"] for q in captured.captured_queries if q["sql"].startswith(prefix)]
    with connection.cursor() as cursor:
        cursor.execute("SAVEPOINT explained")
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        (plan,) = cursor.fetchone()
        cursor.execute("ROLLBACK TO SAVEPOINT explained")
    plan = plan if isinstance(plan, list) else json.loads(plan)
    return plan[0]["Plan"]


def test_a_claim_reads_the_rows_it_takes_not_the_endpoints_backlog(backlog):
    analyze()
    with transaction.atomic():
        with CaptureQueriesContext(connection) as captured:
            taken = claims.claim(32, timezone.now())
        plan = explained(captured, "WITH quota")

    assert len(taken) == 32
    picked = rows_picked(plan)
    assert picked, "the claim locks the rows it picks from webhooks_app_delivery"
    assert max(picked) <= 64, f"a claim of 32 read {max(picked)} rows of a 500-row backlog"


def test_recording_a_group_reads_its_deliveries_not_the_table(backlog):
    # Statistics from a moment every delivery was claimed (a busy cluster): the claimed
    # deliveries' index looks no better than the table.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE webhooks_app_delivery SET claim_token = gen_random_uuid()")
        analyze()
        cursor.execute("UPDATE webhooks_app_delivery SET claim_token = NULL")
    with transaction.atomic():
        taken = claims.claim(32, timezone.now())
    now = timezone.now()
    group = [answered(c, now) for c in taken]
    with transaction.atomic():
        # Recorded, then undone, so that the explained run finds the group as it was.
        undo = transaction.savepoint()
        with CaptureQueriesContext(connection) as captured:
            recorded = outcomes.record(group, RetryPolicy.from_settings(), now)
        transaction.savepoint_rollback(undo)
        plan = explained(captured, "WITH a AS")

    assert len(recorded.judged) == 32
    read = rows_picked(plan)
    assert read, "recording locks the group's rows of webhooks_app_delivery"
    assert max(read) <= 64, f"recording a group of 32 read {max(read)} rows of 500"
