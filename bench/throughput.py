#!/usr/bin/env python
"""Delivery throughput and the host's sustained save rate, as ratios.

    .venv/bin/python bench/throughput.py [--events 2000] [--workers 2] [--sustain 10]
    WEBHOOKS_DB=postgres WEBHOOKS_BROKER=redis .venv/bin/python bench/throughput.py

Every figure is reported against a baseline measured in the same run (these machines
are shared and noisy). The receiver runs in its own process, on 127.0.0.1.

1. Baselines: a plain ``requests.Session`` loop, and a bare urllib3 ``PoolManager`` loop,
   POSTing ``--events`` bodies of the real payload's size to the same receiver; each
   run three times (before the qcluster starts and between phases) and the median used.
2. End to end, through a real ``manage.py qcluster``:
   - from commit: ``--events`` task creations committed at once, timed from the commit
     until every delivery is ``succeeded`` (queue, workers, HTTP, outcome recorded);
   - interleaved: as many creations, each its own transaction, timed from the first
     save (bounded by this one process's save rate, printed beside it).
3. Sustained: one process saves (autocommit) for ``--sustain`` seconds at a time while
   the workers deliver, the blocks alternating twice: tasks in a project with a
   subscribed webhook and in one without (the example's task payload included), and
   board columns registered with a five-field payload and one subscriber, against the
   same model unregistered (the engine alone); the ratio of saves/s with to without.
4. ``drain()`` of a backlog in this process, no queue, against the urllib3 loop.

``--only runners``: delivery from commit on each runner (WEBHOOKS["RUNNER"]) in turn, as
a ratio to the requests.Session loop measured just before it, and to django-q2's: a
qcluster, a Celery worker (``--workers`` prefork children; Redis broker
BENCH_CELERY_BROKER), and ``--workers`` django-tasks-db ``db_worker`` processes.

Exits non-zero if any delivery did not succeed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from common import ROOT, setup_django, throwaway_database

DESCRIPTION = (
    "As a returning user I want to sign in with my company's SSO provider so that I do not "
    "have to remember another password. Acceptance: SAML and OIDC, just-in-time account "
    "creation, and a clear error when the provider rejects the login."
)
TARGETS = {"end_to_end": 1.0, "sustained": 0.6, "drain": 0.6}
TWO_WRITERS_TARGETS = {"postgres": 0.6, "sqlite": 0.35}


class BenchError(Exception):
    pass


@dataclass
class Results:
    events: int
    workers: int
    payload_bytes: int = 0
    requests_rps: list[float] = field(default_factory=list)
    urllib3_rps: list[float] = field(default_factory=list)
    from_commit_rps: float = 0.0
    interleaved_rps: float = 0.0
    interleaved_saves_rps: float = 0.0
    sustained: dict[str, list[float]] = field(default_factory=dict)
    two_writers: dict[str, list[float]] = field(default_factory=dict)
    drain_rps: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def requests_baseline(self) -> float:
        return statistics.median(self.requests_rps) if self.requests_rps else 0.0

    @property
    def urllib3_baseline(self) -> float:
        return statistics.median(self.urllib3_rps) if self.urllib3_rps else 0.0


# -- helpers -----------------------------------------------------------------------------


def start_receiver() -> tuple[multiprocessing.Process, str]:
    from webhooks_app.testing import serve_forever

    ctx = multiprocessing.get_context("spawn")  # its own interpreter: no shared GIL
    ready = ctx.Queue()
    proc = ctx.Process(target=serve_forever, args=(0, ready), daemon=True, name="receiver")
    proc.start()
    return proc, f"http://127.0.0.1:{ready.get(timeout=30)}/hook"


def wait_for(predicate, timeout: float, what: str, alive=None, interval: float = 0.02):
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
    from example_project.agile.models import BoardColumn, Project
    from webhooks_app.models import Subscription, Webhook

    project = Project.objects.create(name=f"Bench {slug}", slug=f"bench-{slug}")
    column = BoardColumn.objects.create(project=project, title="In Progress", position=1)
    webhook = None
    if url:
        webhook = Webhook.objects.create(project=project, url=url, name=f"bench {slug}")
        Subscription.objects.create(webhook=webhook, event_type="issues.*")
    return project, column, webhook


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
    from webhooks_app.models import Delivery

    done = Delivery.objects.filter(webhook=webhook, status=Delivery.Status.SUCCEEDED)
    try:
        wait_for(lambda: done.count() >= n, timeout, f"{n} deliveries", alive)
    except BenchError as exc:
        raise BenchError(f"{exc} Deliveries by status: {status_counts(webhook)}") from None
    return time.perf_counter()


def check_all_succeeded(label: str, webhook, n: int, res: Results) -> None:
    counts = status_counts(webhook)
    if counts.get("succeeded", 0) != n or sum(counts.values()) != n:
        res.failures.append(f"{label}: deliveries by status {counts}, expected {n} succeeded")


def clear_broker() -> None:
    """Empty the queue, and say no task covers new commits (the marker would, 30 s)."""
    from django_q.brokers import get_broker

    from webhooks_app.models import DeliveryTaskMarker

    get_broker().delete_queue()
    DeliveryTaskMarker.objects.update(covered_until=None)


class Cluster:
    def __init__(self, log_path: Path, workers: int):
        self.log_path, self.workers = log_path, workers
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float) -> None:
        import os

        from django.db import connections
        from django_q.tasks import async_task, fetch

        connections.close_all()
        env = {**os.environ, "WEBHOOKS_Q_WORKERS": str(self.workers)}
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        probes = [async_task("math.floor", 1.5) for _ in range(self.workers)]
        wait_for(
            lambda: all(fetch(t) is not None for t in probes),
            timeout,
            "the qcluster",
            self.check_alive,
            interval=0.1,
        )

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise BenchError(f"qcluster exited with {self.proc.returncode}")

    def stop(self) -> None:
        import os

        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


# -- phases ------------------------------------------------------------------------------


def sample_body(url: str) -> str:
    from webhooks_app.models import Event

    project, column, webhook = make_target("sample", url)
    create_task(project, column, 0)
    body = Event.objects.filter(deliveries__webhook=webhook).get().body
    webhook.delete()
    clear_broker()
    return body


def phase_baselines(args, url: str, body: str, res: Results) -> None:
    """One slice of each baseline: N POSTs on a requests.Session, N on a PoolManager."""
    import requests
    import urllib3

    data = body.encode("utf-8")
    headers = {"Content-Type": "application/json"}
    with requests.Session() as session:
        res.requests_rps.append(
            _loop(
                args, lambda: session.post(url, data=data, headers=headers, timeout=10).status_code
            )
        )
    pool = urllib3.PoolManager()
    res.urllib3_rps.append(
        _loop(args, lambda: pool.request("POST", url, body=data, headers=headers).status)
    )
    pool.clear()


def _loop(args, post) -> float:
    for _ in range(args.warmup):
        post()
    start = time.perf_counter()
    ok = sum(post() == 200 for _ in range(args.events))
    elapsed = time.perf_counter() - start
    if ok != args.events:
        raise BenchError(f"baseline: {args.events - ok} requests not answered 200")
    return args.events / elapsed


def phase_from_commit(
    args, url: str, cluster: Cluster, res: Results, slug: str = "backlog"
) -> None:
    from django.db import transaction

    project, column, webhook = make_target(slug, url)
    with transaction.atomic():  # one transaction, one kick
        for i in range(args.events):
            create_task(project, column, i)
    committed = time.perf_counter()
    done = wait_delivered(webhook, args.events, args.timeout, cluster.check_alive)
    res.from_commit_rps = args.events / (done - committed)
    check_all_succeeded("from commit", webhook, args.events, res)


def phase_interleaved(args, url: str, cluster: Cluster, res: Results) -> None:
    from django.db import transaction

    project, column, webhook = make_target("interleaved", url)
    start = time.perf_counter()
    for i in range(args.events):
        with transaction.atomic():
            create_task(project, column, i)
    res.interleaved_saves_rps = args.events / (time.perf_counter() - start)
    done = wait_delivered(webhook, args.events, args.timeout, cluster.check_alive)
    res.interleaved_rps = args.events / (done - start)
    check_all_succeeded("interleaved", webhook, args.events, res)


def phase_sustained(args, url: str, cluster: Cluster, res: Results) -> None:
    """Saves/s for --sustain seconds at a time, with webhooks and without, alternating."""
    from save_path import Registration

    from example_project.agile.models import BoardColumn
    from webhooks_app.models import Subscription

    quiet = make_target("sustained-quiet", None)
    hooked = make_target("sustained-hooked", url)
    Subscription.objects.create(webhook=hooked[2], event_type="columns.*")
    registration = Registration()
    counts = {"tasks with": 0, "columns with": 0}

    def tasks(target):
        return lambda i: create_task(target[0], target[1], i)

    def columns(registered: bool):
        def save(i: int) -> None:
            BoardColumn.objects.create(project=hooked[0], title=f"c{i}", color="#fff")

        return (registration.on if registered else registration.off), save

    blocks = {
        "tasks without": (None, tasks(quiet)),
        "tasks with": (None, tasks(hooked)),
        "columns without": columns(False),
        "columns with": columns(True),
    }
    for _round in range(2):
        for label, (setup, save) in blocks.items():
            if setup is not None:
                setup()
            count, start, cpu = 0, time.perf_counter(), time.process_time()
            while time.perf_counter() - start < args.sustain:
                save(count)  # autocommit, as in a web request
                count += 1
            elapsed = time.perf_counter() - start
            res.sustained.setdefault(label, []).append(count / elapsed)
            res.sustained.setdefault(f"{label} cpu share", []).append(
                (time.process_time() - cpu) / elapsed
            )
            if label in counts:
                counts[label] += count
    registration.off()
    webhook = hooked[2]
    expected = counts["tasks with"] + counts["columns with"]
    wait_delivered(webhook, expected, args.timeout, cluster.check_alive)
    check_all_succeeded("sustained", webhook, expected, res)


def writer_process(commands, results) -> None:
    """A host process saving board columns back to back (autocommit) when told, the model
    registered with a five-field payload (the engine's cost, not the example's
    serializer: a task's payload costs the host more than delivering it does). Each
    command is (project id, seconds); the answer is (saved, elapsed). None ends it."""
    import django

    django.setup()
    from save_path import Registration

    from example_project.agile.models import BoardColumn, Project

    Registration().on()
    results.put(("ready", _backend_pid()))
    while (command := commands.get()) is not None:
        project_id, seconds = command
        project = Project.objects.get(pk=project_id)
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            BoardColumn.objects.create(project=project, title=f"c{count}", color="#fff")
            count += 1
        results.put((count, time.perf_counter() - start))


def burner_process(share: float, seconds: float) -> None:
    """Use ``share`` of one core for ``seconds``: spin, then sleep, every 10 ms."""
    end = time.perf_counter() + seconds
    while (now := time.perf_counter()) < end:
        spin_until = now + 0.01 * share
        while time.perf_counter() < spin_until:
            pass
        time.sleep(max(0.0, 0.01 * (1 - share)))


def _backend_pid() -> int | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:  # gone meanwhile
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _descendants(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            parents.setdefault(ppid, []).append(int(entry))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(parents.get(pid, ()))
    return found


def _delivery_pids(cluster: Cluster, receiver_pid: int, writer_backends: set[int]) -> list[int]:
    """What delivers: the qcluster's processes, its database backends, the receiver."""
    from django.db import connection

    assert cluster.proc is not None
    pids = [*_descendants(cluster.proc.pid), receiver_pid]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
            pids += [pid for (pid,) in cursor.fetchall() if pid not in writer_backends]
    return pids


def phase_two_writers(args, url: str, cluster: Cluster, receiver_pid: int, res: Results) -> None:
    """Two writer processes saving board columns at once for --sustain seconds per block:
    with a subscribed webhook (the cluster delivers what they create); without (nobody
    subscribed); and two floors: emitting to a webhook whose deliveries are held (the
    host's own cost of emitting, nothing sent), and without webhooks beside burners
    using as much CPU as delivering used (cluster, its database backends, receiver)."""
    from webhooks_app.models import Subscription, WebhookStatus

    ctx = multiprocessing.get_context("spawn")
    commands = [ctx.Queue() for _ in range(2)]
    results = ctx.Queue()
    from django.db import connections

    connections.close_all()
    writers = [
        ctx.Process(target=writer_process, args=(queue, results), daemon=True) for queue in commands
    ]
    for writer in writers:
        writer.start()
    backends = {results.get(timeout=60)[1] for _ in writers}
    quiet = make_target("writers-quiet", None)
    hooked = make_target("writers-hooked", url)
    Subscription.objects.create(webhook=hooked[2], event_type="columns.*")
    # Subscribed but disabled after failures: its deliveries are written (the host pays
    # the same emitting save) and held, never sent.
    held = make_target("writers-held", url)
    Subscription.objects.create(webhook=held[2], event_type="columns.*")
    type(held[2]).objects.filter(pk=held[2].pk).update(status=WebhookStatus.AUTO_DISABLED)

    def block(target, burn: float = 0.0) -> float:
        burners = []
        while burn > 1e-3:
            burners.append(ctx.Process(target=burner_process, args=(min(burn, 1.0), args.sustain)))
            burn -= 1.0
        for burner in burners:
            burner.start()
        for queue in commands:
            queue.put((target[0].pk, args.sustain))
        answers = [results.get(timeout=args.sustain + 60) for _ in commands]
        for burner in burners:
            burner.join()
        return sum(count / elapsed for count, elapsed in answers)

    try:
        for _round in range(2):
            res.two_writers.setdefault("without", []).append(block(quiet))
            res.two_writers.setdefault("emitting, held", []).append(block(held))
            pids = _delivery_pids(cluster, receiver_pid, backends)
            before, start = sum(map(_cpu_seconds, pids)), time.perf_counter()
            rate = block(hooked)
            res.two_writers.setdefault("with", []).append(rate)
            pids = _delivery_pids(cluster, receiver_pid, backends)
            used = (sum(map(_cpu_seconds, pids)) - before) / (time.perf_counter() - start)
            res.two_writers.setdefault("delivery cores", []).append(used)
            res.two_writers.setdefault("beside burners", []).append(block(quiet, burn=used))
    finally:
        for queue in commands:
            queue.put(None)
        for writer in writers:
            writer.join(timeout=30)
    webhook = hooked[2]
    from webhooks_app.models import Delivery

    expected = Delivery.objects.filter(webhook=webhook).count()
    wait_delivered(webhook, expected, args.timeout, cluster.check_alive)
    check_all_succeeded("two writers", webhook, expected, res)


def phase_drain(args, url: str, res: Results) -> None:
    """drain() of a backlog in this process, no queue (the cluster is stopped)."""
    from django.db import transaction

    from webhooks_app.engine import delivery

    project, column, webhook = make_target("drain", url)
    with transaction.atomic():
        for i in range(args.events):
            create_task(project, column, i)
    clear_broker()
    start = time.perf_counter()
    attempted = delivery.drain(time_limit=args.timeout)
    res.drain_rps = attempted / (time.perf_counter() - start)
    check_all_succeeded("drain", webhook, args.events, res)


# -- main --------------------------------------------------------------------------------


def report(res: Results, info: dict) -> None:
    def ratio(rate: float, base: float) -> float:
        return rate / base if base else 0.0

    def verdict(value: float, target: float) -> str:
        return f"target >= {target:g}: {'met' if value >= target else 'NOT met'}"

    req, raw = res.requests_baseline, res.urllib3_baseline
    print()
    print(
        f"=== {info['db']} + {info['broker']} broker, {res.workers} workers, {res.events} "
        f"events, {res.payload_bytes}-byte payload"
    )
    if res.requests_rps:
        print(
            f"baseline requests.Session loop: {req:6.0f}/s (median of "
            f"{', '.join(f'{r:.0f}' for r in res.requests_rps)})"
        )
        print(
            f"baseline bare urllib3 loop:     {raw:6.0f}/s (median of "
            f"{', '.join(f'{r:.0f}' for r in res.urllib3_rps)})"
        )
        e2e = ratio(res.from_commit_rps, req)
        print(
            f"end to end, from commit:        {res.from_commit_rps:6.0f}/s  ratio {e2e:.2f} "
            f"to requests.Session ({verdict(e2e, TARGETS['end_to_end'])})"
        )
        interleaved = ratio(res.interleaved_rps, req)
        print(
            f"  interleaved with {res.events} commits: {res.interleaved_rps:6.0f}/s  ratio "
            f"{interleaved:.2f} (those saves alone ran at {res.interleaved_saves_rps:.0f}/s)"
        )
        for what in ("columns", "tasks"):
            with_ = statistics.median(res.sustained[f"{what} with"])
            without = statistics.median(res.sustained[f"{what} without"])
            sustained = ratio(with_, without)
            label = {
                "columns": "engine alone, five-field payload",
                "tasks": "tasks with the example's payload",
            }[what]
            share_with = statistics.median(res.sustained[f"{what} with cpu share"])
            share_without = statistics.median(res.sustained[f"{what} without cpu share"])
            print(
                f"sustained saves while delivering, {label}: {with_:.0f}/s with webhooks, "
                f"{without:.0f}/s without: ratio {sustained:.2f} "
                f"({verdict(sustained, TARGETS['sustained'])}); the saving process had "
                f"{share_with:.0%} of a core with, {share_without:.0%} without"
            )
    if res.two_writers:
        without = statistics.median(res.two_writers["without"])
        with_ = statistics.median(res.two_writers["with"])
        burned = statistics.median(res.two_writers["beside burners"])
        emitting = statistics.median(res.two_writers["emitting, held"])
        cores = res.two_writers["delivery cores"]
        both = ratio(with_, without)
        print(
            f"two writers while delivering their stream: {with_:.0f}/s with webhooks, "
            f"{without:.0f}/s without: ratio {both:.2f} "
            f"({verdict(both, TWO_WRITERS_TARGETS[info['db']])})"
            f"; floors: emitting, nothing delivered {ratio(emitting, without):.2f}; beside "
            f"burners using the {min(cores):.2f}-{max(cores):.2f} cores delivery used "
            f"{ratio(burned, without):.2f}; with against emitting alone "
            f"{ratio(with_, emitting):.2f}"
        )
    if not res.drain_rps:
        return
    drained = ratio(res.drain_rps, raw)
    print(
        f"drain() in one process:         {res.drain_rps:6.0f}/s  ratio {drained:.2f} to "
        f"urllib3 ({verdict(drained, TARGETS['drain'])})"
    )


def run_phases(args, url: str, body: str, cluster: Cluster, receiver_pid: int, res) -> None:
    phase_baselines(args, url, body, res)
    cluster.start(args.timeout)
    phase_from_commit(args, url, cluster, res)
    phase_baselines(args, url, body, res)
    phase_interleaved(args, url, cluster, res)
    phase_sustained(args, url, cluster, res)
    phase_two_writers(args, url, cluster, receiver_pid, res)
    phase_baselines(args, url, body, res)
    cluster.stop()
    phase_drain(args, url, res)


RUNNERS = ("django-q2", "celery", "tasks")


class RunnerWorkers:
    """The worker processes of one runner, started for a phase and stopped after it."""

    def __init__(self, runner: str, log_path: Path, workers: int):
        self.runner, self.log_path, self.workers = runner, log_path, workers
        self.procs: list[subprocess.Popen] = []

    def start(self, timeout: float) -> None:
        from django.db import connections

        connections.close_all()
        env = {**os.environ, "BENCH_WEBHOOKS": f'{{"RUNNER": "{self.runner}"}}'}
        commands = {
            "celery": [
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "bench.celery_app",
                    "worker",
                    "-c",
                    str(self.workers),
                    "-P",
                    "prefork",
                    "--without-gossip",
                    "--without-mingle",
                ]
            ],
            "tasks": [
                [
                    sys.executable,
                    "manage.py",
                    "db_worker",
                    "--no-reload",
                    "--interval",
                    "0.1",
                    "--no-startup-delay",
                ]
            ]
            * self.workers,
        }[self.runner]
        with open(self.log_path, "w") as log:
            for command in commands:
                self.procs.append(
                    subprocess.Popen(
                        command,
                        cwd=ROOT,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        time.sleep(5)  # started and connected: the timing starts at the commit
        self.check_alive()

    def check_alive(self) -> None:
        for proc in self.procs:
            if proc.poll() is not None:
                raise BenchError(f"{self.runner} worker exited with {proc.returncode}")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        self.procs = []


def phase_runners(args, url: str, body: str, info: dict, res: Results) -> dict[str, float]:
    """From commit on each runner, as a ratio to the requests.Session loop run just
    before it; returns the ratios by runner."""
    from django.conf import settings
    from django.test.utils import override_settings

    import bench.celery_app  # noqa: F401  (the Celery app tasks are sent with)

    ratios: dict[str, float] = {}
    for runner in RUNNERS:
        phase_baselines(args, url, body, res)
        baseline = res.requests_rps[-1]
        if runner == "django-q2":
            workers: Cluster | RunnerWorkers = Cluster(info["tmp"] / "qcluster.log", args.workers)
        else:
            workers = RunnerWorkers(runner, info["tmp"] / f"{runner}.log", args.workers)
        with override_settings(WEBHOOKS={**settings.WEBHOOKS, "RUNNER": runner}):
            workers.start(args.timeout)
            try:
                phase_from_commit(args, url, workers, res, f"backlog-{runner}")  # type: ignore[arg-type]
            finally:
                workers.stop()
        ratios[runner] = res.from_commit_rps / baseline
        print(
            f"{runner:>10}: from commit {res.from_commit_rps:6.0f}/s, requests.Session "
            f"{baseline:6.0f}/s: ratio {ratios[runner]:.2f}; to django-q2's "
            f"{ratios[runner] / ratios['django-q2']:.2f}",
            flush=True,
        )
    return ratios


def run(args) -> int:
    res = Results(events=args.events, workers=args.workers)
    with throwaway_database("throughput") as info:
        receiver, url = start_receiver()
        cluster = Cluster(info["tmp"] / "qcluster.log", args.workers)
        try:
            setup_django()
            clear_broker()
            print(
                f"throughput: {info['db']} + {info['broker']} broker, {args.workers} "
                f"workers, {args.events} events; receiver {url}",
                flush=True,
            )
            body = sample_body(url)
            res.payload_bytes = len(body.encode("utf-8"))
            if args.only == "runners":
                phase_runners(args, url, body, info, res)
                for failure in res.failures:
                    print(f"FAILED: {failure}")
                return 1 if res.failures else 0
            if args.only == "two-writers":
                cluster.start(args.timeout)
                phase_two_writers(args, url, cluster, receiver.pid, res)
                cluster.stop()
            else:
                run_phases(args, url, body, cluster, receiver.pid, res)
        finally:
            cluster.stop()
            receiver.terminate()
            receiver.join(timeout=10)
            try:
                clear_broker()
            except Exception as exc:  # keep cleaning up
                print(f"cleanup: {exc}")
    report(res, info)
    for failure in res.failures:
        print(f"FAILED: {failure}")
    return 1 if res.failures else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="events per phase (2000)")
    parser.add_argument("--workers", type=int, default=2, help="qcluster workers (2)")
    parser.add_argument("--sustain", type=float, default=10, help="seconds per sustained block")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests first")
    parser.add_argument("--timeout", type=float, default=120, help="seconds allowed per wait")
    parser.add_argument(
        "--only",
        choices=["two-writers", "runners"],
        help="run only this phase (two-writers: with its qcluster; runners: each runner)",
    )
    args = parser.parse_args(argv)
    try:
        return run(args)
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
