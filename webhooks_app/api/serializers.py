"""Serializers of the settings-screen API. The secret is only ever in the responses to
creating a webhook or rotating its secret."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from rest_framework import serializers
from rest_framework.settings import api_settings

from webhooks_app import operations
from webhooks_app.conf import webhook_settings
from webhooks_app.events import catalog
from webhooks_app.models import MAX_RATE_LIMIT, DeliveryLog, RotationStage, Webhook, WebhookStatus
from webhooks_app.signing import SCHEMES
from webhooks_app.validators import (
    body_format_refusal,
    validate_extra_headers,
    validate_https_only,
    validate_signature_schemes,
)


class EventPatternField(serializers.ChoiceField):
    """An event of the host's catalog, a family of them ('<prefix>.*') or '*'.

    The choices are read from the catalog each time a serializer is made, so the schema
    lists exactly the host's events and their families."""

    default_error_messages = {"invalid_choice": "Unknown event {input!r}."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "An event, a family ('<prefix>.*') or '*' for all.")
        super().__init__(choices=catalog.patterns(), **kwargs)


def unique_patterns(patterns: list[str]) -> list[str]:
    seen: set[str] = set()
    for pattern in patterns:
        if pattern in seen:
            raise serializers.ValidationError(f"Duplicate subscription {pattern!r}.")
        seen.add(pattern)
    return patterns


def events_of_categories(names: list[str]) -> list[str]:
    grouped = catalog.by_category()
    events: list[str] = []
    for index, name in enumerate(names):
        if name in names[:index]:
            raise serializers.ValidationError(f"Duplicate category {name!r}.")
        if name not in grouped:
            raise serializers.ValidationError(
                f"Unknown category {name!r}; one of: {', '.join(grouped)}."
            )
        events.extend(e.name for e in grouped[name])
    return events


def refuse_body(data: Any) -> None:
    """The body of an action that takes none: nothing, or an empty object. Anything else
    is a 400 naming each field sent, rather than silently ignored."""
    if data is None or (isinstance(data, Mapping) and not data):
        return
    if isinstance(data, Mapping):
        unexpected = "Unexpected field: this action takes no body."
        raise serializers.ValidationError({str(name): [unexpected] for name in data})
    raise serializers.ValidationError(
        {api_settings.NON_FIELD_ERRORS_KEY: ["This action takes no body."]}
    )


class EventTypeSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()


class CategorySerializer(serializers.Serializer):
    name = serializers.CharField()
    events = EventTypeSerializer(many=True)


class RotationSerializer(serializers.Serializer):
    """Where the webhook's secret rotation stands, and what its receivers see."""

    stage = serializers.ChoiceField(
        choices=RotationStage.choices,
        help_text=(
            "none: every header is signed with the current secret. "
            "rotated (after rotate-secret/, before switch-secret/ or overlap_ends_at): "
            "webhook-signature carries two signatures, the current and the previous "
            "secret's, so a receiver verifies with either; the headers that hold one "
            "signature (hex, github, agiletune, icescrum) carry the previous secret's. "
            "switched (after switch-secret/, until overlap_ends_at): those headers carry "
            "the current secret's, and webhook-signature still carries both. After "
            "overlap_ends_at: none again, every header signed with the current secret."
        ),
    )
    single_signature_secret = serializers.ChoiceField(
        choices=["current", "previous"],
        help_text="The secret that signs the headers that hold one signature now.",
    )
    standard_signature_secrets = serializers.ListField(
        child=serializers.ChoiceField(choices=["current", "previous"]),
        help_text="The secrets whose signatures webhook-signature carries now.",
    )
    overlap_ends_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When the previous secret stops signing (null outside a rotation).",
    )
    switched_at = serializers.DateTimeField(
        allow_null=True, help_text="When the switch happened (null before it)."
    )

    def to_representation(self, webhook: Webhook) -> dict:
        stage = webhook.rotation_stage()
        rotating = stage != RotationStage.NONE
        return {
            "stage": stage,
            "single_signature_secret": "previous" if stage == RotationStage.ROTATED else "current",
            "standard_signature_secrets": ["current", "previous"] if rotating else ["current"],
            "overlap_ends_at": self._datetime(webhook.previous_secret_expires_at, rotating),
            "switched_at": self._datetime(webhook.secret_switched_at, rotating),
        }

    def _datetime(self, value: Any, shown: bool) -> str | None:
        if not shown or value is None:
            return None
        return serializers.DateTimeField().to_representation(value)


class WebhookSerializer(serializers.ModelSerializer):
    """A webhook. Writing goes through :mod:`webhooks_app.operations`, which applies the
    activation rule and the status transitions."""

    id = serializers.UUIDField(source="uuid", read_only=True)
    url = serializers.CharField(max_length=2000, validators=Webhook.url_validators())
    enabled = serializers.BooleanField(
        source="is_active",
        required=False,
        default=True,
        help_text="Whether it receives its events; false prepares it disabled.",
    )
    rate_limit = serializers.IntegerField(
        min_value=1,
        max_value=MAX_RATE_LIMIT,
        required=False,
        allow_null=True,
        help_text="Most deliveries per second.",
    )
    events = serializers.ListField(
        child=EventPatternField(),
        required=False,
        help_text="Exact events, families ('<prefix>.*') or '*' for all.",
    )
    categories = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        write_only=True,
        help_text="Subscribe to every event of these categories (see the event catalog).",
    )
    signatures = serializers.ListField(
        child=serializers.ChoiceField(choices=SCHEMES),
        required=False,
        validators=[validate_signature_schemes],
        help_text="Signature headers sent; 'standard' (Standard Webhooks) protects against "
        "replays; 'ed25519' adds Standard Webhooks v1a signatures, verified with public_key. "
        "Default: standard and hex. A form content type takes neither standard nor ed25519.",
    )
    public_key = serializers.CharField(
        read_only=True,
        help_text="The whpk_ ed25519 public key that verifies this webhook's v1a signatures "
        "(empty until it signs with ed25519). Not a secret.",
    )
    rotation = RotationSerializer(source="*", read_only=True)
    extra_headers = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        required=False,
        validators=[validate_extra_headers],
        help_text="Headers added to every request. The sender's own cannot be replaced.",
    )

    class Meta:
        model = Webhook
        fields = [
            "id",
            "name",
            "url",
            "enabled",
            "verify_tls",
            "https_only",
            "rate_limit",
            "signatures",
            "extra_headers",
            "content_type",
            "public_key",
            "events",
            "categories",
            "status",
            "rotation",
            "consecutive_failures",
            "paused_until",
            "disabled_at",
            "disabled_detail",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "status",
            "consecutive_failures",
            "paused_until",
            "disabled_at",
            "disabled_detail",
            "created_at",
            "updated_at",
        ]

    def validate_events(self, value: list[str]) -> list[str]:
        return unique_patterns(value)

    def validate_categories(self, value: list[str]) -> list[str]:
        return events_of_categories(value)

    def validate(self, attrs: dict) -> dict:
        if self.instance is None or {"signatures", "content_type"} & set(attrs):
            stored = self.instance or Webhook()
            refusal = body_format_refusal(
                attrs.get("signatures", stored.signatures),
                attrs.get("content_type", stored.content_type),
            )
            if refusal:
                raise serializers.ValidationError({"content_type": [refusal]})
        if self.instance is None or {"url", "https_only"} & set(attrs):
            stored = self.instance or Webhook()
            try:
                validate_https_only(
                    attrs.get("url", stored.url), attrs.get("https_only", stored.https_only)
                )
            except DjangoValidationError as refused:
                raise serializers.ValidationError({"url": refused.messages}) from None
        if "categories" in attrs:
            events = attrs.get("events", [])
            attrs["events"] = events + [e for e in attrs.pop("categories") if e not in events]
        return attrs

    def to_representation(self, instance: Webhook) -> dict:
        data = super().to_representation(instance)
        data["events"] = [s.event_type for s in instance.subscriptions.all()]
        return data

    def create(self, validated_data: dict) -> Webhook:
        active = validated_data.pop("is_active", True)
        return operations.create_webhook(
            **self.context["scope"].fields, active=active, **validated_data
        )

    def update(self, instance: Webhook, validated_data: dict) -> Webhook:
        active = validated_data.pop("is_active", None)
        with transaction.atomic():
            operations.update_webhook(instance, **validated_data)
            if active and not instance.is_active:
                operations.enable(instance)
            elif active is False and instance.status != WebhookStatus.DISABLED:
                operations.disable(instance)
        return instance


class WebhookWithSecretSerializer(WebhookSerializer):
    """Shown once: in the response to creating a webhook."""

    secret = serializers.CharField(read_only=True)

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField()
    previous_secret_expires_at = serializers.DateTimeField(
        help_text="When the previous secret stops signing (the overlap's end)."
    )
    rotation = RotationSerializer(source="*")


class SubscriptionSerializer(serializers.Serializer):
    event = EventPatternField()

    def validate_event(self, value: str) -> str:
        if self.context["webhook"].subscriptions.filter(event_type=value).exists():
            raise serializers.ValidationError(
                f"Duplicate subscription: this webhook is already subscribed to {value!r}."
            )
        return value


class ReceiverSerializer(serializers.Serializer):
    webhook = serializers.UUIDField(source="webhook.uuid")
    url = serializers.CharField(source="webhook.url")
    status = serializers.CharField(source="webhook.status")
    pattern = serializers.CharField(help_text="The subscription that selects the event.")
    scope = serializers.SerializerMethodField(
        help_text="Whose webhook it is: the project's, its organisation's, or "
        "installation-wide (staff's: it receives every project's events)."
    )
    organisation_wide = serializers.SerializerMethodField(
        help_text="Installation-wide (scope 'installation'); kept for existing clients."
    )

    def get_scope(self, receiver: Any) -> Literal["project", "organization", "installation"]:
        webhook = receiver.webhook
        if webhook.organization_id is not None:
            return "organization"
        return "project" if webhook.project_id is not None else "installation"

    def get_organisation_wide(self, receiver: Any) -> bool:
        return bool(receiver.webhook.is_installation_wide)


class GridRowSerializer(serializers.Serializer):
    """The per-event form: one row per event, with the endpoint URL set for it (or null),
    and every webhook of the project that receives it (families and '*' included)."""

    event = serializers.CharField()
    description = serializers.CharField()
    category = serializers.CharField()
    url = serializers.CharField(allow_null=True)
    webhook = serializers.UUIDField(allow_null=True)
    receivers = ReceiverSerializer(many=True)


class GridUpdateSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000, validators=Webhook.url_validators())


class DeliveryLogSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    webhook = serializers.UUIDField(source="webhook.uuid", read_only=True)
    event_id = serializers.CharField(source="event.msg_id", read_only=True)

    class Meta:
        model = DeliveryLog
        fields = [
            "id",
            "webhook",
            "event_type",
            "event_id",
            "attempt",
            "trigger",
            "url",
            "response_status",
            "outcome",
            "duration_ms",
            "error",
            "next_attempt_at",
            "created_at",
        ]


class DeliveryLogDetailSerializer(DeliveryLogSerializer):
    request_body = serializers.SerializerMethodField()

    class Meta(DeliveryLogSerializer.Meta):
        fields = [
            *DeliveryLogSerializer.Meta.fields,
            "request_headers",
            "request_body",
            "response_headers",
            "response_body",
        ]

    def get_request_body(self, log: DeliveryLog) -> dict:
        return json.loads(log.request_body)


class DeliveryLogFilterSerializer(serializers.Serializer):
    event = serializers.CharField(required=False)
    outcome = serializers.ChoiceField(choices=DeliveryLog.Outcome.choices, required=False)
    webhook = serializers.UUIDField(required=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)

    def validate(self, attrs: dict) -> dict:
        since, until = attrs.get("since"), attrs.get("until")
        if since and until and since > until:
            raise serializers.ValidationError({"until": "must not be earlier than since."})
        return attrs


class RedeliverFailedSerializer(serializers.Serializer):
    since = serializers.DateTimeField()


class TestOutcomeSerializer(serializers.Serializer):
    """A test ping's attempt (``delivery``), or "skipped" beyond the per-request limit."""

    webhook = serializers.UUIDField(source="webhook.uuid")
    delivery = DeliveryLogDetailSerializer(source="log", allow_null=True)
    outcome = serializers.CharField()
    status_code = serializers.IntegerField(source="log.response_status", allow_null=True)
    error = serializers.SerializerMethodField()

    def get_error(self, outcome: operations.TestOutcome) -> str:
        if outcome.log is None:
            limit = webhook_settings.MAX_TESTS_PER_REQUEST
            return f"Not tested: a request tests at most {limit} webhooks; test it alone."
        return outcome.log.error
