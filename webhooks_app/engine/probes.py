"""The retries a webhook disabled after failures still makes.

Two seeds' rules meet here. iceScrum disables a webhook whose requests fail
``FAILURE_THRESHOLD`` (5) times in a row; AgileTune retries a delivery 5 times, the last
12 hours after the 4th. With one event and a dead endpoint the 5th failure (the 4th
retry, at 2 h) disables the webhook before the 12 h retry. So the retry that failure
scheduled is still made, once, as a probe: the webhook stays disabled (nothing new is
sent, new events are held), and only that delivery is tried, by the periodic sweep.
If it fails with a retry left, the next one is made the same way; if it succeeds, the
delivery is done and the webhook still waits for someone to enable it (which sends
what was held).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from webhooks_app.engine.claims import new_claim
from webhooks_app.engine.delivery import send_claimed
from webhooks_app.models import Delivery, Trigger, Webhook, WebhookStatus

# Probes one sweep makes at most: each is a request made in the sweep's own thread.
PER_SWEEP = 20


def send_due(now: datetime | None = None) -> int:
    """Make the probes that are due; returns how many were sent."""
    now = now or timezone.now()
    due = (
        Webhook.objects.filter(status=WebhookStatus.AUTO_DISABLED, probe_at__lte=now)
        .order_by("probe_at")
        .values_list("pk", flat=True)[:PER_SWEEP]
    )
    return sum(_probe(webhook_id, now) for webhook_id in list(due))


def _probe(webhook_id: int, now: datetime) -> int:
    token, lease_until = new_claim(now)
    with transaction.atomic():
        # Several sweeps may run at once: the one whose update clears the time probes.
        if not _due(webhook_id, now).update(probe_at=None):
            return 0
        pk = _retry_due(webhook_id, now)
        # Claimed as it is chosen, so no worker can send it too.
        if pk is None or not _unclaimed(pk, now).update(
            claim_token=token, next_attempt_at=lease_until
        ):
            return 0
    judged = send_claimed(pk, token)
    if judged is not None and judged.verdict.retry_at is not None:
        _next_probe(webhook_id, judged.verdict.retry_at)
    return 1


def _due(webhook_id: int, now: datetime) -> QuerySet[Webhook]:
    return Webhook.objects.filter(
        pk=webhook_id, status=WebhookStatus.AUTO_DISABLED, probe_at__lte=now
    )


def _retry_due(webhook_id: int, now: datetime) -> int | None:
    """The webhook's earliest scheduled retry that is due: the failing delivery's."""
    return (
        Delivery.objects.filter(
            webhook_id=webhook_id,
            status=Delivery.Status.PENDING,
            trigger=Trigger.RETRY,
            next_attempt_at__lte=now,
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)
        .first()
    )


def _unclaimed(pk: int, now: datetime) -> QuerySet[Delivery]:
    not_in_flight = Q(claim_token__isnull=True) | Q(next_attempt_at__lte=now)
    return Delivery.objects.filter(not_in_flight, pk=pk, status=Delivery.Status.PENDING)


def _next_probe(webhook_id: int, at: datetime) -> None:
    Webhook.objects.filter(pk=webhook_id, status=WebhookStatus.AUTO_DISABLED).update(probe_at=at)
