"""Several workers at once, and real worker processes of the configured runner (a
qcluster, a Celery worker, Django Tasks database workers: WEBHOOKS_RUNNER).

These tests commit (transactional_db), so a worker subprocess, pointed at the same test
database, sees the rows; on the PostgreSQL leg they prove the claim and counter locking.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.conftest import only_on_django_q2, run_in_threads, workers_running
from webhooks_app.engine import delivery
from webhooks_app.models import Delivery, DeliveryLog, Webhook
from webhooks_app.runners import current_runner
from webhooks_app.testing import Reply, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def all_done() -> bool:
    return not Delivery.objects.filter(status=Delivery.Status.PENDING).exists()


def test_real_workers_deliver_committed_events(webhook, receiver, make_item):
    with workers_running(workers=1):
        items = [make_item(title=f"item {i}") for i in range(3)]  # each commit enqueues
        received = receiver.wait_for(3, timeout=60)
        wait_until(all_done, timeout=30)

    assert sorted(r.json()["data"]["uuid"] for r in received) == sorted(str(i.uuid) for i in items)
    assert all(r.verified for r in received)
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}
    assert DeliveryLog.objects.filter(outcome="success").count() == 3


def test_a_fresh_worker_sends_what_is_due_though_the_broker_lost_its_task(
    webhook, receiver, make_item
):
    for i in range(3):
        make_item(title=f"item {i}")
    current_runner().drop_queued()  # the broker lost the task; the marker still covers

    with workers_running(workers=1, name="fresh-workers"):  # its watchdog, from its start
        receiver.wait_for(3, timeout=60)
        wait_until(all_done, timeout=30)

    assert DeliveryLog.objects.filter(outcome="success").count() == 3


def test_two_workers_send_every_delivery_exactly_once(make_webhook, receiver, make_item):
    hooks = [make_webhook(receiver.url) for _ in range(3)]
    receiver.default = Reply(delay=0.01)  # keep requests in flight long enough to overlap
    with transaction.atomic():  # one backlog, one kick: the workers must share it
        for i in range(60):
            make_item(title=f"t{i}")
    expected = 60 * len(hooks)

    with workers_running(workers=2, WEBHOOKS_CONCURRENCY="4"):
        receiver.wait_for(expected, timeout=120)
        wait_until(all_done, timeout=60)

    ids = Counter(
        (r.headers["webhook-id"], r.path, r.headers["X-Webhook-Delivery"])
        for r in receiver.requests
    )
    per_delivery = Counter(DeliveryLog.objects.values_list("delivery_id", flat=True))
    assert receiver.count == expected == len(ids)
    assert set(per_delivery.values()) == {1}  # none sent twice
    assert Delivery.objects.filter(status="succeeded").count() == expected  # none lost
    assert receiver.max_in_flight >= 2, "the two workers never overlapped"


def test_concurrent_drains_never_claim_the_same_delivery(
    make_webhook, receiver, make_item, webhooks_settings
):
    webhooks_settings(CONCURRENCY=7)
    for _ in range(2):
        make_webhook(receiver.url)
    with transaction.atomic():
        for i in range(50):
            make_item(title=f"t{i}")

    run_in_threads(3, lambda: delivery.drain(time_limit=60))

    assert receiver.count == 100
    assert set(Counter(DeliveryLog.objects.values_list("delivery_id", flat=True)).values()) == {1}
    assert Delivery.objects.filter(status="succeeded").count() == 100


def test_concurrent_failures_are_all_counted(make_webhook, receiver, make_item, webhooks_settings):
    # 422: the endpoint answers, so it is not paused; every delivery is attempted, by
    # four workers of three slots each, all recording against one webhook row.
    webhooks_settings(CONCURRENCY=3, ENDPOINT_CONCURRENCY=12, FAILURE_THRESHOLD=1000)
    receiver.default = Reply(status=422, delay=0.05)
    webhook = make_webhook(receiver.url)
    with transaction.atomic():
        for i in range(12):
            make_item(title=f"t{i}")

    run_in_threads(4, lambda: delivery.drain(time_limit=30))

    webhook.refresh_from_db()
    failures = DeliveryLog.objects.filter(outcome="failure").count()
    assert failures == 12
    assert webhook.consecutive_failures == failures
    assert Webhook.objects.get().is_active


def test_a_burst_of_commits_leaves_one_task_waiting_not_one_per_commit(webhook, make_item):
    runner = current_runner()
    runner.drop_queued()
    for i in range(5):
        make_item(title=f"t{i}")  # five transactions, five on_commit kicks
    assert runner.queued() == 1
    assert Delivery.objects.filter(status="pending").count() == 5


def test_a_webhook_deleted_mid_batch_does_not_sink_the_batch(make_webhook, make_item):
    from webhooks_app.testing import Receiver

    with Receiver() as doomed_receiver, Receiver() as healthy:
        doomed = make_webhook(doomed_receiver.url)
        make_webhook(healthy.url)
        make_item()

        def owner_deletes_it(request):  # while its request is in flight
            Webhook.objects.filter(pk=doomed.pk).delete()
            connection.close()  # this server thread's own connection

        doomed_receiver.on_request = owner_deletes_it
        assert delivery.drain(time_limit=30) == 2

    assert not Webhook.objects.filter(pk=doomed.pk).exists()
    assert list(Delivery.objects.values_list("status", flat=True)) == ["succeeded"]
    assert DeliveryLog.objects.count() == 1


@only_on_django_q2
def test_an_unrelated_waiting_task_does_not_hold_back_a_delivery_task(webhook, make_item):
    from django_q.tasks import async_task

    runner = current_runner()
    runner.drop_queued()
    async_task("math.floor", 1.5)  # the host's own task, waiting in the shared queue
    make_item()
    assert runner.queued() == 2


def test_a_lost_delivery_task_stops_holding_back_new_ones(webhook, make_item):
    from datetime import timedelta

    from django.utils import timezone

    from webhooks_app.models import DeliveryTaskMarker

    runner = current_runner()
    make_item()
    runner.drop_queued()  # the broker lost it; the marker still says a task covers commits
    make_item()
    assert runner.queued() == 0
    # Once that coverage ends, the next commit enqueues a task of its own.
    DeliveryTaskMarker.objects.update(covered_until=timezone.now() - timedelta(seconds=1))
    make_item()
    assert runner.queued() == 1


def test_a_commit_is_covered_only_while_the_marker_looks_ahead():
    from datetime import timedelta

    from webhooks_app.engine.queue import covered_now
    from webhooks_app.models import DeliveryTaskMarker

    marker = DeliveryTaskMarker.objects
    now = timezone.now()
    for covered_until, covered in (
        (None, False),
        (now - timedelta(seconds=1), False),
        (now + timedelta(seconds=30), True),
    ):
        marker.update(covered_until=covered_until)
        assert covered_now() is covered, covered_until


def test_a_task_at_its_time_limit_hands_over_before_its_last_requests_end(
    make_webhook, receiver, make_item, webhooks_settings
):
    """A hanging request keeps the old task for up to TIMEOUT; new commits must not wait
    for it: the successor is queued, and covers them, the moment the limit passes."""
    from webhooks_app.models import DeliveryTaskMarker

    webhooks_settings(TIMEOUT=6)
    receiver.default = Reply(delay=5)
    make_webhook(receiver.url)
    make_item()
    runner = current_runner()
    runner.drop_queued()
    task = threading.Thread(
        target=lambda: (delivery.drain(time_limit=0.5, task=True), connection.close())
    )
    task.start()
    try:
        receiver.wait_for(1)  # the slow request is in flight
        wait_until(lambda: runner.queued() == 1, timeout=4)  # limit passed: handed over
        assert task.is_alive()  # still waiting for its last request
        assert DeliveryTaskMarker.objects.get().covered_until > timezone.now()
    finally:
        task.join(timeout=15)
