"""Everything an operator does to webhooks and deliveries, in one place.

The admin, the REST API, the settings pages and host code all call these functions;
the models only hold state. The rules live here, once:

* the activation rule (``WEBHOOKS["ACTIVATION_RULE"]``, e.g. a plan gate) whenever a
  webhook would become active in a project or an organisation: created active, enabled,
  moved while active;
* a webhook's scope: a project, an organisation (``WEBHOOKS["ORGANIZATION_MODEL"]``),
  or neither (installation-wide), never both;
* the status transitions: people enable and disable; workers disable after failures or
  a 410 (:mod:`webhooks_app.engine.outcomes`); enabling sends what was held meanwhile;
* nothing takes a delivery a worker is sending: a redelivery of one is refused, and
  enabling leaves it alone (taken from under the worker, it would be sent twice).

Sending functions return the attempt, as its log row, so no caller reads it back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone

from webhooks_app.conf import webhook_settings
from webhooks_app.engine import queue
from webhooks_app.engine.claims import new_claim
from webhooks_app.engine.delivery import send_claimed
from webhooks_app.engine.dispatch import render_body
from webhooks_app.events import PING, catalog
from webhooks_app.exceptions import ActivationRefused, DeliveryInFlight, UnknownEventPattern
from webhooks_app.models import (
    Delivery,
    DeliveryLog,
    Event,
    Subscription,
    Trigger,
    Webhook,
    WebhookStatus,
)
from webhooks_app.rules import activation_refusal
from webhooks_app.schemas import contract, example_changes
from webhooks_app.signals import webhook_disabled
from webhooks_app.signing import generate_secret
from webhooks_app.validators import (
    body_format_refusal,
    validate_https_only,
    validate_secret,
)

__all__ = [
    "ActivationRefused",
    "DeliveryInFlight",
    "TestOutcome",
    "UnknownEventPattern",
    "activation_refusal_for",
    "check_scope",
    "create_webhook",
    "delete_webhook",
    "disable",
    "enable",
    "ensure_may_activate",
    "latest_attempt",
    "move",
    "plan_refusal",
    "redeliver",
    "redeliver_failed",
    "rotate_secret",
    "send_example",
    "send_test",
    "set_events",
    "subscribe",
    "switch_secret",
    "test_all",
    "unsubscribe",
    "update_webhook",
]


def ensure_may_activate(owner: Any) -> None:
    """Raise :class:`ActivationRefused` if the activation rule refuses ``owner`` (a
    project or an organisation; None, installation-wide, is never refused)."""
    refusal = plan_refusal(owner)
    if refusal:
        raise ActivationRefused(refusal)


def plan_refusal(owner: Any) -> str | None:
    """Why the activation rule (a plan gate) refuses ``owner`` (a project or an
    organisation) webhooks, or None: what the pages show, and what every operation below
    enforces."""
    return activation_refusal(owner)


def activation_refusal_for(
    webhook: Webhook | None, project: Any, active: bool, organization: Any = None
) -> str | None:
    """Why saving ``webhook`` (None: a new one) in ``project`` or ``organization``,
    ``active`` or not, is refused by the plan gate; None if it is not. The gate applies
    to a webhook that becomes active and to an active one that moves, as
    :func:`create_webhook`, :func:`enable` and :func:`move` apply it: forms ask here to
    show it on their field."""
    if not active:
        return None
    was_active = webhook is not None and webhook.pk is not None and webhook.is_active
    moved = (
        webhook is not None and webhook.pk is not None and _moves(webhook, project, organization)
    )
    if was_active and not moved:
        return None
    return plan_refusal(organization if organization is not None else project)


def check_scope(project: Any, organization: Any) -> None:
    """A webhook belongs to a project, to an organisation, or to neither: a
    ``ValidationError`` naming the field otherwise (and for an organisation while
    ``WEBHOOKS["ORGANIZATION_MODEL"]`` is not set)."""
    if organization is None:
        return
    if not webhook_settings.ORGANIZATION_MODEL:
        raise ValidationError(
            {"organization": ["Organisation webhooks need WEBHOOKS['ORGANIZATION_MODEL']."]}
        )
    if project is not None:
        raise ValidationError(
            {"organization": ["A webhook belongs to a project or to an organisation, not both."]}
        )


# -- webhooks -----------------------------------------------------------------------------

# How a webhook's requests are made, beside its URL (see Webhook's fields).
DELIVERY_OPTIONS = ("signatures", "extra_headers", "content_type")


def create_webhook(
    *,
    url: str,
    project: Any = None,
    organization: Any = None,
    events: Iterable[str] = (),
    name: str = "",
    active: bool = True,
    verify_tls: bool = True,
    rate_limit: int | None = None,
    https_only: bool = False,
    secret: str = "",
    **options: Any,
) -> Webhook:
    """A new webhook with its subscriptions, in ``project``, in ``organization`` (every
    project of it), or installation-wide (neither); active unless ``active`` is False
    (which the activation rule never refuses: webhooks can be prepared disabled).
    ``options``:
    ``signatures``, ``extra_headers``, ``content_type``. ``secret``: one the manager
    entered (empty: one is generated). Raises Django's ``ValidationError`` for a bad
    URL, secret or option, before anything is written."""
    unknown = set(options) - set(DELIVERY_OPTIONS)
    if unknown:
        raise TypeError(f"create_webhook() got unknown options {', '.join(sorted(unknown))}.")
    checked = {"url": url, "https_only": https_only, "rate_limit": rate_limit, **options}
    if secret:
        checked["secret"] = secret
    _validate(checked, Webhook())
    check_scope(project, organization)
    if secret:
        options["secret"] = secret
    if active:
        ensure_may_activate(organization if organization is not None else project)
    patterns = _checked_patterns(events)
    with transaction.atomic():
        webhook = Webhook.objects.create(
            project=project,
            organization=organization,
            url=url,
            name=name,
            verify_tls=verify_tls,
            rate_limit=rate_limit,
            https_only=https_only,
            status=WebhookStatus.ACTIVE if active else WebhookStatus.DISABLED,
            disabled_at=None if active else timezone.now(),
            **options,
        )
        _add_subscriptions(webhook, patterns)
    return webhook


def update_webhook(webhook: Webhook, **changes: Any) -> Webhook:
    """Change ``url``, ``name``, ``verify_tls``, ``rate_limit``, ``https_only``, the
    delivery options, ``project`` or ``organization`` (a move: giving one empties the
    other unless both are given) and ``events`` (replacing the subscriptions). Only the
    fields given are written: workers update the failure count meanwhile, and a full
    save would write back a stale one."""
    events = changes.pop("events", None)
    scope_given = {"project", "organization"} & set(changes)
    project = changes.pop("project", None if scope_given else webhook.project)
    organization = changes.pop("organization", None if scope_given else webhook.organization)
    unknown = set(changes) - {
        "url",
        "name",
        "verify_tls",
        "rate_limit",
        "https_only",
        *DELIVERY_OPTIONS,
    }
    if unknown:
        raise TypeError(f"update_webhook() cannot change {', '.join(sorted(unknown))}.")
    _validate(changes, webhook)
    check_scope(project, organization)
    with transaction.atomic():
        if _moves(webhook, project, organization):
            move(webhook, project, organization=organization)
        for name, value in changes.items():
            setattr(webhook, name, value)
        if changes:
            webhook.save(update_fields=[*changes, "updated_at"])
        if events is not None:
            set_events(webhook, events)
    return webhook


def move(webhook: Webhook, project: Any = None, *, organization: Any = None) -> Webhook:
    """Move a webhook to another project, to an organisation, or (neither)
    installation-wide. An active webhook moves only where the activation rule allows
    it: it would go on receiving there."""
    check_scope(project, organization)
    if webhook.is_active:
        ensure_may_activate(organization if organization is not None else project)
    Webhook.objects.filter(pk=webhook.pk).update(project=project, organization=organization)
    webhook.project, webhook.organization = project, organization
    return webhook


def set_events(webhook: Webhook, patterns: Iterable[str]) -> None:
    """Replace the webhook's subscriptions with ``patterns``. A pattern it already has is
    kept even if the catalog no longer has its event (saving a form that shows it must
    not fail); a new one must select an event."""
    wanted = list(dict.fromkeys(patterns))
    with transaction.atomic():
        webhook.subscriptions.exclude(event_type__in=wanted).delete()
        have = set(webhook.subscriptions.values_list("event_type", flat=True))
        _add_subscriptions(webhook, _checked_patterns(p for p in wanted if p not in have))


def subscribe(webhook: Webhook, pattern: str) -> Subscription:
    """Add one pattern; one the webhook already has is left as it is. Raises
    ``Webhook.DoesNotExist`` when the webhook was deleted meanwhile."""
    (pattern,) = _checked_patterns([pattern])
    try:
        with transaction.atomic():
            subscription, _ = Subscription.objects.get_or_create(
                webhook=webhook, event_type=pattern
            )
    except IntegrityError:
        # The foreign key, checked at commit: someone deleted the webhook since it was read.
        if Webhook.objects.filter(pk=webhook.pk).exists():
            raise
        raise Webhook.DoesNotExist(f"Webhook {webhook.uuid} was deleted.") from None
    return subscription


def unsubscribe(webhook: Webhook, pattern: str) -> bool:
    deleted, _ = webhook.subscriptions.filter(event_type=pattern).delete()
    return bool(deleted)


def enable(webhook: Webhook) -> int:
    """Make the webhook active again: the failure count restarts and what was held while
    it was disabled after failures goes out. Returns how many held deliveries were made
    due. Raises :class:`ActivationRefused` when the activation rule says no."""
    ensure_may_activate(webhook.owner)
    now = timezone.now()
    with transaction.atomic():
        # Deliveries before the webhook row: a worker recording an outcome locks them in
        # that order too, so the two cannot deadlock.
        resumed = webhook.deliveries.filter(
            _not_in_flight(now), status=Delivery.Status.PENDING
        ).update(next_attempt_at=now, claim_token=None)
        Webhook.objects.filter(pk=webhook.pk).update(
            status=WebhookStatus.ACTIVE,
            consecutive_failures=0,
            paused_until=None,
            disabled_at=None,
            disabled_detail="",
            probe_at=None,
        )
        if resumed:
            queue.request_delivery()
    webhook.refresh_from_db()
    return resumed


def disable(webhook: Webhook) -> bool:
    """Disable by hand; returns whether it was active (only then is ``webhook_disabled``
    sent). A webhook disabled after failures becomes disabled by hand: it stops
    collecting held deliveries."""
    with transaction.atomic():
        was_active = Webhook.objects.filter(pk=webhook.pk).active().exists()
        Webhook.objects.filter(pk=webhook.pk).exclude(status=WebhookStatus.DISABLED).update(
            status=WebhookStatus.DISABLED, disabled_at=timezone.now(), disabled_detail=""
        )
    webhook.refresh_from_db()
    if was_active:
        transaction.on_commit(
            lambda: webhook_disabled.send(
                sender=Webhook, webhook=webhook, reason=WebhookStatus.DISABLED, detail=""
            )
        )
    return was_active


def rotate_secret(webhook: Webhook, secret: str = "") -> str:
    """A new secret (``secret``, one the manager entered, or a generated one), shown
    once. For SECRET_ROTATION_OVERLAP ``webhook-signature`` carries the new and the
    previous secret's signatures, and the headers that hold one signature stay with the
    previous secret until :func:`switch_secret` (or the overlap's end) moves them: a
    receiver of those headers holds one secret, and must never see another. An entered
    secret that is too weak, or one the webhook holds, is a ``ValidationError``.

    The previous secret is the one signing those headers now: rotating again before the
    switch replaces a new secret that no such receiver holds yet."""
    if secret:
        _validate({"secret": secret}, webhook)
        if secret in (webhook.secret, webhook.previous_secret):
            raise ValidationError({"secret": ["Enter a secret this webhook has not used."]})
    now = timezone.now()
    with transaction.atomic():
        # Locked: two rotations at once must not each keep a different previous secret.
        locked = Webhook.objects.select_for_update().get(pk=webhook.pk)
        changes = {
            "previous_secret": locked.signers(now).single,
            "previous_secret_expires_at": now
            + timedelta(seconds=webhook_settings.SECRET_ROTATION_OVERLAP),
            "secret": secret or generate_secret(),
            "secret_switched_at": None,
            "updated_at": now,
        }
        Webhook.objects.filter(pk=webhook.pk).update(**changes)
    for name, value in changes.items():
        setattr(webhook, name, value)
    return webhook.secret


def switch_secret(webhook: Webhook) -> bool:
    """During a rotation's overlap, sign the single-signature headers with the new secret
    from now on (``webhook-signature`` keeps carrying both until the overlap ends).
    Returns whether it switched: False if no rotation was waiting for a switch."""
    now = timezone.now()
    switched = (
        Webhook.objects.filter(
            pk=webhook.pk, previous_secret_expires_at__gt=now, secret_switched_at__isnull=True
        )
        .exclude(previous_secret="")
        .update(secret_switched_at=now, updated_at=now)
    )
    webhook.refresh_from_db(fields=["secret_switched_at", "updated_at"])
    return bool(switched)


def delete_webhook(webhook: Webhook) -> None:
    """Delete the webhook with its subscriptions, deliveries and their attempts."""
    webhook.delete()


# -- sending now ----------------------------------------------------------------------------


def send_test(webhook: Webhook) -> DeliveryLog:
    """Send a ``ping`` to the webhook now, in this process, and return the attempt.
    Works on a disabled webhook too: checking an endpoint before enabling it is the point."""
    data = {"webhook": {"uuid": str(webhook.uuid), "name": webhook.name, "url": webhook.url}}
    return _send_now(webhook, PING, data, None)


def send_example(webhook: Webhook, event_type: str) -> DeliveryLog:
    """Send the example of ``event_type`` from its published contract to the webhook
    now, in this process (as a test: it starts no retry round and counts no failure),
    whether or not the webhook subscribes to it; returns the attempt. An event whose
    contract has no example sends an empty ``data``."""
    if event_type == PING or event_type not in catalog:
        raise UnknownEventPattern(f"Unknown event {event_type!r}.")
    found = contract(event_type)
    changes = None
    if found.changes is not None:
        changes = example_changes(found.changes)
    return _send_now(webhook, event_type, dict(found.example or {}), changes)


def _send_now(
    webhook: Webhook, event_type: str, data: dict[str, Any], changes: dict[str, Any] | None
) -> DeliveryLog:
    now = timezone.now()
    token, lease_until = new_claim(now)
    with transaction.atomic():
        event = Event.objects.create(
            event_type=event_type,
            project_id=webhook.project_id,
            body=render_body(event_type, data, now, changes),
            created_at=now,
        )
        # Claimed as it is written: no worker can take it before this process sends it.
        delivery = Delivery.objects.create(
            webhook=webhook,
            event=event,
            trigger=Trigger.TEST,
            next_attempt_at=lease_until,
            claim_token=token,
            created_at=now,
        )
    log = _sent(delivery.pk, token, webhook, event)
    assert log is not None  # nothing else holds a delivery created a moment ago
    return log


@dataclass(frozen=True)
class TestOutcome:
    webhook: Webhook
    log: DeliveryLog | None  # None: not tested (beyond the limit)

    @property
    def outcome(self) -> str:
        return self.log.outcome if self.log else "skipped"


def test_all(webhooks: Iterable[Webhook]) -> list[TestOutcome]:
    """Ping each webhook, up to MAX_TESTS_PER_REQUEST of them (each may take TIMEOUT
    while someone waits); the rest are reported as not tested."""
    limit = webhook_settings.MAX_TESTS_PER_REQUEST
    return [
        TestOutcome(webhook, send_test(webhook) if index < limit else None)
        for index, webhook in enumerate(webhooks)
    ]


def redeliver(delivery: Delivery, *, now: bool = False) -> DeliveryLog | None:
    """Send the delivery again, with the same message id, starting a fresh retry round.

    With ``now`` it is sent in this process and the attempt returned, if its webhook is
    active (to a disabled one it is held, like any delivery); otherwise the workers send
    it and None is returned. Raises :class:`DeliveryInFlight` while a worker holds it.
    """
    moment = timezone.now()
    token, lease_until = new_claim(moment)
    send_now = now and Webhook.objects.filter(pk=delivery.webhook_id).active().exists()
    with transaction.atomic():
        taken = Delivery.objects.filter(_not_in_flight(moment), pk=delivery.pk).update(
            status=Delivery.Status.PENDING,
            trigger=Trigger.REDELIVERY,
            round_offset=models.F("attempts"),
            # Sent here: claimed in this same statement, so no worker takes it first.
            next_attempt_at=lease_until if send_now else moment,
            claim_token=token if send_now else None,
        )
        if not taken:
            raise DeliveryInFlight("A worker is sending this delivery right now.")
        _unpause(delivery.webhook_id)
        if not send_now:
            queue.request_delivery()
    log = _sent(delivery.pk, token, delivery.webhook, delivery.event) if send_now else None
    delivery.refresh_from_db()
    return log


def redeliver_failed(webhook: Webhook, since: datetime) -> int:
    """Send again every delivery of the webhook given up since ``since`` (Svix's
    "recover"); returns how many. To a disabled webhook they are held."""
    with transaction.atomic():
        count = webhook.deliveries.filter(
            status=Delivery.Status.FAILED, created_at__gte=since
        ).update(
            status=Delivery.Status.PENDING,
            trigger=Trigger.REDELIVERY,
            round_offset=models.F("attempts"),
            next_attempt_at=timezone.now(),
            claim_token=None,
        )
        if count:
            _unpause(webhook.pk)
            queue.request_delivery()
    return count


def latest_attempt(delivery: Delivery) -> DeliveryLog | None:
    """The last attempt of a delivery (the admin and the API show it)."""
    return (
        delivery.attempt_logs.select_related("webhook", "event").order_by("-attempt", "-pk").first()
    )


# -- helpers ------------------------------------------------------------------------------


def _sent(pk: int, token: uuid.UUID, webhook: Webhook, event: Event) -> DeliveryLog | None:
    judged = send_claimed(pk, token)
    if judged is None:
        return None
    log = judged.as_log()
    log.webhook, log.event = webhook, event  # already at hand: no query to show them
    return log


def _not_in_flight(now: datetime) -> Q:
    """Deliveries no worker holds: unclaimed, or whose claim's lease has run out."""
    return Q(claim_token__isnull=True) | Q(next_attempt_at__lte=now)


def _unpause(webhook_id: int) -> None:
    # Someone asks for a delivery now: a pause waiting for a retry no longer applies.
    Webhook.objects.filter(pk=webhook_id, paused_until__isnull=False).update(paused_until=None)


def _validate(values: dict[str, Any], webhook: Webhook) -> None:
    """The fields' own validators (those the admin and the API run too), for host code,
    and the rules on signatures and body format, and on HTTPS-only URLs, when either
    side changes (``webhook`` has the values not given)."""
    errors: dict[str, list[str]] = {}
    for name in ("url", "secret", "rate_limit", *DELIVERY_OPTIONS):
        if name not in values:
            continue
        try:
            if name == "secret":
                validate_secret(values[name])
            else:
                Webhook._meta.get_field(name).clean(values[name], None)
        except ValidationError as exc:
            errors[name] = exc.messages
    if not errors and {"signatures", "content_type"} & set(values):
        refusal = body_format_refusal(
            values.get("signatures", webhook.signatures),
            values.get("content_type", webhook.content_type),
        )
        if refusal:
            errors["content_type"] = [refusal]
    if not errors and {"url", "https_only"} & set(values):
        try:
            validate_https_only(
                values.get("url", webhook.url), values.get("https_only", webhook.https_only)
            )
        except ValidationError as exc:
            errors["url"] = exc.messages
    if errors:
        raise ValidationError(errors)


def _checked_patterns(patterns: Iterable[str]) -> list[str]:
    checked = list(dict.fromkeys(patterns))
    for pattern in checked:
        if pattern == PING or not catalog.is_valid_pattern(pattern):
            raise UnknownEventPattern(f"Unknown event {pattern!r}.")
    return checked


def _add_subscriptions(webhook: Webhook, patterns: Sequence[str]) -> None:
    Subscription.objects.bulk_create(
        [Subscription(webhook=webhook, event_type=pattern) for pattern in patterns]
    )
    # A prefetched list of them (the API's) is stale now.
    getattr(webhook, "_prefetched_objects_cache", {}).pop("subscriptions", None)


def _pk(obj: Any) -> Any:
    return obj.pk if isinstance(obj, models.Model) else obj


def _moves(webhook: Webhook, project: Any, organization: Any) -> bool:
    return (_pk(project), _pk(organization)) != (webhook.project_id, webhook.organization_id)
