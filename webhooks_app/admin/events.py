"""Events: each occurrence, stored once with the exact body every endpoint was sent."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models import Count, OuterRef
from django.db.models.functions import Coalesce
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from webhooks_app.admin.common import (
    EventTypeFilter,
    IdentifierSearchMixin,
    ReadOnlyAdmin,
    admin_url,
    log_url,
    pretty_json,
    table,
    when,
)
from webhooks_app.models import Delivery, Event


@admin.register(Event)
class EventAdmin(IdentifierSearchMixin, ReadOnlyAdmin):
    list_display = ["time", "event_type", "message_id", "project", "delivery_count"]
    list_filter = [EventTypeFilter, "created_at"]
    list_select_related = ["project"]
    search_fields = ["event_type"]
    search_help_text = _("Search by event type, or paste a message id (webhook-id: msg_…).")
    fields = ["event_type", "message_id", "project", "time", "body_display", "deliveries_table"]
    readonly_fields = ["message_id", "time", "body_display", "deliveries_table"]

    def get_queryset(self, request: Any) -> Any:
        # A correlated count, evaluated for the rows of the page only; a join and GROUP
        # BY would aggregate every event's deliveries to count the changelist.
        per_event = (
            Delivery.objects.filter(event=OuterRef("pk"))
            .order_by()
            .values("event")
            .annotate(total=Count("pk"))
            .values("total")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(delivery_total=Coalesce(models.Subquery(per_event), 0))
        )

    @admin.display(description=_("time"), ordering="created_at")
    def time(self, obj: Event) -> str:
        return when(obj.created_at)

    @admin.display(description=_("message id (webhook-id)"))
    def message_id(self, obj: Event) -> str:
        return obj.msg_id

    @admin.display(description=_("deliveries"), ordering="delivery_total")
    def delivery_count(self, obj: Event) -> int:
        return obj.delivery_total

    @admin.display(description=_("body sent"))
    def body_display(self, obj: Event) -> str:
        return pretty_json(obj.body)

    @admin.display(description=_("deliveries"))
    def deliveries_table(self, obj: Event) -> str:
        deliveries = obj.deliveries.select_related("webhook").order_by("pk")
        return table(
            [
                gettext("Webhook"),
                gettext("Status"),
                gettext("Attempts"),
                gettext("Last status code"),
            ],
            [
                [
                    format_html('<a href="{}">{}</a>', admin_url(d.webhook), d.webhook),
                    format_html('<a href="{}">{}</a>', admin_url(d), d.get_status_display()),
                    format_html(
                        '<a href="{}">{}</a>',
                        log_url(delivery=d),
                        gettext("%(count)d (see the log)") % {"count": d.attempts},
                    ),
                    d.last_status_code or "—",
                ]
                for d in deliveries
            ],
            empty=gettext("None."),
        )
