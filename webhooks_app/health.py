"""Is delivery keeping up? A report for monitors and operators.

It tells work that is due and being worked from work that is due and that nobody works:

* an endpoint is *frozen* when a delivery to it has been due for ``STALL_AFTER`` seconds
  and no live worker holds the endpoint: it is not leased, or its lease ran out (a claim
  left by a dead worker counts as due from its last renewal). A backlog that a live
  worker is sending is not frozen, however long it is;
* the queue is *frozen* when a delivery task was asked for ``STALL_AFTER`` seconds ago
  and none has started since (django-q2's cluster takes no tasks; every worker's
  watchdog still delivers, see :mod:`webhooks_app.engine.watchdog`, but the cluster needs a
  restart);
* the runner cannot take a task now (its broker does not answer, see
  :meth:`webhooks_app.runners.Runner.health_problem`);
* the backlog per endpoint: due, in flight, waiting for a retry, held while disabled;
  failing and disabled endpoints; when an attempt was last recorded.

The settings pages ask :func:`waits` the same questions about one project's webhooks,
to say in words why its deliveries wait.

``manage.py webhooks_health`` prints it and exits 1 when any of the three holds;
:func:`health_view` serves it as JSON (status 503 then) to staff, or to a monitor
presenting ``WEBHOOKS["HEALTH_TOKEN"]``.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Max, Min, Q
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from webhooks_app.conf import webhook_settings
from webhooks_app.engine.claims import WORKER_LEASE
from webhooks_app.models import Delivery, DeliveryLog, DeliveryTaskMarker, Webhook, WebhookStatus
from webhooks_app.runners import current_runner


@dataclass
class Backlog:
    webhook: str  # the webhook's id (uuid)
    name: str
    due: int  # due now and not in flight
    in_flight: int  # claimed by a worker whose lease holds
    waiting_for_retry: int
    held: int  # pending while the webhook is disabled
    waiting_since: datetime | None  # the oldest due delivery of an active webhook, paused or not
    oldest_due: datetime | None
    unworked_since: datetime | None  # due since then with no live worker on it
    worked: bool  # a live worker leases the endpoint
    frozen: bool
    paused_until: datetime | None
    consecutive_failures: int
    status: str


@dataclass
class Report:
    checked_at: datetime
    stall_after: float
    oldest_due_age: float | None  # seconds, the oldest sendable due delivery
    oldest_unworked_age: float | None  # seconds, the same among those nobody works
    queue_waiting_since: datetime | None  # a delivery task asked for, none started since
    last_attempt_at: datetime | None
    runner: str = ""  # WEBHOOKS["RUNNER"]
    runner_start: str = ""  # the command that starts its workers
    runner_problem: str | None = None  # why it cannot take a task now
    backlog: list[Backlog] = field(default_factory=list)
    failing: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)

    @property
    def frozen_endpoints(self) -> list[str]:
        return [row.webhook for row in self.backlog if row.frozen]

    @property
    def queue_frozen(self) -> bool:
        waiting = self.queue_waiting_since
        return (
            waiting is not None and (self.checked_at - waiting).total_seconds() > self.stall_after
        )

    @property
    def stalled(self) -> bool:
        return bool(self.frozen_endpoints) or self.queue_frozen or bool(self.runner_problem)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(
            stalled=self.stalled,
            frozen_endpoints=self.frozen_endpoints,
            queue_frozen=self.queue_frozen,
        )
        return data


def report(now: datetime | None = None, *, stall_after: float | None = None) -> Report:
    now = now or timezone.now()
    limit = _limit(stall_after)
    backlog = _backlog(now, limit)
    runner = current_runner()
    sendable = [
        row for row in backlog if row.status == WebhookStatus.ACTIVE and _unpaused(row, now)
    ]
    return Report(
        checked_at=now,
        stall_after=limit,
        oldest_due_age=_age(now, [row.oldest_due for row in sendable]),
        oldest_unworked_age=_age(now, [row.unworked_since for row in sendable]),
        queue_waiting_since=_queue_waiting_since(),
        last_attempt_at=DeliveryLog.objects.aggregate(last=Max("created_at"))["last"],
        runner=runner.name,
        runner_start=runner.start_command,
        runner_problem=runner.health_problem(),
        backlog=backlog,
        failing=[
            str(pk)
            for pk in Webhook.objects.active()
            .filter(consecutive_failures__gt=0)
            .order_by("pk")
            .values_list("uuid", flat=True)
        ],
        disabled=[
            str(pk)
            for pk in Webhook.objects.exclude(status=WebhookStatus.ACTIVE)
            .order_by("pk")
            .values_list("uuid", flat=True)
        ],
    )


# Why deliveries due for longer than STALL_AFTER wait, in the settings pages' words.
NO_WORKER = "no-worker"
ENDPOINT_FAILING = "endpoint-failing"
BACKLOG = "backlog"


@dataclass(frozen=True)
class Wait:
    """An endpoint's pending work, and why its due deliveries wait, if they have waited
    longer than STALL_AFTER (``reason`` None: nothing waits that long)."""

    pending: int  # due, in flight or waiting for a retry
    held: int  # kept while the webhook is disabled
    due: int
    waiting_since: datetime | None
    reason: str | None


def waits(webhooks: Iterable[Webhook], now: datetime | None = None) -> dict[str, Wait]:
    """Per webhook (by uuid, as text) that has pending deliveries: the health report's
    answer for it alone. Due deliveries of an endpoint that answers errors wait for its
    retry (ENDPOINT_FAILING); due ones nobody sends wait for a worker (NO_WORKER: the
    endpoint is frozen, the queue takes no task, or the runner's broker is down); a
    worker sending a long backlog is BACKLOG. The runner is asked only when some wait."""
    now = now or timezone.now()
    limit = _limit(None)
    rows = _backlog(now, limit, webhooks=[hook.pk for hook in webhooks])
    stale = {row.webhook for row in rows if _waited(row, now, limit)}
    workerless = bool(stale) and _workerless(now, limit)
    return {
        row.webhook: Wait(
            pending=row.due + row.in_flight + row.waiting_for_retry,
            held=row.held,
            due=row.due,
            waiting_since=row.waiting_since,
            reason=_reason(row, now, workerless) if row.webhook in stale else None,
        )
        for row in rows
    }


def _waited(row: Backlog, now: datetime, limit: float) -> bool:
    since = row.waiting_since
    return since is not None and (now - since).total_seconds() > limit


def _workerless(now: datetime, limit: float) -> bool:
    waiting = _queue_waiting_since()
    if waiting is not None and (now - waiting).total_seconds() > limit:
        return True
    return bool(current_runner().health_problem())


def _reason(row: Backlog, now: datetime, workerless: bool) -> str:
    if not _unpaused(row, now):
        return ENDPOINT_FAILING
    if row.frozen or workerless:
        return NO_WORKER
    return ENDPOINT_FAILING if row.consecutive_failures else BACKLOG


def _limit(stall_after: float | None) -> float:
    return float(webhook_settings.STALL_AFTER if stall_after is None else stall_after)


def _queue_waiting_since() -> datetime | None:
    return (
        DeliveryTaskMarker.objects.filter(pk=1).values_list("task_waiting_since", flat=True).first()
    )


def _age(now: datetime, moments: list[datetime | None]) -> float | None:
    known = [moment for moment in moments if moment is not None]
    return (now - min(known)).total_seconds() if known else None


def _unpaused(row: Backlog, now: datetime) -> bool:
    return row.paused_until is None or row.paused_until <= now


def _backlog(
    now: datetime, stall_after: float, *, webhooks: list[int] | None = None
) -> list[Backlog]:
    due = Q(next_attempt_at__lte=now)
    claimed = Q(claim_token__isnull=False)
    pending = Delivery.objects.filter(status=Delivery.Status.PENDING)
    if webhooks is not None:
        pending = pending.filter(webhook__in=webhooks)
    rows = (
        pending.values("webhook")
        .annotate(
            due=Count("pk", filter=due),
            in_flight=Count("pk", filter=~due & claimed),
            later=Count("pk", filter=~due & ~claimed),
            oldest=Min("next_attempt_at", filter=due & ~claimed),
            # A claim whose lease ran out: due again since its worker last renewed it.
            abandoned=Min("next_attempt_at", filter=due & claimed),
        )
        .order_by()
    )
    counts = {row["webhook"]: row for row in rows}
    endpoints = Webhook.objects.filter(pk__in=counts).order_by("pk")
    return [
        _endpoint_backlog(webhook, counts[webhook.pk], now, stall_after) for webhook in endpoints
    ]


def _endpoint_backlog(
    webhook: Webhook, row: dict[str, Any], now: datetime, stall_after: float
) -> Backlog:
    active = webhook.is_active
    worked = webhook.worked_by is not None and (webhook.worked_until or now) > now
    abandoned = row["abandoned"] and row["abandoned"] - timedelta(seconds=WORKER_LEASE)
    oldest = min(filter(None, [row["oldest"], abandoned]), default=None)
    sendable = active and (webhook.paused_until is None or webhook.paused_until <= now)
    unworked = oldest if sendable and not worked else None
    pending = row["due"] + row["in_flight"] + row["later"]
    return Backlog(
        webhook=str(webhook.uuid),
        name=str(webhook),
        due=row["due"] if active else 0,
        in_flight=row["in_flight"] if active else 0,
        waiting_for_retry=row["later"] if active else 0,
        held=0 if active else pending,
        waiting_since=oldest if active else None,
        oldest_due=oldest if sendable else None,
        unworked_since=unworked,
        worked=worked,
        frozen=unworked is not None and (now - unworked).total_seconds() > stall_after,
        paused_until=webhook.paused_until,
        consecutive_failures=webhook.consecutive_failures,
        status=webhook.status,
    )


def health_view(request: HttpRequest) -> JsonResponse:
    """The report as JSON: 200 when delivery keeps up, 503 when it is stalled.

    For staff, or for a monitor sending ``Authorization: Bearer <HEALTH_TOKEN>``.
    """
    if not _allowed(request):
        return JsonResponse({"detail": "Staff, or the health token, only."}, status=403)
    current = report()
    return JsonResponse(current.as_json(), status=503 if current.stalled else 200)


def _allowed(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_active and user.is_staff:
        return True
    token = webhook_settings.HEALTH_TOKEN
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(token) and hmac.compare_digest(sent.encode(), str(token).encode())
