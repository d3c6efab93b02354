#!/usr/bin/env python
"""Throughput benchmark: save-path cost and end-to-end deliveries/s, as ratios.

    .venv/bin/python bench/throughput.py [--events 2000] [--workers 2] [--profile]

Machines are shared and noisy, so every figure is reported against a baseline measured
in the same run:

1. Save path. ``--events`` Task creations through the ORM (each its own autocommit save,
   as in a web request) for a project with no webhook, and as many for a project with
   one webhook subscribed to ``issues.*``, interleaved in blocks so drift hits both
   alike. The on-commit queue kick is part of the cost; no qcluster runs meanwhile.
2. Baseline. A plain ``requests.Session`` loop POSTing ``--events`` bodies of the real
   payload's size to the same receiver; run three times (before the qcluster starts and
   after each of our phases, with the qcluster idle) and the median used.
3. End to end, through a real ``manage.py qcluster`` subprocess:
   - the headline: ``--events`` Task creations committed at once, timed from the commit
     until every delivery is ``succeeded`` (queue, workers, HTTP, outcome recorded).
     This is the delivery pipeline's throughput, the figure a one-task-per-delivery
     design reaches about 0.09 of;
   - interleaved: as many creations, each in its own transaction, timed from the first
     save. One process saving back to back bounds this figure by its own save rate,
     which is printed beside it as a ceiling.
4. Diagnostics, qcluster stopped: ``drain()`` of a backlog in this process (no queue),
   and with ``--profile`` cProfile listings of the save path and of ``drain()``.

The receiver runs in its own process (``webhooks_app.testing.serve_forever``) on
127.0.0.1. Everything lives in a temporary SQLite file, or with ``WEBHOOKS_DB=postgres``
in a throwaway PostgreSQL database; with ``WEBHOOKS_BROKER=redis`` the queue is a
run-specific Redis list. All are removed at the end. Exits non-zero if any delivery did
not succeed (or, with ``--min-ratio``, if the end-to-end ratio is below it).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import multiprocessing
import os
import pstats
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_RATIO = 0.3
# The worker process; a module constant so an experiment can run a patched command.
QCLUSTER_COMMAND = [sys.executable, "manage.py", "qcluster"]
DESCRIPTION = (
    "As a returning user I want to sign in with my company's SSO provider so that I do not "
    "have to remember another password. Acceptance: SAML and OIDC, just-in-time account "
    "creation, and a clear error when the provider rejects the login."
)


class BenchError(Exception):
    pass


@dataclass
class Results:
    events: int
    workers: int
    save_without_us: float = 0.0  # µs per event
    save_with_us: float = 0.0
    kicks_queued: int = 0
    payload_bytes: int = 0
    baseline_slices: list[float] = field(default_factory=list)  # requests/s, each N requests
    e2e_rps: float = 0.0
    e2e_saves_s: float = 0.0
    e2e_total_s: float = 0.0
    leftover_kicks: int = 0
    leftover_drain_s: float | None = None
    backlog_rps: float = 0.0
    backlog_from_first_save_rps: float = 0.0
    backlog_saves_s: float = 0.0
    inproc_rps: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def baseline_rps(self) -> float:
        """Median of the baseline slices, taken before, between and after our phases."""
        return statistics.median(self.baseline_slices) if self.baseline_slices else 0.0

    def ratio(self, rate: float) -> float:
        return rate / self.baseline_rps if self.baseline_rps else 0.0


# -- environment -------------------------------------------------------------------------


def configure_environment(args: argparse.Namespace, tmp: Path) -> dict:
    """Point the example project (here and in the qcluster child) at throwaway stores."""
    tag = f"{os.getpid()}"
    env = os.environ
    env["DJANGO_SETTINGS_MODULE"] = "example_project.settings"
    env.setdefault("DJANGO_DEBUG", "0")  # as in production: no query log in any process
    env["WEBHOOKS_Q_WORKERS"] = str(args.workers)
    env["WEBHOOKS_Q_NAME"] = f"webhooks-bench-{tag}"  # our own queue, whatever the broker
    info = {"broker": "redis" if env.get("WEBHOOKS_BROKER") == "redis" else "orm"}
    if env.get("WEBHOOKS_DB") == "postgres":
        name = f"webhooks_bench_{tag}"
        env["WEBHOOKS_PG_NAME"] = name
        _pg_admin(f'CREATE DATABASE "{name}"')
        info.update(db="postgres", pg_name=name)
    else:
        env["WEBHOOKS_SQLITE_PATH"] = str(tmp / "bench.sqlite3")
        info.update(db="sqlite")
    return info


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(
        host=os.environ.get("WEBHOOKS_PG_HOST", "127.0.0.1"),
        port=os.environ.get("WEBHOOKS_PG_PORT", "5432"),
        user=os.environ.get("WEBHOOKS_PG_USER", "postgres"),
        dbname="postgres",
        autocommit=True,
        connect_timeout=10,
    ) as conn:
        conn.execute(sql)


def start_receiver() -> tuple[multiprocessing.Process, str]:
    from webhooks_app.testing import serve_forever

    ctx = multiprocessing.get_context("spawn")  # its own interpreter: no shared GIL
    ready = ctx.Queue()
    proc = ctx.Process(target=serve_forever, args=(0, ready), daemon=True, name="bench-receiver")
    proc.start()
    port = ready.get(timeout=30)
    return proc, f"http://127.0.0.1:{port}/hook"


# -- helpers -----------------------------------------------------------------------------


def wait_for(predicate, timeout: float, interval: float, what: str, alive=None):
    """Poll ``predicate`` until truthy; BenchError after ``timeout`` or if ``alive`` fails."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if alive is not None:
            alive()
        if time.monotonic() > deadline:
            raise BenchError(f"Timed out after {timeout:g}s waiting for {what}.")
        time.sleep(interval)


def make_target(slug: str, url: str | None):
    """A project with a column, and (with ``url``) a webhook subscribed to issues.*."""
    from example_project.agile.models import BoardColumn, Project
    from webhooks_app.models import Subscription, Webhook

    project = Project.objects.create(name=f"Bench {slug}", slug=f"bench-{slug}")
    column = BoardColumn.objects.create(project=project, title="In Progress", position=1)
    webhook = None
    if url:
        webhook = Webhook.objects.create(project=project, url=url, name=f"bench {slug}")
        Subscription.objects.create(webhook=webhook, event_type="issues.*")
    return project, column, webhook


def check_deadline(deadline: float, what: str) -> None:
    if time.monotonic() > deadline:
        raise BenchError(f"{what} took longer than allowed (--timeout).")


def create_task(project, column, i: int):
    from example_project.agile.models import Task

    return Task.objects.create(
        project=project, column=column, title=f"Benchmark task #{i}", description=DESCRIPTION
    )


def status_counts(webhook) -> dict[str, int]:
    from django.db.models import Count

    from webhooks_app.models import Delivery

    rows = Delivery.objects.filter(webhook=webhook).values("status").annotate(n=Count("pk"))
    return {r["status"]: r["n"] for r in rows.order_by()}


def wait_delivered(webhook, n: int, timeout: float, alive=None) -> float:
    """perf_counter() when all ``n`` deliveries of ``webhook`` were seen succeeded."""
    from webhooks_app.models import Delivery

    done = Delivery.objects.filter(webhook=webhook, status=Delivery.Status.SUCCEEDED)
    try:
        wait_for(lambda: done.count() >= n, timeout, 0.02, f"{n} deliveries", alive)
    except BenchError as exc:
        raise BenchError(f"{exc} Deliveries by status: {status_counts(webhook)}") from None
    return time.perf_counter()


def broker_backlog() -> int:
    """Tasks in our broker queue, in flight ones included where the broker can tell."""
    from django_q.brokers import get_broker

    broker = get_broker()
    size = broker.queue_size() or 0
    if hasattr(broker, "lock_size"):
        size += broker.lock_size() or 0
    return size


def clear_broker() -> None:
    from django_q.brokers import get_broker

    get_broker().delete_queue()


# -- the qcluster ------------------------------------------------------------------------


class Cluster:
    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float, workers: int) -> float:
        from django.db import connections
        from django_q.tasks import async_task, fetch

        connections.close_all()
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                QCLUSTER_COMMAND,
                cwd=ROOT,
                env=os.environ.copy(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # so a stuck cluster can be killed as a group
            )
        started = time.monotonic()
        # Ready = it ran our own task, once per worker (which also warms them up).
        probes = [async_task("webhooks_app.tasks.deliver_pending") for _ in range(workers)]
        wait_for(
            lambda: all(fetch(t) is not None for t in probes),
            timeout,
            0.1,
            "the qcluster to run a probe task",
            self.check_alive,
        )
        failed = [task.result for task in map(fetch, probes) if not task.success]
        if failed:
            raise BenchError(f"The qcluster's probe task failed: {failed[0]}")
        return time.monotonic() - started

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise BenchError(
                f"qcluster exited with {self.proc.returncode}; log tail:\n{self.tail()}"
            )

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            print("qcluster did not stop within 30s of SIGTERM; killing its process group")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def tail(self, chars: int = 3000) -> str:
        return self.log_text()[-chars:]


# -- phases ------------------------------------------------------------------------------


def phase_save_path(args, url: str, res: Results) -> str:
    """Save cost with and without a subscribed webhook. Returns a real Event body."""
    from webhooks_app.models import Event

    n = args.events
    quiet = make_target("quiet", None)
    hooked = make_target("hooked", url)
    webhook = hooked[2]
    for i in range(args.warmup):
        create_task(*quiet[:2], -i)
        create_task(*hooked[:2], -i)

    blocks = max(1, min(8, n // 50))
    sizes = [n // blocks + (1 if b < n % blocks else 0) for b in range(blocks)]
    spent = {"quiet": 0.0, "hooked": 0.0}
    counter = 0
    deadline = time.monotonic() + 2 * args.timeout
    for b, size in enumerate(sizes):
        check_deadline(deadline, "The save-path phase")
        order = ("quiet", "hooked") if b % 2 == 0 else ("hooked", "quiet")
        for which in order:
            project, column, _ = quiet if which == "quiet" else hooked
            start = time.perf_counter()
            for i in range(counter, counter + size):
                create_task(project, column, i)
            spent[which] += time.perf_counter() - start
        counter += size
    res.save_without_us = spent["quiet"] / n * 1e6
    res.save_with_us = spent["hooked"] / n * 1e6

    pending = status_counts(webhook).get("pending", 0)
    if pending != n + args.warmup:
        res.failures.append(f"save path: {pending} deliveries stored for {n + args.warmup} saves")
    res.kicks_queued = broker_backlog()
    body = Event.objects.filter(deliveries__webhook=webhook).order_by("-pk").first().body

    # Start the next phases clean: no pending deliveries, no queued kicks.
    Event.objects.filter(deliveries__webhook=webhook).delete()
    webhook.delete()
    clear_broker()
    return body


def phase_baseline(args, url: str, body: str, res: Results) -> float:
    """One slice of the baseline: N POSTs of the payload's size on one requests.Session."""
    import requests

    n = args.events
    data = body.encode("utf-8")
    headers = {"Content-Type": "application/json"}
    deadline = time.monotonic() + args.timeout
    with requests.Session() as session:
        for _ in range(args.warmup):
            session.post(url, data=data, headers=headers, timeout=10)
        ok = 0
        start = time.perf_counter()
        for _ in range(n):
            ok += session.post(url, data=data, headers=headers, timeout=10).status_code == 200
            if time.monotonic() > deadline:
                raise BenchError(f"Baseline loop exceeded {args.timeout:g}s.")
        elapsed = time.perf_counter() - start
    if ok != n:
        res.failures.append(f"baseline: {n - ok} of {n} requests not answered 200")
    res.baseline_slices.append(n / elapsed)
    return n / elapsed


def phase_end_to_end(args, url: str, cluster: Cluster, res: Results) -> None:
    from django.db import transaction

    n = args.events
    project, column, webhook = make_target("e2e", url)
    deadline = time.monotonic() + args.timeout
    start = time.perf_counter()
    for i in range(n):
        with transaction.atomic():
            create_task(project, column, i)
        if i % 100 == 0:
            check_deadline(deadline, "The end-to-end saves")
    res.e2e_saves_s = time.perf_counter() - start
    done = wait_delivered(webhook, n, args.timeout, cluster.check_alive)
    res.e2e_total_s = done - start
    res.e2e_rps = n / res.e2e_total_s
    _check_all_succeeded("end to end", webhook, n, res)

    # Kicks still queued now are work the cluster does after the last delivery; let it
    # finish (bounded) so the backlog phase starts from an idle cluster.
    res.leftover_kicks = broker_backlog()
    t0 = time.monotonic()
    try:
        wait_for(lambda: broker_backlog() == 0, min(args.timeout, 60), 0.1, "leftover kicks")
        res.leftover_drain_s = time.monotonic() - t0
    except BenchError:
        clear_broker()
    time.sleep(0.5)


def phase_backlog(args, url: str, cluster: Cluster, res: Results) -> None:
    from django.db import transaction

    n = args.events
    project, column, webhook = make_target("backlog", url)
    start = time.perf_counter()
    with transaction.atomic():  # one transaction, one kick
        for i in range(n):
            create_task(project, column, i)
    committed = time.perf_counter()
    res.backlog_saves_s = committed - start
    done = wait_delivered(webhook, n, args.timeout, cluster.check_alive)
    res.backlog_rps = n / (done - committed)
    res.backlog_from_first_save_rps = n / (done - start)
    _check_all_succeeded("backlog", webhook, n, res)


def _backlog_for(slug: str, url: str, n: int):
    """``n`` pending deliveries created in one transaction; its queue kick removed."""
    from django.db import transaction

    project, column, webhook = make_target(slug, url)
    with transaction.atomic():
        for i in range(n):
            create_task(project, column, i)
    clear_broker()
    return webhook


def phase_in_process(args, url: str, res: Results) -> None:
    """Diagnostic: drain() a backlog in this process, no queue involved (cluster stopped)."""
    from webhooks_app import delivery

    webhook = _backlog_for("inproc", url, args.events)
    start = time.perf_counter()
    attempted = delivery.drain(time_limit=args.timeout)
    res.inproc_rps = attempted / (time.perf_counter() - start)
    _check_all_succeeded("in-process drain", webhook, args.events, res)


def _profiled(title: str, func, top: int) -> str:
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.runcall(func)
    elapsed = time.perf_counter() - start
    out = io.StringIO()
    out.write(f"=== profile: {title} ({elapsed:.2f}s under cProfile)\n")
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def profile_save_path(args, url: str) -> str:
    """cProfile the save path with a subscribed webhook (autocommit, no qcluster)."""
    project, column, _ = make_target("prof-save", url)
    n = min(args.events, 1000)
    for i in range(args.warmup):
        create_task(project, column, -i)

    def saves():
        for i in range(n):
            create_task(project, column, i)

    text = _profiled(f"{n} saves with a webhook", saves, args.profile_top)
    clear_broker()
    return text


def profile_drain(args, url: str) -> str:
    """cProfile drain() of a backlog in this process."""
    from webhooks_app import delivery

    webhook = _backlog_for("prof-drain", url, args.events)
    text = _profiled(
        f"drain() of {args.events} deliveries",
        lambda: delivery.drain(time_limit=args.timeout),
        args.profile_top,
    )
    if status_counts(webhook).get("succeeded", 0) != args.events:
        text += f"\n(profiled drain left deliveries: {status_counts(webhook)})\n"
    return text


def _check_all_succeeded(label: str, webhook, n: int, res: Results) -> None:
    counts = status_counts(webhook)
    if counts.get("succeeded", 0) != n or sum(counts.values()) != n:
        res.failures.append(f"{label}: deliveries by status {counts}, expected {n} succeeded")


# -- main --------------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="events per phase (2000)")
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WEBHOOKS_Q_WORKERS", "2")),
        help="qcluster workers (WEBHOOKS_Q_WORKERS, else 2)",
    )
    parser.add_argument("--warmup", type=int, default=20, help="untimed saves/requests first")
    parser.add_argument(
        "--timeout", type=float, default=120, help="seconds allowed for each wait (120)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also cProfile drain() of a backlog in this process and print the top costs",
    )
    parser.add_argument("--profile-top", type=int, default=25, help="rows of profile output")
    parser.add_argument(
        "--min-ratio", type=float, default=None, help="exit 1 if the end-to-end ratio is lower"
    )
    parser.add_argument("--keep-log", action="store_true", help="print the whole qcluster log")
    args = parser.parse_args(argv)
    if args.events < 1 or args.workers < 1:
        parser.error("--events and --workers must be positive")
    return args


def report(res: Results, info: dict) -> None:
    def ratio_line(label: str, rate: float) -> str:
        return f"{label} {rate:6.0f} deliveries/s  -> ratio {res.ratio(rate):.2f}"

    overhead = res.save_with_us / res.save_without_us if res.save_without_us else 0
    slices = ", ".join(f"{r:.0f}" for r in res.baseline_slices)
    save_bound = res.events / res.e2e_saves_s if res.e2e_saves_s else 0
    print()
    print(
        f"=== summary: {info['db']} + {info['broker']} broker, {res.workers} workers, "
        f"{res.events} events, {res.payload_bytes}-byte payload"
    )
    print(
        f"save path: {res.save_with_us:.0f} µs/event with webhooks vs "
        f"{res.save_without_us:.0f} µs/event without ({overhead:.1f}x, "
        f"+{res.save_with_us - res.save_without_us:.0f} µs)"
    )
    print(
        f"baseline requests.Session loop:            {res.baseline_rps:6.0f} deliveries/s "
        f"(median of {slices})"
    )
    print(ratio_line("webhooks_app end to end, from commit:     ", res.backlog_rps))
    print(ratio_line("  interleaved with saves (N transactions):", res.e2e_rps))
    print(
        f"  (those saves alone ran at {save_bound:.0f}/s: a ceiling of ratio "
        f"{res.ratio(save_bound):.2f} for the interleaved figure, whatever the workers do)"
    )
    print(ratio_line("  (diagnostic) drain() in-process:       ", res.inproc_rps))
    low, high = min(res.baseline_slices), max(res.baseline_slices)
    if high > 1.25 * low:
        print(f"  note: baseline slices differ by {high / low - 1:.0%}: a noisy machine")
    headline = res.ratio(res.backlog_rps)
    verdict = "met" if headline >= TARGET_RATIO else "NOT met"
    print(f"ratio {headline:.2f} (target >= {TARGET_RATIO}: {verdict})")


def run(args: argparse.Namespace, tmp: Path, state: dict) -> int:
    res = Results(events=args.events, workers=args.workers)
    info = configure_environment(args, tmp)
    state["info"] = info
    state["receiver"], url = start_receiver()

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    clear_broker()
    print(
        f"bench: {info['db']} + {info['broker']} broker, {args.workers} qcluster workers, "
        f"{args.events} events; receiver {url}",
        flush=True,
    )

    body = phase_save_path(args, url, res)
    res.payload_bytes = len(body.encode("utf-8"))
    print(
        f"save path: {res.save_with_us:.0f} µs/event with a webhook, "
        f"{res.save_without_us:.0f} without; {res.kicks_queued} kicks queued by "
        f"{args.events + args.warmup} saves (no qcluster running)",
        flush=True,
    )

    rate = phase_baseline(args, url, body, res)
    print(f"baseline 1/3: {rate:.0f} requests/s ({res.payload_bytes}-byte bodies)", flush=True)

    cluster = Cluster(tmp / "qcluster.log")
    state["cluster"] = cluster
    ready = cluster.start(args.timeout, args.workers)
    print(f"qcluster ready in {ready:.1f}s", flush=True)

    phase_end_to_end(args, url, cluster, res)
    drained = (
        f"drained in {res.leftover_drain_s:.1f}s"
        if res.leftover_drain_s is not None
        else "not drained in time; purged"
    )
    print(
        f"end to end: {res.e2e_rps:.0f} deliveries/s; the {res.events} saves took "
        f"{res.e2e_saves_s:.2f}s ({res.e2e_saves_s / res.events * 1e6:.0f} µs each), all "
        f"delivered {res.e2e_total_s - res.e2e_saves_s:.2f}s after the last; "
        f"{res.leftover_kicks} kicks still queued then, {drained}",
        flush=True,
    )

    rate = phase_baseline(args, url, body, res)
    print(f"baseline 2/3: {rate:.0f} requests/s (qcluster idle)", flush=True)

    phase_backlog(args, url, cluster, res)
    print(
        f"backlog: {res.backlog_rps:.0f} deliveries/s from commit "
        f"({res.backlog_from_first_save_rps:.0f}/s from the first of {res.events} saves, "
        f"which took {res.backlog_saves_s:.2f}s)",
        flush=True,
    )

    rate = phase_baseline(args, url, body, res)
    print(f"baseline 3/3: {rate:.0f} requests/s (qcluster idle)", flush=True)
    cluster.stop()

    phase_in_process(args, url, res)
    print(f"drain() in-process: {res.inproc_rps:.0f} deliveries/s", flush=True)
    profiles = [profile_save_path(args, url), profile_drain(args, url)] if args.profile else []

    log = cluster.log_text()
    suspicious = [
        line
        for line in log.splitlines()
        if any(k in line for k in ("ERROR", "Traceback", "locked", "Exception"))
    ]
    if args.keep_log:
        print("--- qcluster log ---\n" + log + "--- end of log ---")
    elif suspicious:
        print(f"qcluster log: {len(suspicious)} suspicious lines, e.g.:")
        for line in suspicious[:10]:
            print("  " + line[:300])
    for text in profiles:
        print()
        print(text)

    report(res, info)
    for failure in res.failures:
        print(f"FAILED: {failure}")
    if res.failures:
        return 1
    if args.min_ratio is not None and res.ratio(res.backlog_rps) < args.min_ratio:
        print(f"FAILED: ratio {res.ratio(res.backlog_rps):.2f} < --min-ratio {args.min_ratio}")
        return 1
    return 0


def cleanup(state: dict, tmp: Path) -> None:
    cluster = state.get("cluster")
    if cluster is not None:
        try:
            cluster.stop()
        except Exception as exc:  # keep cleaning up
            print(f"cleanup: stopping qcluster: {exc}")
    receiver = state.get("receiver")
    if receiver is not None:
        receiver.terminate()
        receiver.join(timeout=10)
    info = state.get("info") or {}
    if "django" in sys.modules and info:
        with contextlib.suppress(Exception):
            clear_broker()  # our Redis list; the ORM queue goes with the database
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
    if info.get("pg_name"):
        try:
            _pg_admin(f'DROP DATABASE IF EXISTS "{info["pg_name"]}" WITH (FORCE)')
        except Exception as exc:
            print(f"cleanup: could not drop database {info['pg_name']}: {exc}")
    shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="webhooks-bench-"))
    state: dict = {}
    try:
        return run(args, tmp, state)
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        cluster = state.get("cluster")
        if cluster is not None:
            print(f"qcluster log tail:\n{cluster.tail()}", file=sys.stderr)
        return 2
    finally:
        cleanup(state, tmp)


if __name__ == "__main__":
    sys.exit(main())
