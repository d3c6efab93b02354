"""Sending due deliveries: what a worker does with a delivery task.

One thread, the coordinator, claims and records; a pool of threads sends. The pool holds
``CONCURRENCY`` requests at once per process, and claims keep at most
``ENDPOINT_CONCURRENCY`` in flight to any one endpoint across workers, so an endpoint
that hangs occupies only its own slots while every other endpoint's deliveries flow
(:mod:`webhooks_app.engine.claims`).

Outcomes are recorded as they complete, in groups of ``FLUSH_SIZE`` or every
``FLUSH_INTERVAL`` seconds, whichever comes first, in the same transaction as the next
claim: the worker adds no commit per delivery, and a killed worker or a lost database
connection re-sends at most what was in flight plus one unflushed group (at-least-once:
receivers deduplicate on ``webhook-id``). A group whose recording fails on a dropped
connection is recorded again on a new one (:mod:`webhooks_app.engine.outcomes` is idempotent).
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote_plus

from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from webhooks_app.conf import webhook_settings
from webhooks_app.engine import claims, queue, transport
from webhooks_app.engine.claims import Claimed, endpoint_hold
from webhooks_app.engine.outcomes import Attempt, Judged, Recorded, record
from webhooks_app.engine.policy import RetryPolicy, stops_endpoint
from webhooks_app.engine.routing import project_gate
from webhooks_app.signing import signature_headers

logger = logging.getLogger(__name__)

FLUSH_SIZE = 32
FLUSH_INTERVAL = 0.1  # seconds; also how often a busy worker looks for new work
POLL_INTERVAL = 0.05  # how often a lingering task looks for new work
# Recording that fails on a lost connection is tried again this often, for this long.
RECONNECT_DELAYS = (0.1, 0.5, 1, 2, 5, 10)
# A project whose plan no longer allows webhooks: its queued deliveries are held, and
# looked at again this often (seconds), in case the plan comes back.
PLAN_RECHECK = 300

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

T = TypeVar("T")


def wire_body(claimed: Claimed) -> bytes:
    """The bytes sent (and signed): the event's JSON, or ``payload=<the JSON>`` form-encoded
    for a webhook that asked for it, as GitHub offers."""
    if claimed.form:
        return b"payload=" + quote_plus(claimed.body).encode("ascii")
    return claimed.body


def build_headers(claimed: Claimed, attempt_uuid: uuid.UUID, body: bytes) -> dict[str, str]:
    # The webhook's own headers first: validation keeps them off every name set below.
    return {
        **claimed.extra_headers,
        "Content-Type": FORM if claimed.form else JSON,
        "User-Agent": webhook_settings.user_agent,
        "X-Header": webhook_settings.x_header,
        "X-Webhook-Event": claimed.event_type,
        "X-Webhook-Delivery": str(attempt_uuid),
        **signature_headers(
            claimed.secrets,
            claimed.msg_id,
            int(time.time()),
            body,
            schemes=claimed.schemes,
            event_type=claimed.event_type,
            signing_key=claimed.signing_key,
        ),
    }


# An attempt id's version and variant bits (RFC 9562: version 4, variant 10).
_V4_CLEAR = ~((0xF << 76) | (0x3 << 62))
_V4_SET = (0x4 << 76) | (0x2 << 62)
# Its own generator, seeded from the kernel: the ``random`` module's is the host's, and
# anything may seed that (Hypothesis does, for every example it runs) and repeat ids.
# Seeded again in a forked child (qcluster workers fork), or they would share ids.
_ids = random.Random()
os.register_at_fork(after_in_child=_ids.seed)


def attempt_id() -> uuid.UUID:
    """A new random attempt id (``X-Webhook-Delivery``, the log row's ``uuid``).

    ``uuid4()`` asks the kernel for each one, a system call that gives up the GIL to
    the other sending threads and must then win it back. An attempt id is no secret,
    only unique: 122 bits from a generator seeded from the kernel need no system call."""
    return uuid.UUID(int=(_ids.getrandbits(128) & _V4_CLEAR) | _V4_SET)


def send(claimed: Claimed) -> Attempt:
    """Make one attempt (in a sending thread: no database here)."""
    if claimed.send_at is not None:  # the endpoint's rate limit: at most a second away
        time.sleep(max(0.0, (claimed.send_at - timezone.now()).total_seconds()))
    attempt_uuid = attempt_id()
    headers: dict[str, str] = {}
    try:
        body = wire_body(claimed)
        headers = build_headers(claimed, attempt_uuid, body)
        response = transport.post(claimed.url, body, headers, verify_tls=claimed.verify_tls)
    except Exception as exc:
        # Recorded as this delivery's failure: raising would lose the attempt.
        logger.exception("Delivery %s could not be attempted", claimed.id)
        response = transport.Response(error=f"could not send: {exc!r}")
    return Attempt(claimed, attempt_uuid, headers, response, timezone.now())


# A request still unanswered after this many seconds makes its endpoint slow, until one
# of its requests is answered sooner; one answered sooner makes it prompt.
SLOW_AFTER = 0.5
# What this process knows of endpoints (shared by every run in it: a new task knows it).
# An endpoint in neither set is sent one request at a time until it shows which it is.
_slow_endpoints: set[int] = set()
_prompt_endpoints: set[int] = set()


@dataclass(slots=True)
class Pace:
    """How a prompt endpoint's requests go, averaged: the sending thread's CPU per
    request, and how long it waits for an answer beyond that."""

    cpu: float
    wait: float

    WEIGHT = 0.2  # of each new request in the averages

    def add(self, cpu: float, wait: float) -> None:
        self.cpu += (cpu - self.cpu) * self.WEIGHT
        self.wait += (wait - self.wait) * self.WEIGHT

    @property
    def company(self) -> int:
        """Requests in flight that keep a worker busy while this endpoint answers
        (Little's law): one, and one more per request's worth of CPU an answer takes to
        come. A second request to an endpoint that answers before the first has used that
        much CPU only waits for the GIL, and every hand-off costs CPU on both sides."""
        return 1 + int(self.wait / max(self.cpu, 1e-6))


_paces: dict[int, Pace] = {}


def forget_endpoints() -> None:
    """Forget which endpoints answer promptly and which slowly (tests: ids are reused)."""
    _slow_endpoints.clear()
    _prompt_endpoints.clear()
    _paces.clear()


def _paced(endpoint: int, cpu: float, wall: float) -> None:
    wait = max(0.0, wall - cpu)
    pace = _paces.get(endpoint)
    if pace is None:
        _paces[endpoint] = Pace(cpu, wait)
    else:
        pace.add(cpu, wait)


def _known(endpoint: int, *, slow: bool) -> None:
    (_slow_endpoints if slow else _prompt_endpoints).add(endpoint)
    (_prompt_endpoints if slow else _slow_endpoints).discard(endpoint)


@dataclass(slots=True)
class Flight:
    """A request in flight, and whether it counts against the slow endpoints' share."""

    claimed: Claimed
    started: float  # time.monotonic()
    slow: bool


class Dispatcher:
    """Claimed deliveries, queued per endpoint, that the sending threads take for
    themselves: at most ``per_endpoint`` in flight to an endpoint, the endpoints in turn.

    Requests to endpoints that answer promptly have ``concurrency`` slots of their own;
    slow endpoints (one request unanswered after SLOW_AFTER) share as many more, so no
    set of hanging endpoints can take the whole worker: threads are started as requests
    need them, up to both shares. A slow endpoint gets at most a quarter of the slow
    share, and an endpoint not known yet one request at a time until its first answer
    (or SLOW_AFTER) says which it is. A prompt endpoint has no more in flight than keep
    the worker busy while it answers (:attr:`Pace.company`): one, for a receiver on the
    same machine or network. The coordinator calls
    :meth:`watch` on every turn to move requests that turned slow to the slow share.

    The sending threads never wait for the coordinator (which may be recording a group),
    and an answer that stops an endpoint (down, overloaded, gone) stops its queue before
    the next request to it: what was waiting is handed back to be released.
    """

    def __init__(self, per_endpoint: int, concurrency: int) -> None:
        self.per_endpoint = per_endpoint
        self.concurrency = concurrency
        self.slow_share = concurrency
        # No slow endpoint takes the slow share whole either.
        self.per_slow_endpoint = max(1, min(per_endpoint, concurrency // 4))
        self._queued: dict[int, deque[Claimed]] = {}
        self._sending: Counter[int] = Counter()
        self._flying: dict[int, Flight] = {}  # by delivery id
        self._slow_flying = 0
        self._finished: list[Attempt] = []
        self._group = FLUSH_SIZE  # finished attempts that make a group to record
        self._released: list[Claimed] = []
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # senders wait for deliveries
        self._news = threading.Condition(self._lock)  # the coordinator waits for outcomes

    @property
    def held(self) -> int:
        """Deliveries queued or in flight, not counting slow endpoints' (which are held
        only ``per_endpoint`` deep, see :mod:`webhooks_app.engine.claims`)."""
        with self._lock:
            return self._held()

    def _held(self) -> int:
        queued = sum(len(q) for e, q in self._queued.items() if e not in _slow_endpoints)
        return queued + len(self._flying) - self._slow_flying

    def holding(self) -> list[Claimed]:
        """Every delivery queued, in flight or sent and not collected yet (their claims
        must stay leased)."""
        with self._lock:
            queued = [c for q in self._queued.values() for c in q]
            flying = [flight.claimed for flight in self._flying.values()]
            sent = [attempt.claimed for attempt in self._finished]
            return queued + flying + sent + self._released

    @property
    def quiet(self) -> bool:
        """Nothing queued, nothing in flight, nothing finished or released uncollected."""
        with self._lock:
            return not (self._queued or self._flying or self._finished or self._released)

    @staticmethod
    def slow_endpoints() -> frozenset[int]:
        return frozenset(_slow_endpoints)

    def start(self) -> None:
        """Start the prompt share's threads; the slow share's start as they are needed."""
        with self._lock:
            for _ in range(self.concurrency):
                self._start_thread()

    def add(self, claimed: Sequence[Claimed]) -> None:
        with self._lock:
            for item in claimed:
                self._queued.setdefault(item.webhook_id, deque()).append(item)
            self._wake()

    def stop(self, endpoints: Iterable[int] | None = None) -> None:
        """Start nothing more for these endpoints (all, if None) until more is added."""
        with self._lock:
            for endpoint in list(self._queued) if endpoints is None else endpoints:
                self._released.extend(self._queued.pop(endpoint, ()))

    def watch(self) -> None:
        """Move requests unanswered after SLOW_AFTER to the slow share (their endpoints
        are slow from now on), freeing prompt slots for other endpoints."""
        turned = time.monotonic() - SLOW_AFTER
        with self._lock:
            for flight in self._flying.values():
                if not flight.slow and flight.started < turned:
                    flight.slow = True
                    self._slow_flying += 1
                    _known(flight.claimed.webhook_id, slow=True)
            self._wake()

    def collect(
        self, timeout: float, group: int = FLUSH_SIZE
    ) -> tuple[list[Attempt], list[Claimed]]:
        """Finished attempts and released deliveries; waits up to ``timeout`` for news
        the coordinator must act on at once (see :meth:`_pressing`). ``group``: how many
        more finished attempts make a group to record (what the coordinator holds
        already counts: a killed worker re-sends what it sent and had not recorded)."""
        with self._lock:
            self._group = max(1, group)
            if timeout > 0 and not self._pressing():
                self._news.wait(timeout)
            finished, self._finished = self._finished, []
            released, self._released = self._released, []
            return finished, released

    def close(self) -> None:
        """Stop every sending thread once its request is done, and wait for them."""
        with self._lock:
            self._closed = True
            self._work.notify_all()
            threads = list(self._threads)
        for thread in threads:
            thread.join()

    def _run_sender(self) -> None:
        """A sending thread's loop, until the dispatcher closes. (``send`` never raises.)"""
        while (claimed := self._next()) is not None:
            cpu = time.thread_time()
            attempt = send(claimed)
            cpu = time.thread_time() - cpu
            with self._lock:
                self._done(claimed, attempt, cpu)
            # No other sender to wake: this one takes whatever its answer made startable.

    def _done(self, claimed: Claimed, attempt: Attempt, cpu: float) -> None:
        flight = self._flying.pop(claimed.id)
        endpoint = claimed.webhook_id
        self._sending[endpoint] -= 1
        self._slow_flying -= flight.slow
        wall = time.monotonic() - flight.started
        _known(endpoint, slow=wall >= SLOW_AFTER)
        if claimed.send_at is None:  # a rate limit's wait is not the endpoint's
            _paced(endpoint, cpu, wall)
        self._finished.append(attempt)
        response = attempt.response
        if stops_endpoint(response.status, response.transport_failure):
            # Not one more request to it before the outcome is recorded.
            self._released.extend(self._queued.pop(endpoint, ()))
        if self._pressing():
            self._news.notify()

    def _pressing(self) -> bool:
        """Whether the coordinator must act now: a group to record, deliveries to give
        back (an endpoint stopped), or nothing held but slow endpoints' (claim more).
        Otherwise it comes on its own within FLUSH_INTERVAL: a turn per answer cost a
        thread switch per delivery, more CPU than the rest of the turn."""
        return len(self._finished) >= self._group or bool(self._released) or not self._held()

    def _next(self) -> Claimed | None:
        with self._lock:
            while not self._closed:
                claimed = self._startable()
                if claimed is not None:
                    return claimed
                self._work.wait()
            return None

    def _startable(self) -> Claimed | None:
        """The next delivery that may start now, its endpoint to the back of the turn."""
        for endpoint in list(self._queued):
            if not self._may_start(endpoint):
                continue
            waiting = self._queued.pop(endpoint)
            claimed = waiting.popleft()
            if waiting:  # to the back: the endpoints take turns
                self._queued[endpoint] = waiting
            slow = endpoint in _slow_endpoints
            self._sending[endpoint] += 1
            self._flying[claimed.id] = Flight(claimed, time.monotonic(), slow)
            self._slow_flying += slow
            return claimed
        return None

    def _may_start(self, endpoint: int) -> bool:
        if self._sending[endpoint] >= self._limit(endpoint):
            return False
        if endpoint in _slow_endpoints:
            return self._slow_flying < self.slow_share
        return len(self._flying) - self._slow_flying < self.concurrency

    def _limit(self, endpoint: int) -> int:
        """Requests one endpoint may have in flight from this worker."""
        if endpoint in _slow_endpoints:
            return self.per_slow_endpoint
        if endpoint in _prompt_endpoints:
            pace = _paces.get(endpoint)
            return self.per_endpoint if pace is None else min(self.per_endpoint, pace.company)
        return 1  # not known yet: one at a time

    def _wake(self) -> None:
        """Wake (or start) as many senders as can start something now, no more."""
        startable = self._count_startable()
        free = len(self._threads) - len(self._flying)  # waiting, or about to look
        missing = min(startable - free, self._max_threads() - len(self._threads))
        for _ in range(missing):
            self._start_thread()
        self._work.notify(startable)

    def _count_startable(self) -> int:
        prompt = self.concurrency - (len(self._flying) - self._slow_flying)
        slow = self.slow_share - self._slow_flying
        count = 0
        for endpoint, waiting in self._queued.items():
            room = min(len(waiting), max(0, self._limit(endpoint) - self._sending[endpoint]))
            if endpoint in _slow_endpoints:
                take = min(room, max(0, slow))
                slow -= take
            else:
                take = min(room, max(0, prompt))
                prompt -= take
            count += take
        return count

    def _max_threads(self) -> int:
        # Both shares, and as many again for prompt requests that turned slow beyond the
        # slow share (they keep their threads until answered or timed out).
        return 2 * self.concurrency + self.slow_share

    def _start_thread(self) -> None:
        thread = threading.Thread(
            target=self._run_sender, name=f"webhooks-send-{len(self._threads)}", daemon=True
        )
        self._threads.append(thread)
        thread.start()


class Courier:
    """One run of the worker loop; see the module docstring.

    The coordinator (the calling thread) claims into a :class:`Dispatcher` and records
    what it hands back; the dispatcher's sending threads take from it. Deliveries of an
    endpoint that gets paused or disabled meanwhile, and everything still queued when the
    time limit passes, are released unsent in the next transaction. Every RENEW_EVERY
    seconds it renews the leases of what it holds and gives up the endpoints it is done
    with; leaving, it gives up every endpoint (:mod:`webhooks_app.engine.claims`).
    """

    def __init__(
        self, *, time_limit: float | None = None, now: datetime | None = None, task: bool = False
    ) -> None:
        limit = webhook_settings.TASK_TIME_LIMIT if time_limit is None else time_limit
        self.deadline = time.monotonic() + limit
        self.fixed_now = now  # tests claim "as if at" a later time
        # A delivery task covers new commits while it runs (see webhooks_app.engine.queue),
        # lingers when idle, asks for help with a backlog and hands over at its limit.
        self.task = task
        self.linger = queue.LINGER if task else 0.0
        self.promise: datetime | None = None  # the coverage this task last promised
        self.handed_over = False
        self.last_busy = time.monotonic()
        self.concurrency = webhook_settings.CONCURRENCY
        # What it may hold (sending and queued): room for every sending thread, and for
        # one endpoint's whole hold.
        self.capacity = max(4 * self.concurrency, endpoint_hold())
        self.policy = RetryPolicy.from_settings()
        self.dispatcher = Dispatcher(webhook_settings.ENDPOINT_CONCURRENCY, self.concurrency)
        self.token = uuid.uuid4()  # this run's claims and endpoint leases
        self.leased: set[int] = set()
        self.renewed = time.monotonic()
        self.past_deadline = False
        self.finished: list[Attempt] = []
        self.releasing: list[Claimed] = []
        self.oldest_finished = 0.0
        self.last_claim = float("-inf")
        self.asked_for_help = float("-inf")
        self.attempted = 0

    def run(self) -> int:
        """Claim, send and record until nothing is due (or the time limit passes), and
        return how many attempts were made."""
        if self.task:
            promise = self.promise = timezone.now() + timedelta(seconds=self.linger)
            self._reconnecting(lambda: queue.task_started(promise))
        self.dispatcher.start()
        try:
            while self._go_on():
                pass
        finally:
            self.dispatcher.close()
            if self.leased:
                self._reconnecting(self._give_up_endpoints)
        return self.attempted

    def _go_on(self) -> bool:
        """One turn of the loop; False when the run is over."""
        self.dispatcher.watch()
        self._renew_leases()
        self._collect(timeout=0)
        took = self._step()
        now = time.monotonic()
        if took or self.finished or self.releasing or not self.dispatcher.quiet:
            self.last_busy = now
            if self.task:
                self._keep_covering()
            self._collect(timeout=self._wait_time())
            return True
        if not self.task or now >= self.deadline:
            return False
        if self.promise is None:  # uncovered, and the last claim found nothing
            return False
        if now - self.last_busy < self.linger:
            self._keep_covering()
            time.sleep(POLL_INTERVAL)
            return True
        # Leaving: uncover first, then claim once more (the next turn), so a commit made
        # meanwhile is either claimed here or finds itself uncovered and enqueues a task.
        promise, self.promise = self.promise, None
        if promise is not None:
            self._reconnecting(lambda: queue.uncover(promise))
        return True

    # -- the loop's steps ------------------------------------------------------------

    def _step(self) -> bool:
        """Record finished attempts, release what will not be sent, and claim more, in
        one transaction, when any is due. Returns whether anything was claimed.

        A claim is made at once when the worker holds nothing, along with every flush
        once half its room is free, and otherwise at most every FLUSH_INTERVAL (a busy
        worker looking for new work).
        """
        now = time.monotonic()
        if now >= self.deadline:  # start nothing more; give back what waits
            self._hand_over()
            self.dispatcher.stop()
            self._collect(timeout=0)
            self._give_up_idle_endpoints_soon()
        held = self.dispatcher.held
        idle = not held
        flush = bool(self.finished) and (
            idle or len(self.finished) >= FLUSH_SIZE or now - self.oldest_finished >= FLUSH_INTERVAL
        )
        room = self.capacity - held
        claim = (
            now < self.deadline
            and room > 0
            and (
                idle
                or (flush and room >= self.capacity // 2)
                or now - self.last_claim >= FLUSH_INTERVAL
            )
        )
        if claim and not flush and connection.vendor == "sqlite":
            # A claim is a write transaction, and SQLite has one writer: look first.
            self.last_claim = now
            claim = self._has_due_work()
        if not (flush or claim or self.releasing):
            return False
        group, wanted = (self.finished if flush else []), (room if claim else 0)
        releasing, self.releasing = self.releasing, []
        recorded, taken = self._reconnecting(lambda: self._write(group, releasing, wanted))
        if flush:
            self.finished = []
            self.attempted += len(group)
            self.dispatcher.stop(recorded.stopped)
        if claim:
            self.last_claim = now
            if len(taken) == room:
                self._ask_for_help()  # a full claim: there is a backlog for another worker
        self.dispatcher.add(taken)
        return bool(taken)

    def _write(
        self, group: list[Attempt], releasing: list[Claimed], wanted: int
    ) -> tuple[Recorded, list[Claimed]]:
        # One transaction on PostgreSQL, where locks are per row: a commit fewer. SQLite
        # has one writer for the whole file, and the host waits for it: there the claim
        # is a transaction of its own after the record, so neither holds the lock long.
        # The claim must be one transaction even so: it reads the endpoints' in-flight
        # counts and rate schedules, then writes them, and two workers reading before
        # either writes would both send in the same slots.
        together = connection.vendor != "sqlite"
        taken: list[Claimed] = []
        with transaction.atomic():
            recorded = record(group, self.policy, self._now()) if group else Recorded()
            claims.release(releasing)
            if wanted and together:
                taken = self._claim(wanted)
        if wanted and not together:
            with transaction.atomic():
                taken = self._claim(wanted)
        return recorded, taken

    def _claim(self, wanted: int) -> list[Claimed]:
        claimed = claims.claim(
            wanted,
            self._now(),
            token=self.token,
            slow=self.dispatcher.slow_endpoints(),
            leased=self.leased,
        )
        return self._hold_refused(claimed)

    def _hold_refused(self, claimed: list[Claimed]) -> list[Claimed]:
        """Deliveries queued before their project lost the right to webhooks (a plan
        downgraded since) are held, not sent, and looked at again every PLAN_RECHECK. The
        project is the webhook's, or for an organisation's or installation-wide webhook
        the event's (as at emit time, when the event's projects pass the gate)."""
        if webhook_settings.ACTIVATION_RULE is None or not claimed:
            return claimed
        subjects = {c.id: _gated_project(c) for c in claimed}
        allowed = set(project_gate.allowed([p for p in set(subjects.values()) if p is not None]))
        refused = [c for c in claimed if subjects[c.id] not in (None, *allowed)]
        if not refused:
            return claimed
        until = self._now() + timedelta(seconds=PLAN_RECHECK)
        self._reconnecting(lambda: claims.hold(refused, until))
        held = {c.id for c in refused}
        return [c for c in claimed if c.id not in held]

    def _renew_leases(self) -> None:
        """Keep what this run holds, and give up the endpoints it is done with."""
        if time.monotonic() - self.renewed < claims.RENEW_EVERY:
            return
        self.renewed = time.monotonic()
        holding = [*self.dispatcher.holding(), *self.releasing]
        holding += [attempt.claimed for attempt in self.finished]
        keep = {c.webhook_id for c in holding}
        drop = self.leased - keep
        if not (holding or drop):
            return
        ids, kept = [c.id for c in holding], keep & self.leased
        self._reconnecting(lambda: self._renew(ids, kept, drop))
        self.leased &= keep

    def _give_up_endpoints(self) -> None:
        self._renew((), (), self.leased)
        self.leased.clear()

    def _renew(self, ids: Collection[int], keep: Collection[int], drop: Collection[int]) -> None:
        with transaction.atomic():  # one commit (SQLite writes one transaction at a time)
            claims.renew(self.token, ids, keep, drop, self._now())

    def _collect(self, timeout: float) -> None:
        finished, released = self.dispatcher.collect(timeout, FLUSH_SIZE - len(self.finished))
        if finished and not self.finished:
            self.oldest_finished = time.monotonic()
        self.finished.extend(finished)
        self.releasing.extend(released)

    def _wait_time(self) -> float:
        """Until the next flush or claim may be due."""
        if self.finished:
            return max(0.0, self.oldest_finished + FLUSH_INTERVAL - time.monotonic())
        return FLUSH_INTERVAL

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
        if self.task and now - self.asked_for_help >= 1.0:
            self.asked_for_help = now
            self._reconnecting(queue.ask_for_help)

    def _hand_over(self) -> None:
        """At the time limit, a successor task takes over new work at once, while this
        one waits for its last requests: one that hangs may take TIMEOUT, and new
        commits must not wait for it."""
        if self.task and not self.handed_over:
            self.handed_over = True
            self.promise = None
            self._reconnecting(queue.hand_over)

    def _give_up_idle_endpoints_soon(self) -> None:
        """Past the time limit, the next turn (once what waited is released) gives up
        every endpoint with nothing in flight: its successor must not wait for this
        run's last, perhaps hanging, requests to send to the others."""
        if not self.past_deadline:
            self.past_deadline = True
            self.renewed = float("-inf")

    def _keep_covering(self) -> None:
        """Promise to claim again for the next LINGER seconds, renewed halfway (until
        the task has handed over: its successor covers from then on)."""
        if self.handed_over:
            return
        now = timezone.now()
        if self.promise is None or (self.promise - now).total_seconds() < self.linger / 2:
            promise = self.promise = now + timedelta(seconds=self.linger)
            self._reconnecting(lambda: queue.cover(promise))

    def _has_due_work(self) -> bool:
        return claims.has_due_work(self._now(), self.token)

    def _now(self) -> datetime:
        return self.fixed_now or timezone.now()


def _gated_project(claimed: Claimed) -> Any:
    """The project whose plan decides a delivery: its webhook's, or for an
    organisation's or installation-wide webhook its event's."""
    if claimed.project_id is not None:
        return claimed.project_id
    return claimed.event_project_id


def drain(
    *, time_limit: float | None = None, now: datetime | None = None, task: bool = False
) -> int:
    """Claim, send and record until nothing is due or the time limit is reached, and
    return how many attempts were made.

    ``now`` claims as if at that time (tests). ``task``: run as a delivery task, which
    covers new commits while it runs (see :mod:`webhooks_app.engine.queue`).
    """
    return Courier(time_limit=time_limit, now=now, task=task).run()


def send_claimed(pk: int, token: uuid.UUID) -> Judged | None:
    """Send one delivery this process claimed with ``token`` here and now (a test ping,
    a "redeliver now"), record it, and return the attempt with its verdict; None if that
    claim no longer holds it. Claiming in the statement that made the delivery due means
    no worker can take it in between."""
    claimed = claims.held(pk, token, timezone.now())
    if claimed is None:
        return None
    attempt = send(claimed)
    with transaction.atomic():
        recorded = record([attempt], RetryPolicy.from_settings())
    return recorded.judged[0] if recorded.judged else None
