"""The admin of what was received: every message, its handler's outcome, its payload,
and a replay action that runs the message's handler again."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from webhooks_app.inbox import operations
from webhooks_app.inbox.models import Message


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("received_at", "handler", "msg_id", "scope", "status", "attempts")
    list_filter = ("status", "handler", "scope")
    search_fields = ("=msg_id", "=scope")
    date_hierarchy = "received_at"
    ordering = ("-received_at", "-id")
    show_full_result_count = False
    actions = ["replay"]
    fields = (
        "handler",
        "scope",
        "msg_id",
        "status",
        "attempts",
        "last_error",
        "received_at",
        "handled_at",
        "path",
        "pretty_headers",
        "pretty_payload",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # messages arrive; they are not typed in

    @admin.display(description=_("payload"))
    def pretty_payload(self, message: Message) -> str:
        return _pre(message.payload)

    @admin.display(description=_("headers"))
    def pretty_headers(self, message: Message) -> str:
        return _pre(message.headers)

    @admin.action(description=_("Replay: run the handler again"), permissions=["change"])
    def replay(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        done = operations.replay(queryset.order_by("received_at", "id"))
        handled = sum(1 for outcome in done if outcome.ok)
        if handled:
            self.message_user(
                request,
                ngettext("%d message handled.", "%d messages handled.", handled) % handled,
                messages.SUCCESS,
            )
        for outcome in done:
            if not outcome.ok:
                reason = outcome.error or f"the handler answered {outcome.status}"
                self.message_user(request, f"{outcome.message}: {reason}", messages.ERROR)


def _pre(value: Any) -> str:
    """JSON indented for reading; other text as it is."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return format_html("<pre>{}</pre>", value)
    text = json.dumps(value, indent=2, ensure_ascii=False)
    # A lone surrogate (from a "\ud800" escape) cannot be sent as UTF-8: show it replaced.
    text = text.encode("utf-8", "replace").decode("utf-8")
    return format_html('<pre style="white-space:pre-wrap">{}</pre>', text)
