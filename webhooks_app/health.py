"""Is delivery keeping up? A report for monitors and operators.

* the age of the oldest delivery that is due and could be sent now (its webhook active
  and not paused): when workers are alive this stays within seconds, or a minute when a
  kick was lost and the sweep had to find it; past ``STALL_AFTER`` seconds the report
  says the workers are stalled;
* the backlog per endpoint: due, waiting for a retry, held while disabled;
* failing and disabled endpoints;
* when an attempt was last recorded (workers record every few hundred milliseconds while
  they have work).

``manage.py webhooks_health`` prints it and exits 1 when stalled; :func:`health_view`
serves it as JSON (status 503 when stalled) to staff, or to a monitor presenting
``WEBHOOKS["HEALTH_TOKEN"]``.
"""

from __future__ import annotations

import hmac
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Max, Min, Q
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from webhooks_app.conf import webhook_settings
from webhooks_app.models import Delivery, DeliveryLog, Webhook, WebhookStatus


@dataclass
class Backlog:
    webhook: str  # the webhook's id (uuid)
    name: str
    due: int
    waiting_for_retry: int
    held: int  # pending while the webhook is disabled
    oldest_due: datetime | None
    paused_until: datetime | None
    consecutive_failures: int
    status: str


@dataclass
class Report:
    checked_at: datetime
    stall_after: float
    oldest_due_age: float | None  # seconds
    last_attempt_at: datetime | None
    backlog: list[Backlog] = field(default_factory=list)
    failing: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)

    @property
    def stalled(self) -> bool:
        return self.oldest_due_age is not None and self.oldest_due_age > self.stall_after

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["stalled"] = self.stalled
        return data


def report(now: datetime | None = None, *, stall_after: float | None = None) -> Report:
    now = now or timezone.now()
    sendable = Q(webhook__paused_until__isnull=True) | Q(webhook__paused_until__lte=now)
    oldest = Delivery.objects.filter(
        sendable,
        status=Delivery.Status.PENDING,
        next_attempt_at__lte=now,
        webhook__status=WebhookStatus.ACTIVE,
    ).aggregate(oldest=Min("next_attempt_at"))["oldest"]
    return Report(
        checked_at=now,
        stall_after=float(webhook_settings.STALL_AFTER if stall_after is None else stall_after),
        oldest_due_age=None if oldest is None else (now - oldest).total_seconds(),
        last_attempt_at=DeliveryLog.objects.aggregate(last=Max("created_at"))["last"],
        backlog=_backlog(now),
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


def _backlog(now: datetime) -> list[Backlog]:
    due = Q(next_attempt_at__lte=now)
    rows = (
        Delivery.objects.filter(status=Delivery.Status.PENDING)
        .values("webhook")
        .annotate(
            due=Count("pk", filter=due),
            later=Count("pk", filter=~due),
            oldest=Min("next_attempt_at", filter=due),
        )
        .order_by()
    )
    counts = {row["webhook"]: row for row in rows}
    webhooks = Webhook.objects.filter(pk__in=counts).order_by("pk")
    result = []
    for webhook in webhooks:
        row = counts[webhook.pk]
        pending = row["due"] + row["later"]
        result.append(
            Backlog(
                webhook=str(webhook.uuid),
                name=str(webhook),
                due=row["due"] if webhook.is_active else 0,
                waiting_for_retry=row["later"] if webhook.is_active else 0,
                held=0 if webhook.is_active else pending,
                oldest_due=row["oldest"],
                paused_until=webhook.paused_until,
                consecutive_failures=webhook.consecutive_failures,
                status=webhook.status,
            )
        )
    return result


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
