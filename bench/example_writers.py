#!/usr/bin/env python
"""The example product's task saves under concurrency: what a subscriber costs them.

    .venv/bin/python bench/example_writers.py [--writers 8] [--seconds 2] [--rounds 5]
    WEBHOOKS_DB=postgres .venv/bin/python bench/example_writers.py

``--writers`` processes (``--threads``: threads of this process) save tasks of the
example product back to back, all of them the same variant at the same time, for
``--seconds`` per block; the blocks of the variants are shuffled every round, so drift
on the machine hits every variant alike. Each variant saves in a project with one
subscribed webhook ("with") or in one nobody subscribes to ("without"), in the ways a
host saves a task (``--ways`` picks some):

- instances: ``Task.objects.create(project=, column=, creator=)`` given objects loaded
  once, with what the resource shows cached (the project's company, the user's
  profile): what the library's own benches do;
- plain: the same create given a project, a column and a user each loaded by a plain
  ``.get(pk=...)`` for every save, as a view and the auth middleware load them;
- ids: ``Task.objects.create(project_id=, column_id=, creator_id=)``;
- service: the product's own action, ``services.create_task(project, title,
  creator=user)``, given a project and a user loaded by a plain ``.get(pk=...)``;
- update: ``services.update_task(Task.objects.get(pk=...), title=...)``, each writer
  editing a task of its own;
- floor: the instances save with the task's registration rendering two fields instead
  of its resource: what the library alone costs (no target; the others' reference).

``--floors`` also times two floors of each way, its save "with" and the registration
sending (a) two fields: what the library alone costs that way (an update emits inside
the action's transaction, and the marker is taken at its commit); (b) the task's full
resource rendered once and reused, with its id and title: what the library and the
database cost for a body of the resource's size, without rendering or loading it. Each
is reported as its p50 and its ratio to "without", beside the way's.

Each save's latency includes the loads its variant makes. Reported per variant: p50 and
p99 with and without, the ratio of with to without (target on PostgreSQL: p50 <= 2x),
and the range of that ratio over the rounds. Then, for one save of each way with a
subscriber: the queries it made and, on PostgreSQL, the backend's planning and
execution time of its SELECTs (EXPLAIN ANALYZE) and the most tables one of them joins.

No qcluster runs: deliveries stay pending, and after each block they are marked
delivered (as workers keep doing), so the pending indexes stay as small as in a running
system.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import queue
import random
import re
import statistics
import sys
import threading
import time
from typing import Any

from common import setup_django, throwaway_database

WAYS = ("floor", "instances", "plain", "ids", "service", "update")
SIDES = ("with", "without")
FLOORS = {"floor": "its floor (2 fields)", "body": "same body, no render"}
TARGET_P50_RATIO = 2.0
DESCRIPTION = (
    "As a returning user I want to sign in with my company's SSO provider so that I do not "
    "have to remember another password."
)


# -- the saves ---------------------------------------------------------------------------


def make_targets() -> dict[str, dict[str, int]]:
    """Two projects of one workspace (one with a webhook subscribed to every task event),
    each with the default board, and a user: their ids by side."""
    from django.contrib.auth import get_user_model

    from example_project.agile import services
    from webhooks_app.models import Subscription, Webhook

    company = services.create_company("Bench Corp", slug="bench-corp")
    user = get_user_model().objects.create_user(
        "writer", first_name="Bench", last_name="Writer", password=None
    )
    targets = {}
    for side in SIDES:
        project = services.create_project(company, f"Bench {side}", slug=f"bench-{side}")
        if side == "with":
            webhook = Webhook.objects.create(project=project, url="http://127.0.0.1:9/hook")
            Subscription.objects.create(webhook=webhook, event_type="issues.*")
        column = project.columns.get(title="In Progress")
        targets[side] = {"project": project.pk, "column": column.pk, "user": user.pk}
    return targets


def two_field_events():
    """The example's task registration, rendering two fields instead of its resource:
    what the library alone costs a save (its bench's payload is five fields)."""
    from example_project.agile.webhooks import TaskEvents

    class TwoFieldTaskEvents(TaskEvents):
        def serialize(self, instance) -> dict:
            return {"id": instance.pk, "title": instance.title}

    return TwoFieldTaskEvents


def same_body_events():
    """The example's task registration sending the resource of the first task it saw,
    rendered once, with each task's id and title: a body of the resource's size."""
    from example_project.agile.webhooks import TaskEvents

    class SameBodyTaskEvents(TaskEvents):
        body: dict | None = None

        def serialize(self, instance) -> dict:
            if SameBodyTaskEvents.body is None:
                SameBodyTaskEvents.body = super().serialize(instance)
            return {**SameBodyTaskEvents.body, "id": instance.pk, "title": instance.title}

    return SameBodyTaskEvents


def make_saves(targets: dict[str, dict[str, int]], tag: str) -> dict[str, Any]:
    """``{"<way> <side>": (registration, save(i))}`` for this writer (``tag`` tells its
    tasks apart); the block of a variant first registers its ``registration``."""
    from django.contrib.auth import get_user_model

    from example_project.agile import services
    from example_project.agile.models import BoardColumn, Project, Task
    from example_project.agile.webhooks import TaskEvents

    users = get_user_model().objects
    saves = {}
    same_body = same_body_events()
    for side, ids in targets.items():
        pid, cid, uid = ids["project"], ids["column"], ids["user"]
        project = Project.objects.select_related("company").get(pk=pid)
        column = BoardColumn.objects.get(pk=cid)
        user = users.select_related("profile").get(pk=uid)
        # Each writer edits a task of its own (no row lock waits between writers).
        edited = services.create_task(project, f"{tag} edited", creator=user).pk

        def instances(i, project=project, column=column, user=user) -> None:
            Task.objects.create(
                project=project, column=column, creator=user, title=f"{tag} #{i}",
                description=DESCRIPTION,
            )  # fmt: skip

        def plain(i, pid=pid, cid=cid, uid=uid) -> None:
            Task.objects.create(
                project=Project.objects.get(pk=pid),
                column=BoardColumn.objects.get(pk=cid),
                creator=users.get(pk=uid),
                title=f"{tag} #{i}",
                description=DESCRIPTION,
            )

        def from_ids(i, pid=pid, cid=cid, uid=uid) -> None:
            Task.objects.create(
                project_id=pid, column_id=cid, creator_id=uid, title=f"{tag} #{i}",
                description=DESCRIPTION,
            )  # fmt: skip

        def service(i, pid=pid, uid=uid) -> None:
            services.create_task(
                Project.objects.get(pk=pid),
                f"{tag} #{i}",
                creator=users.get(pk=uid),
                description=DESCRIPTION,
            )

        def update(i, edited=edited) -> None:
            services.update_task(Task.objects.get(pk=edited), title=f"{tag} edited #{i}")

        ways = {
            "floor": (two_field_events(), instances),
            "instances": (TaskEvents, instances),
            "plain": (TaskEvents, plain),
            "ids": (TaskEvents, from_ids),
            "service": (TaskEvents, service),
            "update": (TaskEvents, update),
        }
        for way, entry in ways.items():
            saves[f"{way} {side}"] = entry
            if side == "with" and way != "floor":
                saves[f"{way} floor"] = (ways["floor"][0], entry[1])
                saves[f"{way} body"] = (same_body, entry[1])
    return saves


# -- the writers -------------------------------------------------------------------------


_registering = threading.Lock()  # writer threads share this process's registry


def writer(index: int, targets, commands, results, in_process: bool) -> None:
    """Run each ordered block: wait for its start, save until its end, send the
    latencies (seconds)."""
    if not in_process:
        import django

        django.setup()
    from django.db import connection

    from example_project.agile.models import Task
    from webhooks_app.registry import registry

    try:
        saves = make_saves(targets, f"w{index}")
        results.put(("ready", index, None))
        count = 0
        while True:
            order = commands.get()
            if order is None:
                break
            name, start_at, seconds = order
            (registration, save), latencies = saves[name], []
            with _registering:
                if type(registry.get(Task)) is not registration:
                    registry.register(Task, registration)
            while time.time() < start_at:
                time.sleep(0.001)
            end = start_at + seconds
            while time.time() < end:
                began = time.perf_counter()
                save(count)
                latencies.append(time.perf_counter() - began)
                count += 1
            results.put((index, name, latencies))
    except BaseException as exc:
        results.put(("failed", index, f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        connection.close()


class Writers:
    def __init__(self, count: int, targets, threads: bool) -> None:
        self.count = count
        if threads:
            self.results: Any = queue.Queue()
            self.commands: list[Any] = [queue.Queue() for _ in range(count)]
            start = threading.Thread
        else:
            ctx = multiprocessing.get_context("spawn")  # no shared GIL, no inherited socket
            self.results = ctx.Queue()
            self.commands = [ctx.Queue() for _ in range(count)]
            start = ctx.Process  # type: ignore[assignment]
        self.workers = [
            start(
                target=writer,
                args=(i, targets, self.commands[i], self.results, threads),
                daemon=True,
            )
            for i in range(count)
        ]
        for w in self.workers:
            w.start()
        for _ in range(count):
            self._get()

    def _get(self, timeout: float = 120):
        got = self.results.get(timeout=timeout)
        if got[0] == "failed":
            raise RuntimeError(f"writer {got[1]} failed: {got[2]}")
        return got

    def block(self, name: str, seconds: float) -> list[float]:
        """Every writer saves ``name`` for ``seconds``, starting together."""
        start_at = time.time() + 0.2
        for commands in self.commands:
            commands.put((name, start_at, seconds))
        latencies: list[float] = []
        for _ in range(self.count):
            latencies += self._get(timeout=seconds + 120)[2]
        return latencies

    def stop(self) -> None:
        for commands in self.commands:
            commands.put(None)
        for w in self.workers:
            w.join(timeout=30)


def deliver_pending() -> None:
    """What the workers would have done meanwhile (no qcluster runs here)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE webhooks_app_delivery SET status = 'succeeded', next_attempt_at = NULL "
            "WHERE status = 'pending'"
        )
        cursor.execute("UPDATE webhooks_app_deliverytaskmarker SET covered_until = NULL")


# -- one save, looked at closely ---------------------------------------------------------


def explain(sql: str) -> tuple[float, float]:
    """Median planning and execution time (ms) of a captured SELECT, over 5 runs."""
    from django.db import connection

    plans, runs = [], []
    with connection.cursor() as cursor:
        for _ in range(5):
            cursor.execute(f"EXPLAIN (ANALYZE, SUMMARY, FORMAT JSON) {sql}")
            found = cursor.fetchone()[0]
            found = json.loads(found) if isinstance(found, str) else found
            plans.append(found[0]["Planning Time"])
            runs.append(found[0]["Execution Time"])
    return statistics.median(plans), statistics.median(runs)


def inspect_saves(targets, ways) -> dict[str, dict[str, Any]]:
    """The queries of one save of each way with a subscriber (after a warm-up save)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from example_project.agile.models import Task
    from webhooks_app.registry import registry

    saves = make_saves({"with": targets["with"]}, "inspect")
    found = {}
    for way in ways:
        registration, save = saves[f"{way} with"]
        registry.register(Task, registration)
        save(0)
        with CaptureQueriesContext(connection) as captured:
            save(1)
        # The host's reads (the library's statement that records the event is a SELECT
        # of a function that writes, and is not run again here).
        selects = [
            q["sql"]
            for q in captured.captured_queries
            if q["sql"].startswith("SELECT") and "webhooks_app" not in q["sql"]
        ]
        info: dict[str, Any] = {
            "queries": len(captured.captured_queries),
            "selects": len(selects),
            "tables": max((len(re.findall(r"\bJOIN\b", s)) + 1 for s in selects), default=0),
        }
        if connection.vendor == "postgresql":
            timed = [explain(s) for s in selects]
            info["plan_ms"] = sum(p for p, _ in timed)
            info["exec_ms"] = sum(e for _, e in timed)
        found[way] = info
    return found


# -- the run -----------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(args, vendor: str, samples, per_round, inspected) -> list[str]:
    lines = [
        f"--- {vendor}: {args.writers} writer {'threads' if args.threads else 'processes'}, "
        f"{args.rounds} rounds of {args.seconds:g} s per variant; no qcluster runs",
        f"  {'':10s} {'with p50':>9s} {'p99':>7s} {'saves/s':>8s}   {'without p50':>11s}"
        f" {'p99':>7s} {'saves/s':>8s}   {'p50 ratio':>9s} {'p99 ratio':>9s}  rounds' p50 ratio",
    ]
    verdicts = []
    for way in args.ways:
        w, wo = samples[f"{way} with"], samples[f"{way} without"]
        rate = args.rounds * args.seconds
        p50 = percentile(w, 0.5) / percentile(wo, 0.5)
        p99 = percentile(w, 0.99) / percentile(wo, 0.99)
        ratios = [r[f"{way} with"] / r[f"{way} without"] for r in per_round]
        lines.append(
            f"  {way:10s} {percentile(w, 0.5) * 1e3:6.1f} ms {percentile(w, 0.99) * 1e3:7.1f}"
            f" {len(w) / rate:8.0f}   {percentile(wo, 0.5) * 1e3:8.1f} ms"
            f" {percentile(wo, 0.99) * 1e3:7.1f} {len(wo) / rate:8.0f}   {p50:8.2f}x {p99:8.2f}x"
            f"  {min(ratios):.2f}-{max(ratios):.2f}x"
        )
        for floor in FLOORS if args.floors and way != "floor" else ():
            fl, name = samples[f"{way} {floor}"], f"{way} {floor}"
            ratios = [r[name] / r[f"{way} without"] for r in per_round]
            lines.append(
                f"  {'':10s} {FLOORS[floor]:>19s} {percentile(fl, 0.5) * 1e3:5.1f} ms:"
                f" {percentile(fl, 0.5) / percentile(wo, 0.5):.2f}x without"
                f" (rounds {min(ratios):.2f}-{max(ratios):.2f}x)"
            )
        if way != "floor":
            verdicts.append((way, p50 <= TARGET_P50_RATIO))
    lines.append(
        "--- one save with a subscriber: its queries, and the backend's time of the host's SELECTs"
    )
    for way, info in inspected.items():
        line = (
            f"  {way:10s} {info['queries']} queries, {info['selects']} of the host's SELECTs,"
            f" at most {info['tables']} tables in one"
        )
        if "plan_ms" in info:
            line += f"; planning {info['plan_ms']:.2f} ms, execution {info['exec_ms']:.2f} ms"
        lines.append(line)
    if vendor == "postgresql":
        for way, ok in verdicts:
            lines.append(
                f"  target {way}: p50 with <= {TARGET_P50_RATIO:g}x without:"
                f" {'met' if ok else 'NOT met'}"
            )
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", type=int, default=8, help="concurrent writers (8)")
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds per block (2)")
    parser.add_argument("--rounds", type=int, default=5, help="blocks per variant (5)")
    parser.add_argument("--threads", action="store_true", help="writer threads, not processes")
    parser.add_argument(
        "--floors",
        action="store_true",
        help="also time each way sending two fields, and its body rendered once",
    )
    parser.add_argument(
        "--ways", default=",".join(WAYS), help=f"which saves, of {','.join(WAYS)} (all)"
    )
    args = parser.parse_args(argv)
    args.ways = [way for way in args.ways.split(",") if way]
    unknown = set(args.ways) - set(WAYS)
    if unknown:
        parser.error(f"unknown ways: {', '.join(sorted(unknown))}")
    with throwaway_database("examplewriters"):
        setup_django()
        from django.db import connection, connections

        vendor = connection.vendor
        targets = make_targets()
        connections.close_all()
        writers = Writers(args.writers, targets, args.threads)
        floors = tuple(FLOORS) if args.floors else ()
        names = [
            f"{way} {side}"
            for way in args.ways
            for side in (*SIDES, *(floors if way != "floor" else ()))
        ]
        samples: dict[str, list[float]] = {name: [] for name in names}
        per_round: list[dict[str, float]] = []
        try:
            for name in names:  # warm-up: imports, connections, routing maps, plans
                writers.block(name, min(args.seconds, 0.5))
                deliver_pending()
            for _ in range(args.rounds):
                medians = {}
                for name in random.sample(names, len(names)):
                    latencies = writers.block(name, args.seconds)
                    samples[name] += latencies
                    medians[name] = statistics.median(latencies)
                    deliver_pending()
                per_round.append(medians)
        finally:
            writers.stop()
        inspected = inspect_saves(targets, args.ways)
        print("\n".join(report(args, vendor, samples, per_round, inspected)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
