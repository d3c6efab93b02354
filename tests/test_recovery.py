"""A dead worker, idle or busy, stops no delivery, and nobody has to act.

Real worker processes of the configured runner on this test's database (committed rows:
transactional_db), killed with SIGKILL as the out-of-memory killer does; receivers are
real HTTP servers.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import transaction

from tests.conftest import ROOT, only_on_django_q2, other_process_env, workers_running
from webhooks_app.health import report
from webhooks_app.models import Delivery, DeliveryLog, DeliveryTaskMarker
from webhooks_app.testing import Receiver, Reply, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

# System calls as /proc/<pid>/syscall numbers them: an idle django-q2 worker either reads
# the shared task pipe (holding its reader lock) or waits for that lock.
READ, FUTEX = {"x86_64": (0, 202), "aarch64": (63, 98)}.get(platform.machine(), (None, None))


def syscall(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/syscall").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def lock_holder(pids: list[int]) -> int:
    """The idle worker that holds the task pipe's lock, once every worker is idle."""

    def found() -> int | None:
        calls = {pid: syscall(pid) for pid in pids}
        readers = [pid for pid, call in calls.items() if call == READ]
        waiters = [pid for pid, call in calls.items() if call == FUTEX]
        return readers[0] if len(readers) == 1 and len(waiters) == len(pids) - 1 else None

    return wait_until(found, timeout=20, interval=0.1)


def threads(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("Threads:")[1].split()[0])


def pending() -> int:
    return Delivery.objects.filter(status="pending").count()


@only_on_django_q2  # django-q2's shared task pipe and its lock
@pytest.mark.skipif(READ is None, reason="system call numbers known for x86_64 and aarch64")
def test_killing_the_idle_worker_that_holds_the_queue_lock_stops_no_delivery(
    webhook, receiver, make_item, tmp_path
):
    with workers_running(workers=2) as cluster:
        pids = wait_until(lambda: len(cluster.worker_pids()) == 2 and cluster.worker_pids())
        victim = lock_holder(pids)
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: len(cluster.worker_pids()) == 3)  # the sentinel replaced it

        killed_at = time.monotonic()
        for i in range(20):  # then nothing more: no save, no person, no schedule
            make_item(title=f"after the kill {i}")
        receiver.wait_for(20, timeout=120)
        took = time.monotonic() - killed_at

        # The cluster itself is stuck: its workers wait for the dead one's lock, and
        # the delivery task a commit enqueued never starts. Its watchdogs delivered.
        survivors = [pid for pid in cluster.live_workers() if pid != victim]
        assert all(syscall(pid) == FUTEX for pid in survivors), "the queue did not stall"
        try:
            wait_until(lambda: report(stall_after=HEALTH_STALL_AFTER).queue_frozen, timeout=30)
        except AssertionError as exc:  # what the health report read, for whoever looks
            marker = DeliveryTaskMarker.objects.values().first()
            raise AssertionError(f"{exc} The task marker: {marker}") from None

        # The deployment's health timer asks systemd to restart the cluster, whose
        # SIGTERM is not enough (KillMode=mixed: SIGKILL after TimeoutStopSec).
        assert run_health_unit(tmp_path) == ["restart webhooks-qcluster.service"]
        assert "KillMode=mixed" in (DEPLOY / "webhooks-qcluster.service").read_text()
        assert not cluster.stop(timeout=5), "SIGTERM stopped a stalled cluster"

    assert took < 120
    wait_until(lambda: pending() == 0, timeout=10)
    assert sorted(r.json()["data"]["title"] for r in receiver.requests) == sorted(
        f"after the kill {i}" for i in range(20)
    )
    assert DeliveryLog.objects.count() == 20  # none sent twice

    # The new cluster shows at once that the queue takes tasks again: the next health
    # check passes, with nothing more saved, and restarts nothing.
    with workers_running(workers=2, name="qcluster-restarted"):
        wait_until(lambda: not report(stall_after=HEALTH_STALL_AFTER).queue_frozen, timeout=30)
        assert run_health_unit(tmp_path) == []


HEALTH_STALL_AFTER = 5  # seconds, for the test; the default is 60
DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "systemd"


def run_health_unit(tmp_path: Path) -> list[str]:
    """Run webhooks-health.service's ExecStart as its timer would, with this test's
    Python and tree and a ``systemctl`` that only notes what it is asked; the calls."""
    exec_start = next(
        line.split("=", 1)[1]
        for line in (DEPLOY / "webhooks-health.service").read_text().splitlines()
        if line.startswith("ExecStart=")
    )
    command = shlex.split(exec_start.replace("/srv/app/venv/bin/python", sys.executable))
    calls, shims = tmp_path / "systemctl.calls", tmp_path / "bin"
    calls.write_text("")
    shims.mkdir(exist_ok=True)
    systemctl = shims / "systemctl"
    systemctl.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    systemctl.chmod(0o755)
    env = other_process_env(
        PATH=f"{shims}:{os.environ['PATH']}",
        WEBHOOKS_OVERRIDES=json.dumps({"STALL_AFTER": HEALTH_STALL_AFTER}),
    )
    subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=60, capture_output=True)
    return calls.read_text().splitlines()


def arrivals_settled(receiver: Receiver):
    """A condition: no new request reached ``receiver`` in the last quarter second."""
    seen = {"count": -1, "since": time.monotonic()}

    def settled() -> bool:
        if receiver.count != seen["count"]:
            seen.update(count=receiver.count, since=time.monotonic())
        return time.monotonic() - seen["since"] >= 0.25

    return settled


def test_a_killed_busy_worker_frees_its_endpoint_within_seconds(make_webhook, receiver, make_item):
    receiver.default = Reply(delay=0.5)
    hook = make_webhook(receiver.url)
    receiver.secret = hook.secret
    with transaction.atomic():  # one backlog of 60: several requests in flight at a time
        for i in range(60):
            make_item(title=f"t{i}")

    with workers_running(workers=2) as cluster:
        receiver.wait_for(8, timeout=60)
        busy = [pid for pid in cluster.live_workers() if threads(pid) > 2]
        assert busy, "no worker was sending"
        for pid in busy:
            os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        wait_until(arrivals_settled(receiver), timeout=10)  # what it had sent has arrived
        # What may be sent again: what it had sent and not recorded (in flight, and
        # answered since its last group was recorded). Its endpoint stays leased to
        # it for seconds yet, so no other worker has sent to it meanwhile.
        counted = receiver.count
        unrecorded = counted - DeliveryLog.objects.count()
        wait_until(lambda: receiver.count > counted, timeout=30)
        resumed = time.monotonic() - killed_at
        wait_until(lambda: pending() == 0, timeout=120)

    sent_twice = receiver.count - Delivery.objects.count()
    assert resumed < 30, f"the endpoint received nothing for {resumed:.0f} s"
    assert 0 <= sent_twice <= unrecorded
    assert Delivery.objects.filter(status="succeeded").count() == 60  # none lost


def test_no_more_than_endpoint_concurrency_requests_in_flight_across_two_clusters(
    make_webhook, make_item
):
    with Receiver() as slow, Receiver() as fast:
        slow.default = Reply(delay=0.3)
        make_webhook(slow.url)
        make_webhook(fast.url)
        for i in range(40):  # forty commits: kicks, help requests and watchdogs everywhere
            make_item(title=f"t{i}")

        overrides = '{"ENDPOINT_CONCURRENCY": 3}'
        with (
            workers_running(workers=2, name="cluster-a", WEBHOOKS_OVERRIDES=overrides),
            workers_running(workers=2, name="cluster-b", WEBHOOKS_OVERRIDES=overrides),
        ):
            wait_until(lambda: pending() == 0, timeout=120)

        assert slow.count == fast.count == 40
        assert slow.max_in_flight == 3  # the limit, and reached
