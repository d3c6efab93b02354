"""Serializers of the settings-screen API. The secret is only ever in the responses to
creating a webhook or rotating its secret."""

from __future__ import annotations

import json

from django.db import transaction
from rest_framework import serializers

from webhooks_app.events import catalog
from webhooks_app.models import DeliveryLog, Subscription, Webhook
from webhooks_app.validators import validate_endpoint_url


def validate_event_patterns(patterns: list[str]) -> list[str]:
    seen: set[str] = set()
    for pattern in patterns:
        if not catalog.is_valid_pattern(pattern):
            raise serializers.ValidationError(f"Unknown event {pattern!r}.")
        if pattern in seen:
            raise serializers.ValidationError(f"Duplicate subscription {pattern!r}.")
        seen.add(pattern)
    return patterns


def events_of_categories(names: list[str]) -> list[str]:
    grouped = catalog.by_category()
    events: list[str] = []
    for name in names:
        if name not in grouped:
            raise serializers.ValidationError(
                f"Unknown category {name!r}; one of: {', '.join(grouped)}."
            )
        events.extend(e.name for e in grouped[name])
    return events


class EventTypeSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()


class CategorySerializer(serializers.Serializer):
    name = serializers.CharField()
    events = EventTypeSerializer(many=True)


class WebhookSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    url = serializers.CharField(max_length=2000, validators=[validate_endpoint_url])
    events = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        help_text="Exact events ('issues.store'), families ('issues.*') or '*' for all.",
    )
    categories = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        write_only=True,
        help_text="Subscribe to every event of these categories (see the event catalog).",
    )
    status = serializers.CharField(read_only=True)

    class Meta:
        model = Webhook
        fields = [
            "id",
            "name",
            "url",
            "enabled",
            "verify_tls",
            "events",
            "categories",
            "status",
            "consecutive_failures",
            "disabled_at",
            "disabled_reason",
            "disabled_detail",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "consecutive_failures",
            "disabled_at",
            "disabled_reason",
            "disabled_detail",
            "created_at",
            "updated_at",
        ]

    def validate_events(self, value: list[str]) -> list[str]:
        return validate_event_patterns(value)

    def validate_categories(self, value: list[str]) -> list[str]:
        return events_of_categories(value)

    def validate(self, attrs: dict) -> dict:
        if "categories" in attrs:
            merged = attrs.get("events", []) + [
                e for e in attrs.pop("categories") if e not in attrs.get("events", [])
            ]
            attrs["events"] = merged
        return attrs

    def to_representation(self, instance: Webhook) -> dict:
        data = super().to_representation(instance)
        data["events"] = [s.event_type for s in instance.subscriptions.all()]
        return data

    @transaction.atomic
    def create(self, validated_data: dict) -> Webhook:
        events = validated_data.pop("events", [])
        webhook = Webhook.objects.create(project=self.context["project"], **validated_data)
        self._set_events(webhook, events)
        return webhook

    @transaction.atomic
    def update(self, instance: Webhook, validated_data: dict) -> Webhook:
        events = validated_data.pop("events", None)
        enabled = validated_data.pop("enabled", None)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        if validated_data:
            # Only the fields sent: workers update the failure counter (and may disable
            # the webhook) meanwhile, and a full save would write stale values back.
            instance.save(update_fields=[*validated_data, "updated_at"])
        # Through the model, which records who disabled it, or resets the count and
        # sends what was held.
        if enabled and not instance.enabled:
            instance.enable()
        elif enabled is False and instance.status != "disabled":
            instance.disable()
        if events is not None:
            instance.subscriptions.exclude(event_type__in=events).delete()
            self._set_events(instance, events)
        return instance

    def _set_events(self, webhook: Webhook, events: list[str]) -> None:
        existing = set(webhook.subscriptions.values_list("event_type", flat=True))
        Subscription.objects.bulk_create(
            [Subscription(webhook=webhook, event_type=e) for e in events if e not in existing]
        )
        if hasattr(webhook, "_prefetched_objects_cache"):
            webhook._prefetched_objects_cache.pop("subscriptions", None)


class WebhookWithSecretSerializer(WebhookSerializer):
    """Shown once: in the response to creating a webhook."""

    secret = serializers.CharField(read_only=True)

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField()
    previous_secret_expires_at = serializers.DateTimeField()


class SubscriptionSerializer(serializers.Serializer):
    event = serializers.CharField(max_length=100)

    def validate_event(self, value: str) -> str:
        validate_event_patterns([value])
        if self.context["webhook"].subscriptions.filter(event_type=value).exists():
            raise serializers.ValidationError(
                f"Duplicate subscription: this webhook is already subscribed to {value!r}."
            )
        return value


class GridRowSerializer(serializers.Serializer):
    """GitScrum's form: one row per event, with the endpoint URL set for it (or null)."""

    event = serializers.CharField()
    description = serializers.CharField()
    category = serializers.CharField()
    url = serializers.CharField(allow_null=True)
    webhook = serializers.UUIDField(allow_null=True)


class GridUpdateSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000, validators=[validate_endpoint_url])


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
    webhook = serializers.UUIDField(source="webhook.uuid")
    delivery = DeliveryLogDetailSerializer(source="log", allow_null=True)
    outcome = serializers.CharField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
