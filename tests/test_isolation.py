"""One bad endpoint never delays the others: concurrency, per-endpoint limits, rate limits.

These commit (transactional_db) so that several workers (threads here, each with its own
database connection) see the same rows; on the PostgreSQL leg they prove the claim's
locking across workers.
"""

from __future__ import annotations

import time
from contextlib import ExitStack

import pytest
from django.db import transaction

from tests.conftest import run_in_threads
from webhooks_app.engine import delivery
from webhooks_app.models import Delivery, Webhook
from webhooks_app.testing import Receiver, Reply

pytestmark = pytest.mark.django_db(transaction=True)


def workers(count: int, *, time_limit: float = 60) -> None:
    """``count`` workers draining at once, each on its own connection."""
    run_in_threads(count, lambda: delivery.drain(time_limit=time_limit))


@pytest.mark.parametrize(
    "neighbour",
    [
        pytest.param(Reply(delay=30), id="hanging"),
        pytest.param(Reply(delay=2.5), id="slow-but-successful"),
    ],
)
def test_a_bad_endpoint_does_not_delay_healthy_ones(
    make_webhook, make_item, webhooks_settings, neighbour
):
    webhooks_settings(TIMEOUT=3, FAILURE_THRESHOLD=100)
    with ExitStack() as stack:
        bad = stack.enter_context(Receiver())
        bad.default = neighbour
        healthy = [stack.enter_context(Receiver()) for _ in range(3)]
        make_webhook(bad.url)
        for receiver in healthy:
            make_webhook(receiver.url)
        with transaction.atomic():
            for i in range(10):
                make_item(title=f"t{i}")

        started = time.monotonic()
        workers(1)
        elapsed = time.monotonic() - started

        arrivals = [r.received_at - started for h in healthy for r in h.requests]
        assert len(arrivals) == 30
        # Every healthy delivery arrived long before the bad endpoint's first answer
        # (or timeout): it held only its own four slots.
        assert max(arrivals) < 1.5, sorted(arrivals)[-5:]
        assert elapsed >= 2.5  # the worker did wait for the bad endpoint, in parallel
    assert Delivery.objects.filter(status="succeeded").count() >= 30


def test_at_most_endpoint_concurrency_requests_reach_one_endpoint_across_workers(
    make_webhook, receiver, make_item, webhooks_settings
):
    webhooks_settings(ENDPOINT_CONCURRENCY=2)
    receiver.default = Reply(delay=0.2)
    make_webhook(receiver.url)
    with transaction.atomic():
        for i in range(12):
            make_item(title=f"t{i}")

    workers(3)

    assert receiver.count == 12
    assert receiver.max_in_flight == 2
    assert Delivery.objects.filter(status="succeeded").count() == 12


def test_a_worker_sends_at_most_concurrency_requests_at_once(
    make_webhook, receiver, make_item, webhooks_settings
):
    webhooks_settings(CONCURRENCY=3, ENDPOINT_CONCURRENCY=4)
    receiver.default = Reply(delay=0.2)
    for _ in range(4):  # four endpoints, one server: it sees the worker's total
        make_webhook(receiver.url)
    with transaction.atomic():
        for i in range(4):
            make_item(title=f"t{i}")

    workers(1)

    assert receiver.count == 16
    assert receiver.max_in_flight == 3


def test_the_rate_limit_holds_across_two_workers(make_webhook, receiver, make_item):
    webhook = make_webhook(receiver.url)
    Webhook.objects.filter(pk=webhook.pk).update(rate_limit=5)
    with transaction.atomic():
        for i in range(16):
            make_item(title=f"t{i}")

    workers(2)

    times = sorted(r.received_at for r in receiver.requests)
    assert len(times) == 16
    # Five a second: sixteen go over three seconds, one every 0.2 s, whichever worker
    # sends them; unlimited, they would all go within a tenth of one, and with a limit
    # per worker, ten a second. A second holds five, one more at its edge, and one that
    # a loaded machine ran late (more than a slot late, it lands beside the next one).
    assert times[-1] - times[0] >= 2.5
    for i, start in enumerate(times):
        in_one_second = [t for t in times[i:] if t - start < 1.0]
        assert len(in_one_second) <= 7, [round(t - times[0], 2) for t in times]


PROMPT = 7  # an endpoint id that has answered within SLOW_AFTER


@pytest.fixture
def prompt_endpoint() -> delivery.Dispatcher:
    """A dispatcher (four in flight per endpoint at most) that knows PROMPT as prompt."""
    delivery._known(PROMPT, slow=False)
    return delivery.Dispatcher(per_endpoint=4, concurrency=16)


@pytest.mark.parametrize(
    ("cpu_ms", "wait_ms", "in_flight"),
    [
        (0.3, 0.1, 1),  # a receiver on this machine: a second request only waits for the GIL
        (0.3, 0.4, 2),
        (0.3, 0.7, 3),
        (0.3, 50.0, 4),  # across a network: ENDPOINT_CONCURRENCY
    ],
)
def test_a_prompt_endpoint_has_as_many_requests_in_flight_as_keep_the_worker_busy(
    prompt_endpoint, cpu_ms, wait_ms, in_flight
):
    delivery._paced(PROMPT, cpu_ms / 1000, (cpu_ms + wait_ms) / 1000)

    assert prompt_endpoint._limit(PROMPT) == in_flight


def test_the_in_flight_share_follows_the_endpoints_answers(prompt_endpoint):
    delivery._paced(PROMPT, 0.0003, 0.0004)
    assert prompt_endpoint._limit(PROMPT) == 1
    for _ in range(20):  # its answers start taking 20 ms
        delivery._paced(PROMPT, 0.0003, 0.0203)
    assert prompt_endpoint._limit(PROMPT) == 4
