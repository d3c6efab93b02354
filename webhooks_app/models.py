"""Webhook endpoints, their subscriptions, events, deliveries and the attempt log.

State lives here, not in the queue: a ``Delivery`` row is pending until it succeeds or is
given up, so a lost django-q2 task or a dead worker delays a delivery but never loses it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from webhooks_app.conf import project_model_label, webhook_settings
from webhooks_app.exceptions import ActivationRefused
from webhooks_app.signals import routes_changed
from webhooks_app.signing import active_secrets, generate_secret


class DisabledReason(models.TextChoices):
    NONE = "", _("Not disabled")
    MANUAL = "manual", _("Disabled by hand")
    FAILURES = "failures", _("Disabled automatically after consecutive failures")
    GONE = "gone", _("Disabled automatically: the endpoint answered 410 Gone")


# WebhookQuerySet.receiving() in SQL, for the statements that record events (alias w).
RECEIVING_SQL = "(w.enabled OR w.disabled_reason = 'failures')"


class RoutingQuerySet(models.QuerySet):
    """Writes that bypass ``save()`` and ``delete()`` still tell this process's routing
    map at once (database triggers tell the other processes)."""

    # Columns whose change can reroute an event (None: all of them).
    routing_fields: frozenset[str] | None = None

    def update(self, **kwargs: Any) -> int:
        count = super().update(**kwargs)
        if self.routing_fields is None or self.routing_fields.intersection(kwargs):
            routes_changed.send(sender=self.model)
        return count

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list:
        created = super().bulk_create(objs, *args, **kwargs)
        routes_changed.send(sender=self.model)
        return created


class WebhookQuerySet(RoutingQuerySet):
    routing_fields = frozenset({"project", "project_id", "enabled", "disabled_reason"})

    def receiving(self) -> WebhookQuerySet:
        """Webhooks that get deliveries of the events they subscribe to.

        Webhooks disabled automatically for failing keep collecting deliveries, held until
        the endpoint is re-enabled, so a receiver that was down loses nothing; webhooks
        disabled by hand, or gone (410), get nothing. (``RECEIVING_SQL`` is the same rule
        for the statements that record events.)
        """
        return self.filter(Q(enabled=True) | Q(disabled_reason=DisabledReason.FAILURES))


class Webhook(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    project = models.ForeignKey(
        project_model_label(),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhooks",
        help_text=_(
            "Leave empty for an organisation-wide webhook that gets every project's events."
        ),
    )
    name = models.CharField(_("name"), max_length=200, blank=True)
    url = models.URLField(_("payload URL"), max_length=2000)
    secret = models.CharField(max_length=120, default=generate_secret, editable=False)
    # During a rotation the previous secret keeps signing until it expires, so receivers
    # can switch secrets without dropping a delivery.
    previous_secret = models.CharField(max_length=120, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    enabled = models.BooleanField(_("enabled"), default=True)
    verify_tls = models.BooleanField(
        _("verify TLS certificate"),
        default=True,
        help_text=_("Disable only if you know what you are doing."),
    )
    rate_limit = models.PositiveIntegerField(
        _("rate limit"),
        null=True,
        blank=True,
        help_text=_("Most deliveries per second to this endpoint. Empty: no limit."),
    )
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    # A failing endpoint gets nothing until its next retry is due, in any worker.
    paused_until = models.DateTimeField(null=True, blank=True, editable=False)
    # The rate limit's schedule: when the next delivery may start (GCRA).
    next_slot_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(
        max_length=20, choices=DisabledReason.choices, blank=True, editable=False
    )
    disabled_detail = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WebhookQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name or self.url

    @property
    def status(self) -> str:
        if self.enabled:
            return "failing" if self.consecutive_failures else "active"
        if self.disabled_reason == DisabledReason.MANUAL:
            return "disabled"
        return "auto-disabled"

    def signing_secrets(self, now: datetime | None = None) -> list[str]:
        return list(
            active_secrets(
                self.secret,
                self.previous_secret,
                self.previous_secret_expires_at,
                now or timezone.now(),
            )
        )

    def disable(self) -> bool:
        """Disable by hand. Returns whether it was enabled (only then is
        ``webhook_disabled`` sent).

        Also turns an automatic disabling into a manual one, so the webhook stops
        collecting held deliveries.
        """
        from webhooks_app.signals import webhook_disabled

        with transaction.atomic():
            was_enabled = Webhook.objects.filter(pk=self.pk, enabled=True).exists()
            Webhook.objects.filter(pk=self.pk).exclude(
                enabled=False, disabled_reason=DisabledReason.MANUAL
            ).update(
                enabled=False,
                disabled_at=timezone.now(),
                disabled_reason=DisabledReason.MANUAL,
                disabled_detail="",
            )
        self.refresh_from_db()
        if was_enabled:
            transaction.on_commit(
                lambda: webhook_disabled.send(
                    sender=Webhook, webhook=self, reason=DisabledReason.MANUAL, detail=""
                )
            )
        return was_enabled

    def activation_refusal(self) -> str | None:
        """Why the host's ACTIVATION_RULE refuses enabling this webhook, or None."""
        from webhooks_app.rules import activation_refusal

        return activation_refusal(self.project) if self.project_id else None

    def enable(self, *, resume: bool = True) -> int:
        """Re-enable, reset the failure count and (by default) send what was held.

        Returns how many held deliveries were made due again. Raises
        :class:`ActivationRefused` when the host's activation rule says no.
        """
        from webhooks_app.queue import request_delivery

        refusal = self.activation_refusal()
        if refusal:
            raise ActivationRefused(refusal)
        with transaction.atomic():
            # Deliveries before the webhook row: a worker recording a batch locks them in
            # that order too, so the two cannot deadlock.
            resumed = 0
            if resume:
                now = timezone.now()
                # Not the ones a worker is sending right now: re-queued, they would be
                # sent twice.
                not_held = Q(claim_token__isnull=True) | Q(next_attempt_at__lte=now)
                resumed = self.deliveries.filter(not_held, status=Delivery.Status.PENDING).update(
                    next_attempt_at=now, claim_token=None
                )
            Webhook.objects.filter(pk=self.pk).update(
                enabled=True,
                consecutive_failures=0,
                paused_until=None,
                disabled_at=None,
                disabled_reason=DisabledReason.NONE,
                disabled_detail="",
            )
            if resumed:
                request_delivery()
        self.refresh_from_db()
        return resumed

    def redeliver_failed(self, since: datetime) -> int:
        """Send again every delivery given up since ``since`` (Svix's "recover")."""
        from webhooks_app.queue import request_delivery

        with transaction.atomic():
            count = self.deliveries.filter(
                status=Delivery.Status.FAILED, created_at__gte=since
            ).update(
                status=Delivery.Status.PENDING,
                trigger=Trigger.REDELIVERY,
                round_offset=models.F("attempts"),
                next_attempt_at=timezone.now(),
                claim_token=None,
            )
            if count:
                # Someone asks for them now: a pause waiting for a retry no longer applies.
                Webhook.objects.filter(pk=self.pk).update(paused_until=None)
                request_delivery()
        return count

    def rotate_secret(self) -> str:
        """Issue a new secret; the old one keeps signing for the overlap window."""
        overlap = timedelta(seconds=webhook_settings.SECRET_ROTATION_OVERLAP)
        self.previous_secret = self.secret
        self.previous_secret_expires_at = timezone.now() + overlap
        self.secret = generate_secret()
        self.save(
            update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
        )
        return self.secret


class Subscription(models.Model):
    """One webhook x one event pattern: ``issues.store``, ``issues.*`` or ``*``."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="subscriptions")
    event_type = models.CharField(_("event"), max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RoutingQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["webhook", "event_type"], name="webhooks_unique_subscription"
            )
        ]
        indexes = [models.Index(fields=["event_type"], name="webhooks_sub_event_idx")]
        ordering = ["event_type"]

    def __str__(self) -> str:
        return self.event_type


class Event(models.Model):
    """One occurrence of an event, stored once however many webhooks receive it.

    ``body`` is the exact JSON sent to every endpoint on every attempt, so signatures and
    receiver-side deduplication (on ``msg_id``) see identical bytes each time.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event_type = models.CharField(max_length=100, db_index=True)
    project = models.ForeignKey(
        project_model_label(),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.msg_id}"

    @property
    def msg_id(self) -> str:
        """The id receivers deduplicate on: the same for every attempt and redelivery."""
        return f"msg_{self.uuid.hex}"


class Trigger(models.TextChoices):
    EVENT = "event", _("Event")
    RETRY = "retry", _("Scheduled retry")
    REDELIVERY = "redelivery", _("Manual redelivery")
    TEST = "test", _("Test")


class Delivery(models.Model):
    """One event owed to one webhook, until it succeeds or is given up."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    # No database constraints: they cost a check and a row lock per delivery on the host's
    # save path, and a webhook deleted while an event is being recorded would fail the
    # host's transaction. Deleting a webhook or an event still cascades (in Django), and
    # the claim joins both, so a delivery whose webhook is gone is never sent.
    webhook = models.ForeignKey(
        Webhook,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_constraint=False,
        db_index=False,
    )
    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="deliveries", db_constraint=False
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    trigger = models.CharField(max_length=12, choices=Trigger.choices, default=Trigger.EVENT)
    attempts = models.PositiveIntegerField(default=0)
    # Attempts made before the current retry round; a manual redelivery starts a new
    # round, so the retry schedule applies to it afresh.
    round_offset = models.PositiveIntegerField(default=0)
    # Due time while pending. A claimed delivery's due time is pushed past its lease, so
    # if its worker dies the delivery becomes due again and the sweep picks it up.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-created_at", "-id"]
        # Partial indexes: the bulk of the table (delivered rows) is in none. Every index
        # a new delivery enters is paid on the host's save, once per recipient. On
        # PostgreSQL a migration adds webhooks_delivery_pending_idx (webhook,
        # next_attempt_at) for pending rows, which fair claims read per endpoint; on
        # SQLite, whose commits rewrite one index page per endpoint, claims scan the
        # due rows instead.
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhooks_delivery_due_idx",
                condition=Q(status="pending"),
            ),
            models.Index(
                fields=["webhook"],
                name="webhooks_delivery_claimed_idx",
                condition=Q(claim_token__isnull=False),
            ),
            models.Index(
                fields=["webhook", "created_at"],
                name="webhooks_delivery_failed_idx",
                condition=Q(status="failed"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event.event_type} -> {self.webhook}"

    def redeliver(self, *, now: bool = False) -> bool:
        """Send again, with the same message id, starting a fresh retry round.

        ``now`` sends it in this process (the caller wants the outcome) instead of
        asking the queue; to a disabled webhook it is held, as any delivery would be.
        Returns False, changing nothing, while a worker holds the delivery: taking it
        from under the worker would send it twice.
        """
        from webhooks_app.claims import new_claim
        from webhooks_app.delivery import send_claimed
        from webhooks_app.queue import request_delivery

        now = now and Webhook.objects.filter(pk=self.webhook_id, enabled=True).exists()
        moment = timezone.now()
        token, lease_until = new_claim(moment)
        not_held = Q(claim_token__isnull=True) | Q(next_attempt_at__lte=moment)
        with transaction.atomic():
            taken = Delivery.objects.filter(not_held, pk=self.pk).update(
                status=Delivery.Status.PENDING,
                trigger=Trigger.REDELIVERY,
                round_offset=models.F("attempts"),
                # Sent here: claimed in this same statement, so no worker takes it first.
                next_attempt_at=lease_until if now else moment,
                claim_token=token if now else None,
            )
            if taken:
                # Someone asks for it now: a pause waiting for a retry no longer applies.
                Webhook.objects.filter(pk=self.webhook_id).update(paused_until=None)
            if taken and not now:
                request_delivery()
        if taken and now:
            send_claimed(self.pk, token)
        self.refresh_from_db()
        return bool(taken)


class DeliveryLog(models.Model):
    """One HTTP attempt, exactly as sent and as answered."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("Success")
        FAILURE = "failure", _("Failure")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_logs")
    webhook = models.ForeignKey(
        Webhook, on_delete=models.CASCADE, related_name="delivery_logs", db_index=False
    )
    # The webhook's project when the attempt was made, so a project's log is read from one
    # index however large the table, and stays with the project whose events it carries.
    project = models.ForeignKey(
        project_model_label(),
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="delivery_logs")
    event_type = models.CharField(max_length=100)
    attempt = models.PositiveIntegerField()
    trigger = models.CharField(max_length=12, choices=Trigger.choices)
    url = models.URLField(max_length=2000)
    request_headers = models.JSONField(default=dict)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body = models.TextField(blank=True)
    duration_ms = models.FloatField(default=0)
    error = models.TextField(blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # Newest first, in keyset order, for each way the log is read: by project (the
        # API), by project and outcome or event, and by webhook (the admin, the API).
        indexes = [
            models.Index(fields=["webhook", "created_at", "id"], name="webhooks_log_webhook_idx"),
            models.Index(fields=["project", "created_at", "id"], name="webhooks_log_project_idx"),
            models.Index(
                fields=["project", "outcome", "created_at", "id"], name="webhooks_log_outcome_idx"
            ),
            models.Index(
                fields=["project", "event_type", "created_at", "id"], name="webhooks_log_event_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.attempt} {self.response_status or self.error[:40]}"

    @property
    def request_body(self) -> str:
        """The body sent: stored once on the event, identical on every attempt."""
        return self.event.body


class DeliveryTaskMarker(models.Model):
    """A single row saying until when a delivery task covers new commits.

    Until ``covered_until`` a delivery task that is queued (and will start) or running
    (and will claim again) sees every delivery committed before then: a commit that finds
    itself covered needs no task of its own, and costs no write. Asking the queue how
    many tasks wait would also count the host's unrelated tasks sharing it.
    ``help_requested_at`` keeps a backlog's requests for a second worker to one at a time.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    covered_until = models.DateTimeField(null=True, blank=True)
    help_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "delivery task marker"

    def __str__(self) -> str:
        return f"covered until {self.covered_until}" if self.covered_until else "uncovered"


class RoutingVersion(models.Model):
    """A single row whose ``version`` database triggers bump whenever a subscription, or a
    webhook's project or state, changes: every process compares it with the version its
    routing map was read at (see :mod:`webhooks_app.routing`)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    version = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "routing version"

    def __str__(self) -> str:
        return f"routing version {self.version}"
