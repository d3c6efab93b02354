"""Turning an event into pending deliveries, inside the caller's transaction.

The save path does one query when nobody is subscribed, and otherwise three (find
webhooks, insert the event, bulk-insert its deliveries) plus one conditional UPDATE that
says a delivery task is wanted: no HTTP, and no queue call until the transaction commits.
Rolled back, the rows vanish with it and nothing is sent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Model, Q
from django.utils import timezone

from webhooks_app.conf import webhook_settings
from webhooks_app.events import catalog
from webhooks_app.models import Delivery, DeliveryTaskMarker, Event, Trigger, Webhook

logger = logging.getLogger(__name__)

DRAIN_TASK = "webhooks_app.tasks.deliver_pending"

Data = Mapping[str, Any] | Callable[[], Mapping[str, Any]]


def render_body(
    event_type: str, data: Mapping[str, Any], occurred_at: datetime, changes: Mapping | None
) -> str:
    envelope: dict[str, Any] = {
        "event": event_type,
        "timestamp": occurred_at.astimezone(UTC)
        .isoformat(timespec="seconds")
        .replace("+00:00", "Z"),
        "data": data,
    }
    if changes is not None:
        envelope["changes"] = changes
    return json.dumps(envelope, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))


def _project_ids(project: Any) -> list:
    if project is None:
        return []
    if isinstance(project, (list, tuple, set)):
        return [pk for p in project for pk in _project_ids(p)]
    return [project.pk if isinstance(project, Model) else project]


def emit(
    event_type: str,
    data: Data,
    *,
    project: Any = None,
    changes: Mapping | None = None,
    occurred_at: datetime | None = None,
) -> Event | None:
    """Record ``event_type`` for every subscribed webhook of ``project``.

    ``data`` is the resource (or a callable returning it, called only when someone is
    subscribed). ``project`` is a project instance or pk, several of them (a task moved
    between projects notifies both), or None for organisation-wide webhooks only.
    Returns the stored Event, or None when no webhook is subscribed.
    """
    catalog.get(event_type)  # raises UnknownEventError for a typo, before anything is written
    project_ids = _project_ids(project)
    webhook_ids = list(
        Webhook.objects.subscribed_to(event_type, project_ids).values_list("pk", flat=True)
    )
    if not webhook_ids:
        return None
    payload = data() if callable(data) else data
    now = timezone.now()
    body = render_body(event_type, payload, occurred_at or now, changes)
    owns_transaction = not connection.in_atomic_block
    # savepoint=False: an error here must fail the caller's transaction, not leave the
    # host's change committed without its deliveries.
    with transaction.atomic(savepoint=False):
        event = Event.objects.create(
            event_type=event_type,
            project_id=project_ids[0] if len(project_ids) == 1 else None,
            body=body,
            created_at=now,
        )
        Delivery.objects.bulk_create(
            [
                Delivery(webhook_id=pk, event=event, next_attempt_at=now, created_at=now)
                for pk in webhook_ids
            ]
        )
        request_delivery(short_transaction=owns_transaction)
        _on_commit_send_emitted(event, len(webhook_ids))
    return event


def emit_for_instance(
    instance: Model, event_type: str, *, changes: Mapping | None = None, project: Any = None
) -> Event | None:
    """Emit ``event_type`` for a registered model instance, using its registration's
    serializer and project. For domain events raised explicitly from host code."""
    from webhooks_app.registry import registry

    return registry.get(type(instance)).emit(instance, event_type, changes=changes, project=project)


def send_test(webhook: Webhook) -> Delivery:
    """Send a ``ping`` to one webhook now, in this process, and return its delivery.

    Works on a disabled webhook too: checking an endpoint before re-enabling it is the
    point of a test.
    """
    from webhooks_app.delivery import new_claim, send_claimed

    now = timezone.now()
    token, lease_until = new_claim(now)
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


def request_delivery(*, short_transaction: bool = False) -> None:
    """Ask the queue for a delivery task once the current transaction commits.

    However many events one transaction emits, it enqueues at most one task: the task
    drains every due delivery, not just this transaction's. ``short_transaction`` says
    the caller opened the transaction just for its own writes (``emit`` in autocommit
    mode): the marker is then set inside it, which saves a commit of its own.
    """
    from django_q.conf import Conf

    if connection.in_atomic_block and any(
        item[1] in (_enqueue_drain, _enqueue_task) for item in connection.run_on_commit
    ):
        return
    if short_transaction and not Conf.SYNC:
        # Taken inside the transaction, the marker row stays locked until it commits,
        # so a task that starts meanwhile waits to clear it and then sees these rows.
        # Not in a host's own transaction: there the lock could be held for long, and
        # every other transaction emitting events would wait on it.
        if _take_marker():
            transaction.on_commit(_enqueue_task)
        return
    transaction.on_commit(_enqueue_drain)


def _enqueue_drain() -> None:
    enqueue_drain()


_brokers: dict[str | None, Any] = {}


def _broker() -> Any:
    """One broker per process: django-q2 builds a new one (for Redis, a new client and
    TCP connection) on every ``async_task`` otherwise."""
    from django_q.brokers import get_broker

    name = webhook_settings.Q_CLUSTER_NAME
    if name not in _brokers:
        _brokers[name] = get_broker(name)
    return _brokers[name]


# A marker older than this is ignored: its task was lost by the broker, and the next
# commit enqueues a new one rather than wait for the sweep.
MARKER_STALE_AFTER = timedelta(seconds=30)


def _take_marker() -> bool:
    """Mark a delivery task as waiting; False if one already is.

    One conditional UPDATE, so of concurrent callers exactly one wins. (The row is
    created by migrate; see schedule.ensure_sweep_schedule.)
    """
    now = timezone.now()
    stale = now - MARKER_STALE_AFTER
    return bool(
        DeliveryTaskMarker.objects.filter(
            Q(waiting_since__isnull=True) | Q(waiting_since__lt=stale), pk=1
        ).update(waiting_since=now)
    )


def enqueue_drain() -> None:
    """Enqueue a delivery task, unless one is already waiting in the queue.

    A waiting task has not started, so it will see everything committed before now:
    a second one would find nothing left to do. This keeps a burst of commits from
    flooding the queue with empty tasks.
    """
    from django_q.conf import Conf

    try:
        needed = Conf.SYNC or _take_marker()
    except Exception:
        # Runs after the host's commit: an error here must not fail its request.
        logger.exception("Could not request webhook delivery; the sweep will send it.")
        return
    if needed:
        _enqueue_task()


def _enqueue_task() -> None:
    from django_q.conf import Conf
    from django_q.tasks import async_task

    options: dict[str, Any] = {"task_name": "webhooks: deliver pending", "save": False}
    if webhook_settings.Q_CLUSTER_NAME:
        options["cluster"] = webhook_settings.Q_CLUSTER_NAME
    try:
        if Conf.SYNC:
            async_task(DRAIN_TASK, q_options=options)
            return
        # Inside an atomic block django-q2's ORM broker leaves this connection open;
        # outside one it closes it (with CONN_MAX_AGE=0), and the host's next query
        # pays for a new connection.
        with transaction.atomic(using=Conf.ORM) if Conf.ORM else nullcontext():
            async_task(DRAIN_TASK, q_options={**options, "broker": _broker()})
    except Exception:
        # The deliveries are committed; the periodic sweep sends them if the broker
        # is unreachable now. Failing the host's request would lose nothing but help no one.
        logger.exception("Could not enqueue webhook delivery; the sweep will send it.")


def task_started() -> None:
    """Called first by every delivery task: from now on, commits need a new task."""
    DeliveryTaskMarker.objects.filter(pk=1).update(waiting_since=None)


def _on_commit_send_emitted(event: Event, count: int) -> None:
    from webhooks_app.signals import event_emitted

    if event_emitted.has_listeners(Event):
        transaction.on_commit(
            lambda: event_emitted.send(sender=Event, event=event, deliveries=count)
        )
