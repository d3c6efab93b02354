"""What the webhooks admin's pages share: time and status display, identifier search,
changelists that scale, links to the delivery log."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connections, models
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from webhooks_app.conf import webhook_settings
from webhooks_app.events import PING, catalog
from webhooks_app.models import DeliveryLog, Webhook, WebhookStatus

BADGE_COLOURS = {
    "active": "#15803d",
    "failing": "#b45309",
    WebhookStatus.AUTO_DISABLED: "#b91c1c",
    WebhookStatus.GONE: "#b91c1c",
    WebhookStatus.DISABLED: "#4b5563",
}


def when(value: Any) -> str:
    """A timestamp to the second, in the current time zone: log entries are often
    seconds apart, and the default admin format drops seconds."""
    if value is None:
        return "—"
    return format_date(timezone.localtime(value), "Y-m-d H:i:s T")


def status_label(webhook: Webhook) -> str:
    if webhook.is_failing:
        return ngettext(
            "Failing (%(count)d failure in a row)",
            "Failing (%(count)d in a row)",
            webhook.consecutive_failures,
        ) % {"count": webhook.consecutive_failures}
    return str(WebhookStatus(webhook.status).label)


def status_explanation(webhook: Webhook) -> str:
    if webhook.is_failing:
        return gettext(
            "Still receives its events, but the last deliveries failed; it is disabled "
            "automatically after %(threshold)d failures in a row."
        ) % {"threshold": webhook_settings.FAILURE_THRESHOLD}
    return {
        WebhookStatus.ACTIVE: gettext("Receives its events."),
        WebhookStatus.DISABLED: gettext(
            "Disabled by hand: it receives nothing until it is enabled again."
        ),
        WebhookStatus.GONE: gettext(
            "The endpoint answered 410 Gone. Nothing is sent until it is enabled again."
        ),
        WebhookStatus.AUTO_DISABLED: gettext(
            "Its endpoint kept failing. New events are held, not lost: enabling it sends "
            "them. Send a test ping first to check the endpoint works again."
        ),
    }[WebhookStatus(webhook.status)]


def status_badge(webhook: Webhook) -> str:
    colour = BADGE_COLOURS["failing" if webhook.is_failing else webhook.status]
    return format_html(
        '<span title="{}" style="color:#fff;background:{};padding:2px 8px;'
        'border-radius:9px;white-space:nowrap">{}</span>',
        webhook.disabled_detail or status_explanation(webhook),
        colour,
        status_label(webhook),
    )


def outcome_badge(outcome: str) -> str:
    success = outcome == DeliveryLog.Outcome.SUCCESS
    return format_html(
        '<span style="color:{};font-weight:bold;white-space:nowrap">{} {}</span>',
        "#15803d" if success else "#b91c1c",
        "✔" if success else "✘",
        DeliveryLog.Outcome(outcome).label,
    )


def pretty_json(value: Any) -> str:
    """JSON (a string or data) indented for reading; other text as it is."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return format_html('<pre class="webhooks-pre">{}</pre>', value or "—")
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)
    return format_html('<pre class="webhooks-pre">{}</pre>', text)


def table(
    headers: list[str],
    rows: list[list[Any]],
    *,
    empty: str = "",
    more_url: str = "",
    more_label: str = "",
) -> SafeString:
    """A small table of records, from its template (cells: text, or safe HTML)."""
    context = {
        "headers": headers,
        "rows": rows,
        "empty": empty,
        "more_url": more_url,
        "more_label": more_label,
    }
    return SafeString(render_to_string("admin/webhooks_app/tables/table.html", context))


def admin_url(obj: models.Model, view: str = "change") -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[quote(obj.pk)])


def log_url(**filters: Any) -> str:
    """The delivery log changelist, filtered: ``log_url(webhook=w)``, ``delivery=d``
    (instances or primary keys)."""
    query = {}
    if "webhook" in filters:
        query["webhook__id__exact"] = getattr(filters["webhook"], "pk", filters["webhook"])
    if "delivery" in filters:
        query["delivery"] = getattr(filters["delivery"], "pk", filters["delivery"])
    url = reverse("admin:webhooks_app_deliverylog_changelist")
    return f"{url}?{urlencode(query)}" if query else url


def attempt_message(log: DeliveryLog | None, *, held: bool = False) -> str:
    """What a synchronous attempt did, in words, for a message to the operator."""
    if log is None:
        if held:
            return gettext(
                "not sent, because the webhook is disabled; it is sent when the webhook "
                "is enabled again."
            )
        return gettext("queued; the delivery workers send it in a moment.")
    values = {
        "attempt": log.attempt,
        "status": log.response_status,
        "error": log.error,
        "duration": round(log.duration_ms),
    }
    if log.outcome == DeliveryLog.Outcome.SUCCESS:
        return gettext("attempt #%(attempt)d succeeded: HTTP %(status)s in %(duration)d ms.") % (
            values
        )
    if log.response_status is None:
        text = gettext("attempt #%(attempt)d failed: %(error)s") % values
    else:
        text = gettext("attempt #%(attempt)d failed: HTTP %(status)s.") % values
    if log.next_attempt_at:
        text += " " + gettext("Next retry at %(when)s.") % {"when": when(log.next_attempt_at)}
    return text


def safe_next(request: Any, url: str | None, default: str) -> str:
    # No "/": Django's redirect() would read it as a view name, and fail on "0".
    if (
        url
        and "/" in url
        and url_has_allowed_host_and_scheme(url, {request.get_host()}, request.is_secure())
    ):
        return url
    return default


def parse_identifier(term: str) -> uuid.UUID | None:
    """A delivery id, an event's message id (``msg_…``) or a webhook uuid, if ``term``
    is one."""
    term = term.strip()
    if term.startswith("msg_"):
        term = term[4:]
    try:
        return uuid.UUID(term)
    except ValueError:
        return None


class IdentifierSearchMixin:
    """Pasting an id into the search box finds it; ``identifier_lookups`` say where."""

    identifier_lookups: tuple[str, ...] = ("uuid",)

    def get_search_results(self, request: Any, queryset: Any, search_term: str) -> Any:
        ident = parse_identifier(search_term)
        if ident is not None:
            matches = Q()
            for lookup in self.identifier_lookups:
                matches |= Q(**{lookup: ident})
            return queryset.filter(matches), False
        return super().get_search_results(request, queryset, search_term)  # type: ignore[misc]


class LargeTablePaginator(Paginator):
    """Counts at most ``exact_up_to`` rows; past that, the planner's estimate.

    The admin counts the filtered changelist for its page links. On a table of millions
    of attempts an exact COUNT reads every matching row on every page view; a bounded
    count reads at most ``exact_up_to`` index entries, and the estimate costs a plan.
    """

    exact_up_to = 10_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list.order_by()
        bounded = queryset[: self.exact_up_to + 1].count()
        if bounded <= self.exact_up_to:
            return bounded
        return max(bounded, self._estimate(queryset))

    def _estimate(self, queryset: Any) -> int:
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return 0
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        return int(plan[0]["Plan"]["Plan Rows"])


class CheckedSelectionMixin:
    """Actions run on selected ids that are ids of this model: Django's admin filters by
    whatever was posted, and a value that is not one (``abc``, 30 digits) fails in the
    query with a 500. Such a selection is refused with the message Django gives for an
    empty one."""

    model: Any

    # *args, **kwargs: Django 6 passes the action's location (top or bottom) too.
    def response_action(self, request: Any, queryset: Any, *args: Any, **kwargs: Any) -> Any:
        pk = self.model._meta.pk
        try:
            for value in request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME):
                pk.run_validators(pk.to_python(value))
        except ValidationError:
            self.message_user(  # type: ignore[attr-defined]
                request,
                gettext("Items must be selected in order to perform actions on them."),
                messages.WARNING,
            )
            return None
        return super().response_action(request, queryset, *args, **kwargs)  # type: ignore[misc]


class LargeTableAdmin(CheckedSelectionMixin, admin.ModelAdmin):
    """A changelist that does no whole-table work: no date hierarchy (its links sort or
    scan every row), no second count of the unfiltered table, bounded counts."""

    paginator = LargeTablePaginator
    show_full_result_count = False
    list_per_page = 50


class ReadOnlyAdmin(LargeTableAdmin):
    """Records of what happened: viewable, never edited, added or deleted by hand."""

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class EventTypeFilter(admin.SimpleListFilter):
    """Event types from the catalog: no scan of a large table for its distinct values."""

    title = _("event")
    parameter_name = "event_type"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [(PING, f"{PING} — {gettext('Test ping')}")] + [
            (event.name, event.name) for event in catalog
        ]

    def queryset(self, request: Any, queryset: Any) -> Any:
        if self.value():
            return queryset.filter(event_type=self.value())
        return queryset
