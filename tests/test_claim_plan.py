"""PostgreSQL: a claim reads an endpoint's due deliveries in claim order from an index,
so its cost is what it takes, not the endpoint's backlog (migration 0018)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from webhooks_app.engine import claims
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


def test_a_claim_reads_the_rows_it_takes_not_the_endpoints_backlog(webhook, make_item):
    with transaction.atomic():
        for _ in range(500):
            make_item()
    # Deliveries put back together (released by a stopped worker, held by a downgrade)
    # share one due time: order among them is by id alone.
    Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE webhooks_app_delivery")

    with transaction.atomic():
        with CaptureQueriesContext(connection) as captured:
            taken = claims.claim(32, timezone.now())
        [take] = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("WITH quota")]
        with connection.cursor() as cursor:
            # The same statement again, explained, in a savepoint thrown away after.
            cursor.execute("SAVEPOINT explained")
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + take)
            (plan,) = cursor.fetchone()
            cursor.execute("ROLLBACK TO SAVEPOINT explained")

    assert len(taken) == 32
    plan = plan if isinstance(plan, list) else json.loads(plan)
    picked = rows_picked(plan[0]["Plan"])
    assert picked, "the claim locks the rows it picks from webhooks_app_delivery"
    assert max(picked) <= 64, f"a claim of 32 read {max(picked)} rows of a 500-row backlog"
