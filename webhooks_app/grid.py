"""GitScrum's per-event grid: one endpoint URL per event of a project (or of an
organisation), set or cleared row by row, and every webhook that receives each event
(families, '*', the organisation's and installation-wide webhooks included). The API and
the settings pages both show and change it here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q

from webhooks_app import operations
from webhooks_app.engine.routing import organization_ids, project_gate
from webhooks_app.events import PING, catalog, patterns_for
from webhooks_app.models import RECEIVING, Subscription, Webhook
from webhooks_app.scopes import Scope


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


def rows(scope: Scope) -> list[Row]:
    own: dict[str, list[Subscription]] = {}
    receiving: dict[str, list[Subscription]] = {}
    for sub in _subscriptions(scope):
        if scope.owns(sub.webhook):
            own.setdefault(sub.event_type, []).append(sub)
        if sub.webhook.status in RECEIVING:
            receiving.setdefault(sub.event_type, []).append(sub)
    # A project the activation rule refuses gets nothing, its organisation's and
    # installation-wide webhooks included; so does a refused organisation.
    if not _allowed(scope):
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


def set_url(scope: Scope, event: str, url: str) -> Change:
    """Send ``event`` to ``url``: the scope's webhook with that URL, or a new one."""
    with transaction.atomic():
        clear(scope, event)
        webhook = scope.webhooks().filter(url=url).first()
        if webhook is None:
            webhook = operations.create_webhook(**scope.fields, url=url, events=[event])
            return Change(webhook, created=True)
        operations.subscribe(webhook, event)
        return Change(webhook, created=False)


def clear(scope: Scope, event: str) -> None:
    """No URL for ``event`` any more (its webhooks keep their other events)."""
    for sub in Subscription.objects.filter(
        webhook__in=scope.webhooks(), event_type=event
    ).select_related("webhook"):
        operations.unsubscribe(sub.webhook, event)


def _allowed(scope: Scope) -> bool:
    if scope.is_organization:
        return operations.plan_refusal(scope.owner) is None
    return bool(project_gate.allowed([scope.owner]))


def _subscriptions(scope: Scope) -> Any:
    """The subscriptions of the webhooks that receive this scope's events: its own, its
    organisation's (for a project) and installation-wide ones."""
    mine = Q(**{f"webhook__{scope.kind}": scope.owner}) | Q(
        webhook__project__isnull=True, webhook__organization__isnull=True
    )
    organization = None if scope.is_organization else _organization_of(scope.owner)
    if organization is not None:
        mine |= Q(webhook__organization_id=organization)
    return (
        Subscription.objects.filter(mine)
        .select_related("webhook")
        .order_by("webhook__created_at", "webhook_id")
    )


def _organization_of(project: Any) -> Any:
    """The pk of the project's organisation (None without organisations)."""
    found = organization_ids([project], [project.pk])
    return found[0] if found else None
