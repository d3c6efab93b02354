#!/usr/bin/env python
"""What a worker spends per delivery, against a bare urllib3 loop, in one run.

    .venv/bin/python bench/worker_cpu.py [--events 2000] [--rounds 3]
    WEBHOOKS_DB=postgres .venv/bin/python bench/worker_cpu.py

Each round, alternating, against one receiver in its own process on 127.0.0.1:

- a bare urllib3 ``PoolManager`` loop POSTing ``--events`` bodies of the real payload's
  size (the baseline);
- ``drain()`` in this process of a backlog of as many deliveries (made untimed first),
  as configured and, with ``--threads 1,4``, with other numbers of sending threads.

For each: requests per second and CPU per request, counting this process (every thread)
and, on PostgreSQL, the CPU of this connection's backend (``/proc/<pid>/stat``, which
needs the server on this machine). The figures are ratios against the baseline of the
same round; the report gives the range over the rounds.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from common import setup_django, throwaway_database
from throughput import create_task, make_target, sample_body, start_receiver

TARGETS = {"rate_sqlite": 0.6, "rate_postgresql": 0.5, "cpu": 2.0}
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Sample:
    rate: float  # requests per second
    cpu_ms: float  # this process, per request
    backend_ms: float = 0.0  # the database backend, per request
    main_ms: float = 0.0  # of cpu_ms, the calling thread's (drain()'s coordinator)


@dataclass
class Rounds:
    baseline: list[Sample] = field(default_factory=list)
    drain: dict[str, list[Sample]] = field(default_factory=dict)  # by variant


Variant = Callable[[], AbstractContextManager[object]]


def concurrency(threads: int) -> Variant:
    """drain() with this many sending threads."""

    def variant() -> AbstractContextManager[object]:
        from django.conf import settings
        from django.test import override_settings

        return override_settings(WEBHOOKS={**settings.WEBHOOKS, "CONCURRENCY": threads})

    return variant


def backend_pid() -> int | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def process_cpu(pid: int | None) -> float:
    """Seconds of CPU (user + system) a process has used; 0 if there is none."""
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def measure(work, n_of) -> Sample:
    pid = backend_pid()
    cpu, main = time.process_time(), time.thread_time()
    backend, start = process_cpu(pid), time.perf_counter()
    result = work()
    elapsed = time.perf_counter() - start
    cpu, main = time.process_time() - cpu, time.thread_time() - main
    backend = process_cpu(pid) - backend
    if pid is not None and backend_pid() != pid:
        raise RuntimeError("the connection changed during the measurement")
    n = n_of(result)
    return Sample(
        rate=n / elapsed,
        cpu_ms=cpu / n * 1000,
        backend_ms=backend / n * 1000,
        main_ms=main / n * 1000,
    )


def baseline(url: str, body: bytes, events: int) -> Sample:
    import urllib3

    pool = urllib3.PoolManager()
    headers = {"Content-Type": "application/json"}
    for _ in range(20):
        pool.request("POST", url, body=body, headers=headers)

    def loop() -> int:
        ok = sum(
            pool.request("POST", url, body=body, headers=headers).status == 200
            for _ in range(events)
        )
        if ok != events:
            raise RuntimeError(f"baseline: {events - ok} requests not answered 200")
        return events

    try:
        return measure(loop, lambda n: n)
    finally:
        pool.clear()


def drained(url: str, events: int, label: str) -> Sample:
    from django.db import transaction

    from webhooks_app.engine import delivery
    from webhooks_app.models import Delivery

    project, column, webhook = make_target(label, url)
    with transaction.atomic():
        for i in range(events):
            create_task(project, column, i)
    sample = measure(lambda: delivery.drain(time_limit=300), lambda n: n)
    done = Delivery.objects.filter(webhook=webhook, status=Delivery.Status.SUCCEEDED).count()
    if done != events:
        raise RuntimeError(f"drain: {done} of {events} deliveries succeeded")
    return sample


def report(db: str, rounds: Rounds) -> None:
    def span(values: list[float], fmt: str = ".2f") -> str:
        """The median, and the range over the rounds."""
        low, high, mid = min(values), max(values), statistics.median(values)
        return f"{mid:{fmt}} ({low:{fmt}}-{high:{fmt}})"

    def cpu(samples: list[Sample]) -> str:
        backend = [s.backend_ms for s in samples]
        return f"CPU per request {span([s.cpu_ms for s in samples], '.3f')} ms in the process" + (
            f" + {span(backend, '.3f')} ms in the backend" if db == "postgresql" else ""
        )

    target = TARGETS[f"rate_{db}"]
    print(f"\n=== {db}, {len(rounds.baseline)} rounds")
    base = rounds.baseline
    print(f"urllib3 loop {span([s.rate for s in base], '.0f')}/s; {cpu(base)}")
    for name, samples in rounds.drain.items():
        pairs = list(zip(rounds.baseline, samples, strict=True))
        rate = [d.rate / b.rate for b, d in pairs]
        ratio = [(d.cpu_ms + d.backend_ms) / (b.cpu_ms + b.backend_ms) for b, d in pairs]
        threads = [s.cpu_ms - s.main_ms for s in samples]
        print(f"drain(), {name}: {span([s.rate for s in samples], '.0f')}/s; {cpu(samples)}")
        print(
            f"  of which the coordinator thread {span([s.main_ms for s in samples], '.3f')} ms, "
            f"the sending threads and the watchdog {span(threads, '.3f')} ms"
        )
        print(
            f"  against urllib3: rate {span(rate)} (median target >= {target:g}: "
            f"{'met' if statistics.median(rate) >= target else 'NOT met'}); "
            f"CPU per delivery {span(ratio)}x (median target <= {TARGETS['cpu']:g}x: "
            f"{'met' if statistics.median(ratio) <= TARGETS['cpu'] else 'NOT met'})"
        )


def run(events: int, rounds_: int, variants: dict[str, Variant]) -> int:
    """Alternate the baseline and each variant of drain() for ``rounds_`` rounds."""
    rounds = Rounds()
    with throwaway_database("worker_cpu"):
        receiver, url = start_receiver()
        try:
            setup_django()
            from django.db import connection

            body = sample_body(url).encode("utf-8")
            db = connection.vendor
            for i in range(rounds_):
                rounds.baseline.append(baseline(url, body, events))
                print(f"round {i + 1}: urllib3 {rounds.baseline[-1]}", flush=True)
                for j, (name, variant) in enumerate(variants.items()):
                    with variant():
                        sample = drained(url, events, f"drain-{i}-{j}")
                    rounds.drain.setdefault(name, []).append(sample)
                    print(f"  {name}: {sample}", flush=True)
        finally:
            receiver.terminate()
            receiver.join(timeout=10)
    report(db, rounds)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="requests per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (3)")
    parser.add_argument(
        "--threads", default="", help="also drain() with these CONCURRENCY values, e.g. 1,4"
    )
    args = parser.parse_args(argv)
    variants: dict[str, Variant] = {"as configured": contextlib.nullcontext}
    for threads in filter(None, args.threads.split(",")):
        variants[f"{threads} sending threads"] = concurrency(int(threads))
    return run(args.events, args.rounds, variants)


if __name__ == "__main__":
    sys.exit(main())
