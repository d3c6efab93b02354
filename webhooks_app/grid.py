"""GitScrum's per-event grid: one endpoint URL per event of a project, set or cleared row
by row, and every webhook that receives each event (families, '*' and organisation-wide
webhooks included). The API and the settings pages both show and change it here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q

from webhooks_app import operations
from webhooks_app.engine.routing import project_gate
from webhooks_app.events import PING, catalog, patterns_for
from webhooks_app.models import RECEIVING, Subscription, Webhook


@dataclass
class Receiver:
    webhook: Webhook
    pattern: str  # the subscription that selects the event


@dataclass
class Row:
    event: str
    description: str
    category: str
    url: str | None  # the URL set for exactly this event, if any
    webhook: Any  # that webhook's uuid
    receivers: list[Receiver] = field(default_factory=list)


@dataclass
class Change:
    webhook: Webhook
    created: bool  # the URL was new: the webhook was made for it (show its secret once)


def is_row(event: str) -> bool:
    return event in catalog and event != PING


def rows(project: Any) -> list[Row]:
    own: dict[str, list[Subscription]] = {}
    receiving: dict[str, list[Subscription]] = {}
    for sub in _subscriptions(project):
        if sub.webhook.project_id is not None:
            own.setdefault(sub.event_type, []).append(sub)
        if sub.webhook.status in RECEIVING:
            receiving.setdefault(sub.event_type, []).append(sub)
    # A project the activation rule refuses gets nothing, organisation-wide included.
    if not project_gate.allowed([project]):
        receiving = {}
    result = []
    for event in catalog:
        exact = own.get(event.name, [])
        result.append(
            Row(
                event=event.name,
                description=event.description,
                category=event.category,
                url=exact[0].webhook.url if exact else None,
                webhook=exact[0].webhook.uuid if exact else None,
                receivers=[
                    Receiver(sub.webhook, pattern)
                    for pattern in patterns_for(event.name)
                    for sub in receiving.get(pattern, [])
                ],
            )
        )
    return result


def set_url(project: Any, event: str, url: str) -> Change:
    """Send ``event`` to ``url``: the project's webhook with that URL, or a new one."""
    with transaction.atomic():
        clear(project, event)
        webhook = Webhook.objects.filter(project=project, url=url).first()
        if webhook is None:
            webhook = operations.create_webhook(project=project, url=url, events=[event])
            return Change(webhook, created=True)
        operations.subscribe(webhook, event)
        return Change(webhook, created=False)


def clear(project: Any, event: str) -> None:
    """No URL for ``event`` any more (its webhooks keep their other events)."""
    for sub in Subscription.objects.filter(
        webhook__project=project, event_type=event
    ).select_related("webhook"):
        operations.unsubscribe(sub.webhook, event)


def _subscriptions(project: Any) -> Any:
    """The subscriptions of this project's webhooks and of organisation-wide ones."""
    mine = Q(webhook__project=project) | Q(webhook__project__isnull=True)
    return (
        Subscription.objects.filter(mine)
        .select_related("webhook")
        .order_by("webhook__created_at", "webhook_id")
    )
