"""Webhook endpoints, their subscriptions, events, deliveries and the attempt log.

State lives here, not in the queue: a ``Delivery`` row is pending until it succeeds or is
given up, so a lost django-q2 task or a dead worker delays a delivery but never loses it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from webhooks_app.conf import organization_model_label, project_model_label
from webhooks_app.signals import routes_changed
from webhooks_app.signing import (
    BODY_SCHEMES,
    DEFAULT_SCHEMES,
    ED25519,
    SigningSecrets,
    active_secrets,
    generate_keypair,
    generate_secret,
)
from webhooks_app.validators import (
    validate_endpoint_url,
    validate_extra_headers,
    validate_signature_schemes,
)


class WebhookStatus(models.TextChoices):
    """Where a webhook stands. Only :mod:`webhooks_app.operations` (for people) and the
    workers (for failures and 410s) move it."""

    ACTIVE = "active", _("Active")
    DISABLED = "disabled", _("Disabled by hand")
    AUTO_DISABLED = "auto-disabled", _("Disabled after consecutive failures")
    GONE = "gone", _("Disabled: the endpoint answered 410 Gone")


# Webhooks that get deliveries: active ones, and ones disabled after failures, whose
# deliveries are held until someone enables them, so an endpoint that was down loses
# nothing. (WebhookQuerySet.receiving() in SQL, for the statements that record events.)
RECEIVING = (WebhookStatus.ACTIVE, WebhookStatus.AUTO_DISABLED)
RECEIVING_SQL = "w.status IN ('active', 'auto-disabled')"
# Most deliveries per second a webhook's rate limit may name.
MAX_RATE_LIMIT = 100_000


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


class EndpointURLField(models.URLField):
    """A webhook's URL. Its rule (:func:`~webhooks_app.validators.validate_endpoint_url`:
    http or https, a valid host, no credentials, no blocked address literal) replaces
    Django's URL validator, which refuses a one-label host (a service on a private
    network that ``ALLOWED_NETWORKS`` lets through). Every form, serializer and operation
    takes it from here (``Webhook.url_validators()``)."""

    default_validators = [validate_endpoint_url]


class WebhookQuerySet(RoutingQuerySet):
    routing_fields = frozenset(
        {"project", "project_id", "organization", "organization_id", "status"}
    )

    def receiving(self) -> WebhookQuerySet:
        """Webhooks that get deliveries of the events they subscribe to (see RECEIVING)."""
        return self.filter(status__in=RECEIVING)

    def active(self) -> WebhookQuerySet:
        return self.filter(status=WebhookStatus.ACTIVE)


class RotationStage(models.TextChoices):
    """Where a webhook's secret rotation stands, as a receiver sees it."""

    NONE = "none", _("One secret signs every header")
    ROTATED = "rotated", _("Rotated, not switched yet")
    SWITCHED = "switched", _("Switched to the new secret")


class BodyFormat(models.TextChoices):
    JSON = "json", _("application/json")
    FORM = "form", _("application/x-www-form-urlencoded (payload=<the JSON>)")


def default_signatures() -> list[str]:
    return list(DEFAULT_SCHEMES)


class Webhook(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    project = models.ForeignKey(
        project_model_label(),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhooks",
        help_text=_(
            "The project whose events it receives. With neither a project nor an "
            "organisation the webhook is installation-wide: it receives every project's "
            "events, of every organisation, and only staff manage it."
        ),
    )
    # An organisation's webhook receives the events of every project of that organisation
    # (WEBHOOKS["ORGANIZATION_MODEL"]). No database constraint: the target is chosen by a
    # setting a host may give after this column was made, and deleting an organisation
    # still deletes its webhooks (in Django), as deleting a project does.
    organization = models.ForeignKey(
        organization_model_label(),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        verbose_name=_("organisation"),
        help_text=_("The organisation whose projects' events it receives (not with a project)."),
    )
    name = models.CharField(_("name"), max_length=200, blank=True)
    url = EndpointURLField(_("payload URL"), max_length=2000)
    secret = models.CharField(max_length=120, default=generate_secret, editable=False)
    # During a rotation the previous secret keeps signing until it expires, so receivers
    # can switch secrets without dropping a delivery: webhook-signature carries both, and
    # the headers that hold one signature stay with the previous secret until the switch
    # (signing.active_secrets is the rule).
    previous_secret = models.CharField(max_length=120, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    secret_switched_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The ed25519 key pair of v1a signatures, made when the webhook first signs with them.
    # The private key is kept like the secret; the public key is no secret: receivers
    # verify with it, and it is shown wherever the webhook is.
    signing_key = models.CharField(max_length=120, blank=True, editable=False)
    public_key = models.CharField(_("public key"), max_length=60, blank=True, editable=False)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=WebhookStatus.choices,
        default=WebhookStatus.ACTIVE,
        editable=False,
    )
    verify_tls = models.BooleanField(
        _("verify TLS certificate"),
        default=True,
        help_text=_("Disable only if you know what you are doing."),
    )
    # Refuses any http:// URL for this webhook (GitScrum recommends HTTPS): set on the
    # settings page, the admin or the API, checked by the operations on every URL change.
    https_only = models.BooleanField(
        _("HTTPS only"),
        default=False,
        help_text=_("Refuse http:// URLs: deliveries only ever travel encrypted."),
    )
    signatures = models.JSONField(
        _("signatures"),
        default=default_signatures,
        validators=[validate_signature_schemes],
        help_text=_(
            "Signature headers sent: standard (Standard Webhooks, with replay protection), "
            "ed25519 (Standard Webhooks v1a: receivers verify with the public key, no shared "
            "secret), hex (X-Webhook-Signature-256), github (X-Hub-Signature-256), agiletune "
            "(X-AgileTune-Signature), icescrum (x-icescrum-signature, HMAC-SHA1)."
        ),
    )
    extra_headers = models.JSONField(
        _("extra headers"),
        default=dict,
        blank=True,
        validators=[validate_extra_headers],
        help_text=_('Headers added to every request, as {"name": "value"}.'),
    )
    content_type = models.CharField(
        _("content type"),
        max_length=8,
        choices=BodyFormat.choices,
        default=BodyFormat.JSON,
    )
    rate_limit = models.PositiveIntegerField(
        _("rate limit"),
        null=True,
        blank=True,
        # Bounded well inside every database's integer: an overflow would be a 500.
        validators=[MinValueValidator(1), MaxValueValidator(MAX_RATE_LIMIT)],
        help_text=_("Most deliveries per second to this endpoint. Empty: no limit."),
    )
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    # A failing endpoint gets nothing until its next retry is due, in any worker.
    paused_until = models.DateTimeField(null=True, blank=True, editable=False)
    # The rate limit's schedule: when the next delivery may start (GCRA).
    next_slot_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The one worker sending to this endpoint, and until when its lease holds unless it
    # renews it: at most ENDPOINT_CONCURRENCY requests are then in flight to the endpoint
    # across every worker and cluster. Kept in this row because claims lock it.
    worked_by = models.UUIDField(null=True, blank=True, editable=False)
    worked_until = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Disabled after failures, it still makes the retry the failing delivery had
    # scheduled (the retry schedule's promise), once, at this time: see probes.py.
    probe_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Deliveries given up since the managers were last told, and when they were: the
    # sweep mails them a digest at most every GIVEN_UP_DIGEST_EVERY (notifications.py).
    # Nullable (None is 0): SQLite adds the columns in place, keeping its triggers.
    given_up_unreported = models.PositiveIntegerField(null=True, blank=True, editable=False)
    given_up_reported_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Why it was disabled after failures (the last error), for the people who enable it.
    disabled_detail = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WebhookQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One scope: a project's, an organisation's, or neither (installation-wide).
            models.CheckConstraint(
                condition=Q(project__isnull=True) | Q(organization__isnull=True),
                name="webhooks_webhook_one_scope",
            )
        ]

    def __str__(self) -> str:
        return self.name or self.url

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Whatever path turns v1a signatures on (the operations, a host's own code), the
        # key pair exists before a worker reads the row to sign.
        if ED25519 in (self.signatures or ()) and not self.signing_key:
            self.signing_key, self.public_key = generate_keypair()
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "signing_key", "public_key"}
        super().save(*args, **kwargs)

    Status = WebhookStatus

    @classmethod
    def url_validators(cls) -> list:
        """The rule of a webhook's URL, for the forms and serializers that take one."""
        return list(cls._meta.get_field("url").validators)

    @property
    def is_active(self) -> bool:
        return self.status == WebhookStatus.ACTIVE

    @property
    def is_installation_wide(self) -> bool:
        """Neither a project's nor an organisation's: every project's events, staff only."""
        return self.project_id is None and self.organization_id is None

    @property
    def owner(self) -> Any:
        """What the webhook belongs to: its organisation, its project, or None
        (installation-wide). The manage rule and the plan gate are asked about it."""
        if self.organization_id is not None:
            return self.organization
        return self.project

    @property
    def is_failing(self) -> bool:
        """Active, but its last deliveries failed."""
        return self.is_active and self.consecutive_failures > 0

    def signers(self, now: datetime | None = None) -> SigningSecrets:
        """Which secret signs which header at ``now`` (see :func:`active_secrets`)."""
        return active_secrets(
            self.secret,
            self.previous_secret,
            self.previous_secret_expires_at,
            now or timezone.now(),
            self.secret_switched_at,
        )

    @property
    def single_signature_headers(self) -> list[str]:
        """The headers of this webhook that hold one signature (the switch moves them)."""
        return [BODY_SCHEMES[s].header for s in self.signatures or () if s in BODY_SCHEMES]

    def rotation_stage(self, now: datetime | None = None) -> str:
        """A :class:`RotationStage` value, read off the rotation rule."""
        signers = self.signers(now)
        if len(signers.standard) == 1:
            return "none"
        if signers.single == self.secret:
            return "switched"
        return "rotated"


class Subscription(models.Model):
    """One webhook x one event pattern: ``orders.paid``, ``orders.*`` or ``*``."""

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
    # Given to emit() by a host that may emit the same event twice (a retried task): unique
    # per event type while the event is younger than WEBHOOKS["IDEMPOTENCY_WINDOW"], after
    # which the next emit with the key releases it. NULL (not "") is "no key": the
    # partial unique index leaves those rows out.
    idempotency_key = models.CharField(  # noqa: DJ001
        max_length=200, null=True, blank=True, editable=False
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event_type", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="webhooks_event_idempotency_key",
            )
        ]

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
        # PostgreSQL a migration adds webhooks_delivery_pending_order_idx (webhook,
        # next_attempt_at, id) for pending rows, which fair claims read per endpoint; on
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


class DeliveryLog(models.Model):
    """One HTTP attempt, exactly as sent and as answered."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("Success")
        FAILURE = "failure", _("Failure")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_logs")
    # The event and the webhook are the delivery's, copied from its row while the writer
    # holds it locked; the database checks the delivery, and the delivery's own keys, but
    # not these two again: their checks were a quarter of its work per attempt recorded.
    webhook = models.ForeignKey(
        Webhook,
        on_delete=models.CASCADE,
        related_name="delivery_logs",
        db_index=False,
        db_constraint=False,
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
    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="delivery_logs", db_constraint=False
    )
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
    ``task_waiting_since`` is when the oldest delivery task not yet started was enqueued
    (cleared when one starts): the health report's sign that the queue takes no tasks.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    covered_until = models.DateTimeField(null=True, blank=True)
    help_requested_at = models.DateTimeField(null=True, blank=True)
    task_waiting_since = models.DateTimeField(null=True, blank=True)
    task_started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "delivery task marker"

    def __str__(self) -> str:
        return f"covered until {self.covered_until}" if self.covered_until else "uncovered"


class RoutingVersion(models.Model):
    """A single row whose ``version`` database triggers bump whenever a subscription, or a
    webhook's project, organisation or state, changes: every process compares it with
    the version its routing map was read at (see :mod:`webhooks_app.engine.routing`)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    version = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "routing version"

    def __str__(self) -> str:
        return f"routing version {self.version}"
