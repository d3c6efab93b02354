"""Sending due deliveries: what a worker does with a delivery task.

One thread, the coordinator, claims and records; a pool of threads sends. The pool holds
``CONCURRENCY`` requests at once per process, and claims keep at most
``ENDPOINT_CONCURRENCY`` in flight to any one endpoint across workers, so an endpoint
that hangs occupies only its own slots while every other endpoint's deliveries flow
(:mod:`webhooks_app.claims`).

Outcomes are recorded as they complete, in groups of ``FLUSH_SIZE`` or every
``FLUSH_INTERVAL`` seconds, whichever comes first, in the same transaction as the next
claim: the worker adds no commit per delivery, and a killed worker or a lost database
connection re-sends at most what was in flight plus one unflushed group (at-least-once:
receivers deduplicate on ``webhook-id``). A group whose recording fails on a dropped
connection is recorded again on a new one (:mod:`webhooks_app.outcomes` is idempotent).
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime
from typing import TypeVar

from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from webhooks_app import claims, transport
from webhooks_app.claims import Claimed
from webhooks_app.conf import webhook_settings
from webhooks_app.dispatch import render_body
from webhooks_app.models import Delivery, Event, Trigger, Webhook
from webhooks_app.outcomes import Attempt, Recorded, record
from webhooks_app.policy import RetryPolicy
from webhooks_app.signing import signature_headers

logger = logging.getLogger(__name__)

FLUSH_SIZE = 32
FLUSH_INTERVAL = 0.1  # seconds; also how often a busy worker looks for new work
# Recording that fails on a lost connection is tried again this often, for this long.
RECONNECT_DELAYS = (0.1, 0.5, 1, 2, 5, 10)

T = TypeVar("T")


def build_headers(claimed: Claimed, attempt_uuid: uuid.UUID) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": webhook_settings.user_agent,
        "X-Header": webhook_settings.x_header,
        "X-Webhook-Event": claimed.event_type,
        "X-Webhook-Delivery": str(attempt_uuid),
        **signature_headers(claimed.secrets, claimed.msg_id, int(time.time()), claimed.body),
    }


def send(claimed: Claimed) -> Attempt:
    """Make one attempt (in a sending thread: no database here)."""
    if claimed.send_at is not None:  # the endpoint's rate limit: at most a second away
        time.sleep(max(0.0, (claimed.send_at - timezone.now()).total_seconds()))
    attempt_uuid = uuid.uuid4()
    headers: dict[str, str] = {}
    try:
        headers = build_headers(claimed, attempt_uuid)
        response = transport.post(claimed.url, claimed.body, headers, verify_tls=claimed.verify_tls)
    except Exception as exc:
        # Recorded as this delivery's failure: raising would lose the attempt.
        logger.exception("Delivery %s could not be attempted", claimed.id)
        response = transport.Response(error=f"Could not send: {exc!r}")
    return Attempt(claimed, attempt_uuid, headers, response, timezone.now())


class _Pool:
    """This process's sending threads (re-made after a fork: qcluster workers fork)."""

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._key: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def get(self, size: int) -> ThreadPoolExecutor:
        key = (os.getpid(), size)
        with self._lock:
            if self._key != key:
                self._executor = ThreadPoolExecutor(size, thread_name_prefix="webhooks-send")
                self._key = key
            assert self._executor is not None
            return self._executor


_pool = _Pool()


class Courier:
    """One run of the worker loop; see the module docstring."""

    def __init__(
        self,
        *,
        time_limit: float | None = None,
        now: datetime | None = None,
        on_backlog: Callable[[], None] | None = None,
        clear_marker: bool = False,
    ) -> None:
        limit = webhook_settings.TASK_TIME_LIMIT if time_limit is None else time_limit
        self.deadline = time.monotonic() + limit
        self.fixed_now = now  # tests claim "as if at" a later time
        self.on_backlog = on_backlog
        self.clear_marker = clear_marker
        self.concurrency = webhook_settings.CONCURRENCY
        self.policy = RetryPolicy.from_settings()
        self.in_flight: set[Future[Attempt]] = set()
        self.finished: list[Attempt] = []
        self.oldest_finished = 0.0
        self.last_claim = float("-inf")
        self.asked_for_help = float("-inf")
        self.attempted = 0

    def run(self) -> int:
        """Claim, send and record until nothing is due (or the time limit passes), and
        return how many attempts were made."""
        pool = _pool.get(self.concurrency)
        while True:
            self._collect(block=False)
            took = self._step(pool)
            if not (self.in_flight or self.finished or took):
                break
            self._collect(block=True)
        if time.monotonic() >= self.deadline and self._has_due_work():
            self._ask_for_help()  # stopped at the time limit with work left: hand over
        return self.attempted

    # -- the loop's steps ------------------------------------------------------------

    def _step(self, pool: ThreadPoolExecutor) -> bool:
        """Record finished attempts and claim more, in one transaction, when either is
        due. Returns whether anything was claimed.

        A claim is made at once when nothing is in flight, along with every flush, and
        otherwise at most every FLUSH_INTERVAL (a busy worker looking for new work).
        """
        now = time.monotonic()
        idle = not self.in_flight
        flush = bool(self.finished) and (
            idle or len(self.finished) >= FLUSH_SIZE or now - self.oldest_finished >= FLUSH_INTERVAL
        )
        free = self.concurrency - len(self.in_flight)
        claim = (
            free > 0
            and now < self.deadline
            and (idle or flush or now - self.last_claim >= FLUSH_INTERVAL)
        )
        if claim and not flush and not self.clear_marker and connection.vendor == "sqlite":
            # A claim is a write transaction, and SQLite has one writer: look first.
            self.last_claim = now
            claim = self._has_due_work()
        if not (flush or claim):
            return False
        group, wanted = (self.finished if flush else []), (free if claim else 0)
        self.attempted += len(group)
        _, taken = self._reconnecting(lambda: self._flush_and_claim(group, wanted))
        if flush:
            self.finished = []
        if claim:
            self.last_claim = now
            if len(taken) == free:
                self._ask_for_help()  # a full claim: there is a backlog for another worker
        for claimed in taken:
            self.in_flight.add(pool.submit(send, claimed))
        return bool(taken)

    def _flush_and_claim(self, group: list[Attempt], free: int) -> tuple[Recorded, list[Claimed]]:
        with transaction.atomic():
            recorded = record(group, self.policy, self._now()) if group else Recorded()
            taken: list[Claimed] = []
            if free:
                taken = claims.claim(free, self._now(), clear_marker=self.clear_marker)
                self.clear_marker = False
        return recorded, taken

    def _collect(self, *, block: bool) -> None:
        """Move completed sends to the unflushed group; with ``block``, first wait until
        one completes or the next flush or claim is due."""
        if block and self.in_flight:
            timeout = FLUSH_INTERVAL
            if self.finished:
                timeout = max(0.0, self.oldest_finished + FLUSH_INTERVAL - time.monotonic())
            wait(self.in_flight, timeout=timeout, return_when=FIRST_COMPLETED)
        done = {f for f in self.in_flight if f.done()}
        if not done:
            return
        if not self.finished:
            self.oldest_finished = time.monotonic()
        self.in_flight -= done
        self.finished.extend(f.result() for f in done)

    def _reconnecting(self, work: Callable[[], T]) -> T:
        """Run ``work`` in its own transaction, again on a new connection if the
        connection is lost (a terminated backend, a server-side idle timeout)."""
        for attempt in itertools.count():
            try:
                return work()
            except (OperationalError, InterfaceError) as exc:
                if attempt >= len(RECONNECT_DELAYS) or connection.in_atomic_block:
                    raise
                logger.warning("Webhook worker lost its database connection (%s); retrying", exc)
                connection.close()
                time.sleep(RECONNECT_DELAYS[attempt])
        raise AssertionError("unreachable")

    def _ask_for_help(self) -> None:
        now = time.monotonic()
        if self.on_backlog is not None and now - self.asked_for_help >= 1.0:
            self.asked_for_help = now
            self.on_backlog()

    def _has_due_work(self) -> bool:
        return claims.has_due_work(self._now())

    def _now(self) -> datetime:
        return self.fixed_now or timezone.now()


def drain(
    *,
    time_limit: float | None = None,
    now: datetime | None = None,
    on_backlog: Callable[[], None] | None = None,
    clear_marker: bool = False,
) -> int:
    """Claim, send and record until nothing is due or the time limit is reached.

    Returns how many attempts were made. ``now`` claims as if at that time (tests);
    ``on_backlog`` is called when more work is due than this run takes on.
    """
    return Courier(
        time_limit=time_limit, now=now, on_backlog=on_backlog, clear_marker=clear_marker
    ).run()


def send_claimed(pk: int, token: uuid.UUID) -> Delivery:
    """Send one delivery this process claimed with ``token`` (test pings, "redeliver
    now") here and now, record it, and return it with its outcome. Claiming in the
    statement that made the delivery due means no worker can take it in between."""
    claimed = claims.held(pk, token, timezone.now())
    if claimed is not None:
        attempt = send(claimed)
        with transaction.atomic():
            record([attempt], RetryPolicy.from_settings())
    return Delivery.objects.select_related("webhook", "event").get(pk=pk)


def send_test(webhook: Webhook) -> Delivery:
    """Send a ``ping`` to one webhook now, in this process, and return its delivery.

    Works on a disabled webhook too: checking an endpoint before re-enabling it is the
    point of a test.
    """
    now = timezone.now()
    token, lease_until = claims.new_claim(now)
    data = {"webhook": {"uuid": str(webhook.uuid), "name": webhook.name, "url": webhook.url}}
    with transaction.atomic():
        event = Event.objects.create(
            event_type="ping",
            project_id=webhook.project_id,
            body=render_body("ping", data, now, None),
            created_at=now,
        )
        delivery = Delivery.objects.create(
            webhook=webhook,
            event=event,
            trigger=Trigger.TEST,
            next_attempt_at=lease_until,
            claim_token=token,
            created_at=now,
        )
    return send_claimed(delivery.pk, token)
