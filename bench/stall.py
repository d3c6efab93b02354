#!/usr/bin/env python
"""Why a qcluster stops taking tasks after one of its idle workers is SIGKILLed, shown on
a real cluster.

    .venv/bin/python bench/stall.py [--workers 2] [--events 20] [--wait 30]

django-q2's workers take tasks with ``task_queue.get()`` on one shared
``multiprocessing.Queue``. A blocking ``get()`` holds the queue's reader lock (a semaphore
shared by the processes) while it waits in ``read(2)`` for the next task, so when the
cluster is idle exactly one worker holds that lock and the others wait for it in
``futex(2)``. Kill the holder and nobody ever releases it: the other workers, and the
worker the sentinel starts in place of the dead one, wait for it forever. The pusher
goes on moving tasks from the broker into the pipe, and nobody reads them; SIGTERM
cannot stop the cluster either, since its "STOP" messages sit in the same pipe.

The script finds each idle worker's system call in ``/proc/<pid>/syscall`` and runs two
rounds, each on a fresh cluster: kill a worker waiting for the lock (the cluster goes
on), then kill the one holding it (the cluster stalls, and its workers' watchdogs go on
delivering). Each round saves ``--events`` tasks to a subscribed webhook and says how
long they took to arrive (at most ``--wait`` seconds), then runs ``manage.py
webhooks_health`` and stops the cluster with SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from common import ROOT, setup_django, throwaway_database
from isolation import Cluster, make_target

READ, FUTEX = 0, 202  # x86-64 system call numbers, as /proc/<pid>/syscall shows them
READY = re.compile(r"(Process-\S+) ready for work at (\d+)")


def worker_pids(log: Path, count: int, timeout: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [int(pid) for _name, pid in READY.findall(log.read_text())]
        if len(found) >= count:
            return found[:count]
        time.sleep(0.2)
    raise SystemExit(f"{count} workers not ready within {timeout:g} s:\n{log.read_text()}")


def syscall(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/syscall").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def waiting_workers(pids: list[int]) -> dict[str, list[int]]:
    """The idle workers, by what they wait in: the lock holder reads the task pipe."""
    deadline = time.monotonic() + 10
    while True:
        calls = {pid: syscall(pid) for pid in pids}
        holders = [pid for pid, call in calls.items() if call == READ]
        waiters = [pid for pid, call in calls.items() if call == FUTEX]
        if (len(holders) == 1 and len(waiters) == len(pids) - 1) or time.monotonic() > deadline:
            return {"holding the lock": holders, "waiting for it": waiters}
        time.sleep(0.1)


def health_exit_code() -> int:
    return subprocess.run(
        [sys.executable, "manage.py", "webhooks_health"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    ).returncode


def stops_on_sigterm(cluster: Cluster, timeout: float = 30) -> bool:
    cluster.process.send_signal(signal.SIGTERM)
    try:
        cluster.process.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        os.killpg(cluster.process.pid, signal.SIGKILL)
        cluster.process.wait()
        return False
    finally:
        cluster.log.close()


def one_round(victim_kind: str, args, tmp: Path) -> dict:
    from example_project.agile.models import Task
    from webhooks_app.testing import Receiver

    log = tmp / f"qcluster-{victim_kind.replace(' ', '-')}.log"
    cluster = Cluster(args.workers, log)
    stopped = None
    with Receiver(record=True) as receiver:
        try:
            pids = worker_pids(log, args.workers)
            idle = waiting_workers(pids)  # polls until every worker is back in get()
            if not idle[victim_kind]:
                raise SystemExit(f"no idle worker {victim_kind}: {idle}")
            victim = idle[victim_kind][0]
            os.kill(victim, signal.SIGKILL)
            worker_pids(log, args.workers + 1)  # the sentinel has started a replacement
            project, column = make_target(f"stall-{victim}", [receiver.url])
            for i in range(args.events):
                Task.objects.create(project=project, column=column, title=f"t{i}")
            started = time.monotonic()
            deadline = started + args.wait
            while receiver.count < args.events and time.monotonic() < deadline:
                time.sleep(0.1)
            delivered, took = receiver.count, time.monotonic() - started
            # The other workers, and the one started in the dead one's place.
            everyone = [int(pid) for _name, pid in READY.findall(log.read_text())]
            after = {pid: syscall(pid) for pid in _alive(everyone) if pid != victim}
            health = health_exit_code()
        finally:
            stopped = stops_on_sigterm(cluster)
    return {
        "victim": victim_kind,
        "delivered": delivered,
        "took": took,
        "survivors_in_futex": sum(1 for call in after.values() if call == FUTEX),
        "workers": len(after),
        "health": health,
        "stopped": stopped,
    }


def _alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="qcluster workers (2)")
    parser.add_argument("--events", type=int, default=20, help="events saved after the kill")
    parser.add_argument("--wait", type=float, default=30, help="seconds to wait for them")
    args = parser.parse_args(argv)
    os.environ["Q_LOG_LEVEL"] = "INFO"  # the workers' pids come from their "ready" lines
    # A stall is reported once a due delivery has waited this long.
    os.environ["BENCH_WEBHOOKS"] = json.dumps({"STALL_AFTER": max(5, int(args.wait) // 2)})
    with throwaway_database("stall") as info:
        setup_django()
        print(f"stall: {info['db']} + {info['broker']} broker, {args.workers} workers")
        for kind in ("waiting for it", "holding the lock"):
            r = one_round(kind, args, info["tmp"])
            print(
                f"  SIGKILL an idle worker {kind:17s}: {r['delivered']}/{args.events} delivered"
                f" in {r['took']:.1f} s (limit {args.wait:g} s); then"
                f" {r['survivors_in_futex']} of the {r['workers']}"
                f" workers (the new one included) wait for the lock;"
                f" webhooks_health exit {r['health']};"
                f" SIGTERM {'stopped' if r['stopped'] else 'did NOT stop'} the cluster"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
