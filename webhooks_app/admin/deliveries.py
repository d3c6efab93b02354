"""Deliveries (what is owed to each endpoint, and the home of redelivery) and the
delivery log (every attempt, as sent and as answered)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from webhooks_app import operations
from webhooks_app.admin.common import (
    EventTypeFilter,
    IdentifierSearchMixin,
    ReadOnlyAdmin,
    admin_url,
    attempt_message,
    log_url,
    outcome_badge,
    pretty_json,
    table,
    when,
)
from webhooks_app.models import Delivery, DeliveryLog

# Redeliveries from one request that are sent in it; more are left to the workers, so a
# large selection cannot hold the admin's request for minutes of receiver timeouts.
SYNC_REDELIVERY_LIMIT = 5


class RedeliverButtonMixin:
    """The change page of a row that leads to a delivery gets a "Redeliver now" button."""

    change_form_template = "admin/webhooks_app/redeliverable_change_form.html"
    # The attribute of the row that holds its delivery's primary key.
    delivery_attname = "pk"

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("webhooks_app.change_webhook")

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        *args: Any,
        obj: Any = None,
        **kwargs: Any,
    ) -> HttpResponse:
        if obj is not None and self.has_redeliver_permission(request):
            context["redeliver_url"] = reverse(
                "admin:webhooks_app_delivery_redeliver", args=[getattr(obj, self.delivery_attname)]
            )
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)  # type: ignore[misc]


def attempts_table(delivery: Delivery, current: DeliveryLog | None = None) -> str:
    logs = delivery.attempt_logs.order_by("attempt", "id")
    return table(
        [
            gettext("Attempt"),
            gettext("Time"),
            gettext("Trigger"),
            gettext("Outcome"),
            gettext("Status code"),
        ],
        [
            [
                format_html(
                    '<a href="{}">#{}</a>{}',
                    admin_url(log),
                    log.attempt,
                    format_html(" <b>({})</b>", gettext("this one"))
                    if current is not None and log.pk == current.pk
                    else "",
                ),
                when(log.created_at),
                log.get_trigger_display(),
                outcome_badge(log.outcome),
                log.response_status or log.error[:60],
            ]
            for log in logs
        ],
        empty=gettext("No attempt yet."),
    )


@admin.register(Delivery)
class DeliveryAdmin(RedeliverButtonMixin, IdentifierSearchMixin, ReadOnlyAdmin):
    """One row per event owed to an endpoint: pending (due, retrying, held), delivered
    or given up. Redelivery happens here."""

    identifier_lookups = ("event__uuid", "webhook__uuid")
    list_display = [
        "time",
        "event_link",
        "webhook_link",
        "status",
        "attempts_link",
        "last_status_code",
        "next_attempt",
    ]
    list_filter = ["status", "trigger", "webhook"]
    list_select_related = ["webhook", "event"]
    search_fields = ["webhook__name", "webhook__url"]
    search_help_text = _(
        "Search by webhook name or URL, or paste a message id (webhook-id: msg_…) or a webhook id."
    )
    actions = ["redeliver_action"]
    fields = [
        "event_link",
        "message_id",
        "webhook_link",
        "status",
        "trigger",
        "attempts_link",
        "last_status_code",
        "next_attempt",
        "time",
        "attempts_table_display",
    ]
    readonly_fields = fields

    @admin.display(description=_("created"), ordering="created_at")
    def time(self, obj: Delivery) -> str:
        return when(obj.created_at)

    @admin.display(description=_("event"))
    def event_link(self, obj: Delivery) -> str:
        return format_html('<a href="{}">{}</a>', admin_url(obj.event), obj.event.event_type)

    @admin.display(description=_("message id (webhook-id)"))
    def message_id(self, obj: Delivery) -> str:
        return obj.event.msg_id

    @admin.display(description=_("webhook"))
    def webhook_link(self, obj: Delivery) -> str:
        return format_html('<a href="{}">{}</a>', admin_url(obj.webhook), obj.webhook)

    @admin.display(description=_("attempts"), ordering="attempts")
    def attempts_link(self, obj: Delivery) -> str:
        return format_html('<a href="{}">{}</a>', log_url(delivery=obj), obj.attempts)

    @admin.display(description=_("next attempt"), ordering="next_attempt_at")
    def next_attempt(self, obj: Delivery) -> str:
        return when(obj.next_attempt_at) if obj.status == Delivery.Status.PENDING else "—"

    @admin.display(description=_("every attempt"))
    def attempts_table_display(self, obj: Delivery) -> str:
        return attempts_table(obj)

    # -- redelivery ------------------------------------------------------------------

    @admin.action(description=_("Redeliver the selected deliveries now"), permissions=["redeliver"])
    def redeliver_action(self, request: HttpRequest, queryset: Any) -> None:
        self.redeliver(request, list(queryset.select_related("webhook", "event")))

    def redeliver(self, request: HttpRequest, deliveries: list[Delivery]) -> None:
        """Send them again (the first few from this request, the rest by the workers)
        and say what happened to each."""
        queued = 0
        for index, delivery in enumerate(deliveries):
            now = index < SYNC_REDELIVERY_LIMIT
            values = {"event": delivery.event.event_type, "webhook": delivery.webhook}
            try:
                log = operations.redeliver(delivery, now=now)
            except operations.DeliveryInFlight:
                self.message_user(
                    request,
                    gettext("“%(event)s” to “%(webhook)s” is being sent right now; not resent.")
                    % values,
                    messages.WARNING,
                )
                continue
            if not now:
                queued += 1
                continue
            held = not delivery.webhook.is_active
            level = messages.WARNING if held else messages.INFO
            if log is not None:
                level = messages.SUCCESS if log.outcome == log.Outcome.SUCCESS else messages.ERROR
            self.message_user(
                request,
                gettext("Redelivered “%(event)s” to “%(webhook)s”: %(outcome)s")
                % {**values, "outcome": attempt_message(log, held=held)},
                level,
            )
        if queued:
            self.message_user(
                request,
                ngettext(
                    "%(count)d more delivery is queued for redelivery.",
                    "%(count)d more deliveries are queued for redelivery.",
                    queued,
                )
                % {"count": queued},
                messages.INFO,
            )

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<path:object_id>/redeliver/",
                self.admin_site.admin_view(self.redeliver_view),
                name="webhooks_app_delivery_redeliver",
            ),
            *super().get_urls(),
        ]

    @method_decorator(require_POST)
    def redeliver_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        delivery = self.get_object(request, unquote(object_id))
        if delivery is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_redeliver_permission(request):
            raise PermissionDenied
        self.redeliver(request, [delivery])
        return redirect(log_url(delivery=delivery))


class DeliveryFilter(admin.SimpleListFilter):
    """Shown only when set: the attempts of one delivery, linked from elsewhere."""

    title = _("delivery")
    parameter_name = "delivery"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        value = self.value()
        if not (value and value.isdigit()):
            return []
        delivery = Delivery.objects.select_related("event", "webhook").filter(pk=value).first()
        return [(value, str(delivery))] if delivery else []

    def queryset(self, request: Any, queryset: Any) -> Any:
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(delivery_id=value)
        return queryset


@admin.register(DeliveryLog)
class DeliveryLogAdmin(RedeliverButtonMixin, IdentifierSearchMixin, ReadOnlyAdmin):
    identifier_lookups = ("uuid", "event__uuid", "webhook__uuid")
    delivery_attname = "delivery_id"
    list_display = [
        "time",
        "event_link",
        "webhook_link",
        "attempt_display",
        "trigger",
        "status_code",
        "outcome_display",
        "duration",
    ]
    list_filter = ["outcome", "trigger", EventTypeFilter, "webhook", "created_at", DeliveryFilter]
    list_select_related = ["webhook"]
    search_fields = ["event_type", "url", "webhook__name"]
    search_help_text = _(
        "Search by event type, URL or webhook name, or paste a delivery id "
        "(X-Webhook-Delivery), a message id (webhook-id: msg_…) or a webhook id."
    )
    actions = ["redeliver_action"]
    fieldsets = [
        (
            _("Attempt"),
            {
                "fields": [
                    "webhook_link",
                    "event_link",
                    "delivery_summary",
                    "attempt_display",
                    "trigger",
                    "outcome_display",
                    "time",
                    "duration",
                    "next_attempt",
                    "attempt_id",
                    "message_id",
                ]
            },
        ),
        (
            _("Request"),
            {"fields": ["request_url", "request_headers_display", "request_body_display"]},
        ),
        (
            _("Response"),
            {
                "fields": [
                    "status_code",
                    "response_headers_display",
                    "response_body_display",
                    "error",
                ]
            },
        ),
        (_("Every attempt of this delivery"), {"fields": ["attempts"]}),
    ]
    readonly_fields = [
        "webhook_link",
        "event_link",
        "delivery_summary",
        "attempt_display",
        "outcome_display",
        "time",
        "duration",
        "next_attempt",
        "attempt_id",
        "message_id",
        "request_url",
        "request_headers_display",
        "request_body_display",
        "status_code",
        "response_headers_display",
        "response_body_display",
        "attempts",
    ]

    @admin.display(description=_("time"), ordering="created_at")
    def time(self, obj: DeliveryLog) -> str:
        return when(obj.created_at)

    @admin.display(description=_("event"), ordering="event_type")
    def event_link(self, obj: DeliveryLog) -> str:
        url = reverse("admin:webhooks_app_event_change", args=[obj.event_id])
        return format_html('<a href="{}">{}</a>', url, obj.event_type)

    @admin.display(description=_("webhook"))
    def webhook_link(self, obj: DeliveryLog) -> str:
        return format_html('<a href="{}">{}</a>', admin_url(obj.webhook), obj.webhook)

    @admin.display(description=_("attempt"), ordering="attempt")
    def attempt_display(self, obj: DeliveryLog) -> str:
        return f"#{obj.attempt}"

    @admin.display(description=_("status code"), ordering="response_status")
    def status_code(self, obj: DeliveryLog) -> str:
        if obj.response_status is not None:
            return str(obj.response_status)
        return format_html('<span title="{}">— {}</span>', obj.error, obj.error[:40])

    @admin.display(description=_("outcome"), ordering="outcome")
    def outcome_display(self, obj: DeliveryLog) -> str:
        return outcome_badge(obj.outcome)

    @admin.display(description=_("duration"), ordering="duration_ms")
    def duration(self, obj: DeliveryLog) -> str:
        return f"{obj.duration_ms:.0f} ms"

    @admin.display(description=_("next attempt"))
    def next_attempt(self, obj: DeliveryLog) -> str:
        if obj.next_attempt_at:
            return when(obj.next_attempt_at)
        if obj.outcome == DeliveryLog.Outcome.SUCCESS:
            return gettext("None: delivered")
        return gettext("None: given up after this attempt")

    @admin.display(description=_("attempt id (X-Webhook-Delivery)"))
    def attempt_id(self, obj: DeliveryLog) -> str:
        return str(obj.uuid)

    @admin.display(description=_("URL"))
    def request_url(self, obj: DeliveryLog) -> str:
        return obj.url

    @admin.display(description=_("message id (webhook-id)"))
    def message_id(self, obj: DeliveryLog) -> str:
        return obj.event.msg_id

    @admin.display(description=_("delivery"))
    def delivery_summary(self, obj: DeliveryLog) -> str:
        delivery = obj.delivery
        return format_html(
            '<a href="{}">{}</a> — {} — <a href="{}">{}</a>',
            admin_url(delivery),
            delivery.get_status_display(),
            ngettext("%(count)d attempt", "%(count)d attempts", delivery.attempts)
            % {"count": delivery.attempts},
            log_url(delivery=delivery),
            gettext("show every attempt in the log"),
        )

    @admin.display(description=_("request headers"))
    def request_headers_display(self, obj: DeliveryLog) -> str:
        return pretty_json(obj.request_headers)

    @admin.display(description=_("request body"))
    def request_body_display(self, obj: DeliveryLog) -> str:
        return pretty_json(obj.request_body)

    @admin.display(description=_("response headers"))
    def response_headers_display(self, obj: DeliveryLog) -> str:
        return pretty_json(obj.response_headers)

    @admin.display(description=_("response body"))
    def response_body_display(self, obj: DeliveryLog) -> str:
        return pretty_json(obj.response_body)

    @admin.display(description=_("attempts"))
    def attempts(self, obj: DeliveryLog) -> str:
        return attempts_table(obj.delivery, current=obj)

    @admin.action(description=_("Redeliver the selected deliveries now"), permissions=["redeliver"])
    def redeliver_action(self, request: HttpRequest, queryset: Any) -> None:
        ids = set(queryset.values_list("delivery_id", flat=True))
        deliveries = Delivery.objects.filter(pk__in=ids).select_related("webhook", "event")
        self.admin_site._registry[Delivery].redeliver(request, list(deliveries.order_by("pk")))
