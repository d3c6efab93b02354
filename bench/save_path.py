#!/usr/bin/env python
"""What emitting costs the host, per ORM save, against the same save unregistered.

    .venv/bin/python bench/save_path.py [--saves 200] [--rounds 11]
    WEBHOOKS_DB=postgres .venv/bin/python bench/save_path.py

The model is the example project's ``BoardColumn`` (project, title, color, position,
is_done), registered for this run with a serializer of those five fields that makes no
query. Each variant is ``BoardColumn.objects.create()``, timed in blocks whose order is
shuffled every round, in autocommit mode and inside ``transaction.atomic()``:

- unregistered: the baseline every other figure is a difference from;
- registered, nobody subscribed;
- one subscribed webhook;
- 100 subscribed webhooks.

The run also measures the floor: what recording an event costs with nothing between
the program and the database, on a connection of its own, against the same INSERT alone.
On PostgreSQL (raw psycopg) it is one prepared ``WITH ... INSERT ... SELECT`` statement
that finds the subscribers, inserts the event and its deliveries and takes the task
marker. On SQLite (the standard library's ``sqlite3``, with the example's pragmas) it is
the three statements SQLite needs for the same (event; deliveries by INSERT ... SELECT;
marker), in one ``BEGIN IMMEDIATE`` transaction: after the host's own in autocommit mode,
with it inside ``transaction.atomic()``.

No worker runs; after each timed block the pending deliveries are marked delivered (as
workers keep doing), so the pending indexes stay as small as in a running system.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid

from common import interleaved, pg_dsn, setup_django, throwaway_database

EVENT = "columns.store"
TARGETS = {  # issue: the host pays almost nothing
    "none": 50.0,  # µs per save, nobody subscribed
    "one": {"sqlite": 500.0, "postgresql": 800.0},
    "floor_ratio": 1.6,  # one subscriber against the floor, autocommit
    "floor_ratio_atomic": 2.0,  # and inside transaction.atomic() (PostgreSQL)
    "hundred_ratio": 2.0,  # 100 subscribers against one
}

FLOOR_SQL = """
WITH targets AS (
    SELECT w.id FROM webhooks_app_webhook w
    WHERE (w.project_id IS NULL OR w.project_id = ANY (%(projects)s))
      AND w.status IN ('active', 'auto-disabled')
      AND EXISTS (SELECT 1 FROM webhooks_app_subscription s
                  WHERE s.webhook_id = w.id AND s.event_type = ANY (%(patterns)s))
), ev AS (
    INSERT INTO webhooks_app_event (uuid, event_type, project_id, body, created_at)
    SELECT %(uuid)s, %(type)s, %(project)s, %(body)s, now() WHERE EXISTS (SELECT 1 FROM targets)
    RETURNING id
), d AS (
    INSERT INTO webhooks_app_delivery (webhook_id, event_id, status, "trigger", attempts,
        round_offset, next_attempt_at, created_at, updated_at)
    SELECT t.id, ev.id, 'pending', 'event', 0, 0, now(), now(), now() FROM targets t, ev
)
UPDATE webhooks_app_deliverytaskmarker SET covered_until = now() + interval '30 seconds'
WHERE id = 1 AND (covered_until IS NULL OR covered_until < now())
  AND EXISTS (SELECT 1 FROM ev)
"""
HOST_SQL = (
    "INSERT INTO agile_boardcolumn (project_id, title, color, position, is_done) "
    "VALUES (%s, %s, %s, %s, %s)"
)


def make_projects():
    from example_project.agile.models import Project
    from webhooks_app.models import Subscription, Webhook

    projects = {}
    for label, subscribers in (("none", 0), ("one", 1), ("hundred", 100)):
        project = Project.objects.create(name=f"Bench {label}", slug=f"bench-{label}")
        for i in range(subscribers):
            webhook = Webhook.objects.create(project=project, url=f"http://127.0.0.1:9/{i}")
            Subscription.objects.create(webhook=webhook, event_type="columns.*")
        projects[label] = project
    return projects


class Registration:
    """Registers BoardColumn with a trivial serializer, or takes it away."""

    def __init__(self) -> None:
        from example_project.agile.models import BoardColumn
        from webhooks_app.events import catalog
        from webhooks_app.registry import ModelEvents

        catalog.register(EVENT, "Column created", "Bench")

        class ColumnEvents(ModelEvents):
            created = EVENT

            def serialize(self, column: BoardColumn) -> dict:
                return {
                    "id": column.pk,
                    "title": column.title,
                    "color": column.color,
                    "position": column.position,
                    "is_done": column.is_done,
                }

        self.model, self.config = BoardColumn, ColumnEvents

    def on(self) -> None:
        from webhooks_app.registry import registry

        if self.model not in registry:
            registry.register(self.model, self.config)

    def off(self) -> None:
        from webhooks_app.registry import registry

        registry.unregister(self.model)


def engine_variants(projects, registration, atomic: bool) -> dict:
    from django.db import transaction

    from example_project.agile.models import BoardColumn

    def save(project, registered: bool):
        def run() -> None:
            (registration.on if registered else registration.off)()
            if atomic:
                with transaction.atomic():
                    BoardColumn.objects.create(project=project, title="Doing", color="#fff")
            else:
                BoardColumn.objects.create(project=project, title="Doing", color="#fff")

        return run

    return {
        "unregistered": save(projects["none"], False),
        "none": save(projects["none"], True),
        "one": save(projects["one"], True),
        "hundred": save(projects["hundred"], True),
    }


def floor_variants(project, atomic: bool) -> dict:
    import psycopg

    conn = psycopg.connect(pg_dsn(_db_name()), autocommit=True)
    body = json.dumps({"event": EVENT, "timestamp": "2026-01-01T00:00:00Z", "data": {"a": 1}})

    def host() -> None:
        conn.execute(HOST_SQL, (project.pk, "Doing", "#fff", 0, False), prepare=True)

    def statement() -> None:
        params = {
            "projects": [project.pk],
            "patterns": [EVENT, "columns.*", "*"],
            "uuid": uuid.uuid4(),
            "type": EVENT,
            "project": project.pk,
            "body": body,
        }
        conn.execute(FLOOR_SQL, params, prepare=True)

    def wrap(fn):
        if not atomic:
            return fn

        def run() -> None:
            with conn.transaction():
                fn()

        return run

    return {
        "floor: INSERT alone": wrap(host),
        "floor: INSERT + statement": wrap(lambda: (host(), statement())),
    }


SQLITE_FLOOR = (
    "INSERT INTO webhooks_app_event (uuid, event_type, project_id, body, created_at) "
    "VALUES (?, ?, ?, ?, ?)",
    'INSERT INTO webhooks_app_delivery (webhook_id, event_id, status, "trigger", attempts, '
    "round_offset, next_attempt_at, created_at, updated_at) "
    "SELECT w.id, ?, 'pending', 'event', 0, 0, ?, ?, ? FROM webhooks_app_webhook w "
    "WHERE (w.project_id IS NULL OR w.project_id IN (?)) "
    "AND w.status IN ('active', 'auto-disabled') AND EXISTS (SELECT 1 FROM "
    "webhooks_app_subscription s WHERE s.webhook_id = w.id AND s.event_type IN (?, ?, ?))",
    "UPDATE webhooks_app_deliverytaskmarker SET covered_until = ? "
    "WHERE id = 1 AND (covered_until IS NULL OR covered_until < ?)",
)


def sqlite_floor_variants(project, atomic: bool) -> dict:
    import sqlite3
    from datetime import UTC, datetime, timedelta

    conn = sqlite3.connect(_db_name(), isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    body = json.dumps({"event": EVENT, "timestamp": "2026-01-01T00:00:00Z", "data": {"a": 1}})
    host_sql = HOST_SQL.replace("%s", "?")

    def host() -> None:
        conn.execute(host_sql, (project.pk, "Doing", "#fff", 0, False))

    def statements() -> None:
        now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
        until = (datetime.now(UTC) + timedelta(seconds=30)).replace(tzinfo=None)
        event_sql, deliveries_sql, marker_sql = SQLITE_FLOOR
        event = conn.execute(event_sql, (uuid.uuid4().hex, EVENT, project.pk, body, now))
        conn.execute(
            deliveries_sql,
            (event.lastrowid, now, now, now, project.pk, EVENT, "columns.*", "*"),
        )
        conn.execute(marker_sql, (until.isoformat(sep=" "), now))

    def transaction(*steps):
        def run() -> None:
            conn.execute("BEGIN IMMEDIATE")
            for step in steps:
                step()
            conn.execute("COMMIT")

        return run

    if atomic:
        alone, recorded = transaction(host), transaction(host, statements)
    else:
        alone, recorded = host, lambda: (host(), transaction(statements)())
    return {"floor: INSERT alone": alone, "floor: INSERT + statement": recorded}


def _db_name() -> str:
    from django.db import connection

    return connection.settings_dict["NAME"]


def _deliver_pending() -> None:
    """What the workers would have done meanwhile: no qcluster runs here, and a pile of
    pending rows (each save of the 100-subscriber variant adds 100) would measure index
    growth, not the save. Delivered rows leave the pending indexes, as in production."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE webhooks_app_delivery SET status = 'succeeded', next_attempt_at = NULL "
            "WHERE status = 'pending'"
        )
        cursor.execute("UPDATE webhooks_app_deliverytaskmarker SET covered_until = NULL")


def measure(args, vendor: str, atomic: bool) -> dict[str, float]:
    projects = make_projects() if not hasattr(measure, "projects") else measure.projects
    measure.projects = projects
    registration = Registration()
    variants = engine_variants(projects, registration, atomic)
    if vendor == "postgresql":
        variants.update(floor_variants(projects["one"], atomic))
    else:
        variants.update(sqlite_floor_variants(projects["one"], atomic))
    results = interleaved(
        variants, per_block=args.saves, rounds=args.rounds, between=_deliver_pending
    )
    registration.off()
    return results


def report(vendor: str, mode: str, r: dict[str, float]) -> list[str]:
    base = r["unregistered"]
    over = {k: r[k] - base for k in ("none", "one", "hundred")}
    lines = [f"--- {vendor}, {mode}: the same save unregistered takes {base:.0f} µs"]
    for key, label in (
        ("none", "nobody subscribed"),
        ("one", "one subscriber"),
        ("hundred", "100 subscribers"),
    ):
        lines.append(f"  {label:18s} +{over[key] / 1000:6.3f} ms per save")
    lines.append(f"  100 subscribers / one: {over['hundred'] / over['one']:.2f}x")
    verdicts = []
    if mode == "autocommit":
        one_target = TARGETS["one"][vendor]
        verdicts.append(("nobody subscribed <= 0.05 ms", over["none"] <= TARGETS["none"]))
        verdicts.append((f"one subscriber <= {one_target / 1000:g} ms", over["one"] <= one_target))
        verdicts.append(("100 subscribers <= 2x one", over["hundred"] / over["one"] <= 2.0))
    if "floor: INSERT alone" in r:
        floor = r["floor: INSERT + statement"] - r["floor: INSERT alone"]
        ratio = over["one"] / floor
        how = "raw psycopg, one prepared statement" if vendor == "postgresql" else "raw sqlite3"
        lines.append(f"  floor ({how}): +{floor / 1000:.3f} ms")
        lines.append(f"  one subscriber / floor: {ratio:.2f}x")
        if mode == "autocommit":
            verdicts.append(("one subscriber within 1.6x of the floor", ratio <= 1.6))
        elif vendor == "postgresql":
            limit = TARGETS["floor_ratio_atomic"]
            verdicts.append((f"one subscriber within {limit:g}x of the floor", ratio <= limit))
    for text, ok in verdicts:
        lines.append(f"  target {text}: {'met' if ok else 'NOT met'}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--saves", type=int, default=200, help="saves per timed block (200)")
    parser.add_argument("--rounds", type=int, default=11, help="blocks per variant (11)")
    args = parser.parse_args(argv)
    with throwaway_database("savepath"):
        setup_django()
        from django.db import connection

        vendor = connection.vendor
        print(f"save path: {vendor}, {args.rounds} rounds of {args.saves} saves per variant")
        lines: list[str] = []
        for mode, atomic in (("autocommit", False), ("inside transaction.atomic()", True)):
            lines += report(vendor, mode, measure(args, vendor, atomic))
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
