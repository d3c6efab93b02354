"""The Django admin of webhooks: endpoints and their events, and the delivery log.

Everything an operator does here takes effect at once and says what happened: a test
ping and a redelivery are sent from the admin's own request (no worker needed), and
their outcome (status code, error, duration) comes back as a message.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connections, models
from django.db.models import Count, OuterRef, Q
from django.db.models.functions import Coalesce
from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from webhooks_app.conf import webhook_settings
from webhooks_app.delivery import send_test
from webhooks_app.events import PING, catalog
from webhooks_app.exceptions import ActivationRefused
from webhooks_app.forms import RedeliverFailedForm, SubscriptionForm, WebhookForm, describe_pattern
from webhooks_app.models import (
    Delivery,
    DeliveryLog,
    DisabledReason,
    Event,
    Subscription,
    Webhook,
)

# Session key listing the webhooks whose current secret may be shown, once.
REVEAL_SESSION_KEY = "webhooks_app.reveal_secrets"
# Redeliveries from one request that are sent in it; more are left to the workers, so a
# large selection cannot hold the admin's request for minutes of receiver timeouts.
SYNC_REDELIVERY_LIMIT = 5

STATUS_COLOURS = {
    "active": "#15803d",
    "failing": "#b45309",
    "auto-disabled": "#b91c1c",
    "disabled": "#4b5563",
}


def when(value) -> str:
    """A timestamp to the second, in the current time zone: log entries are often
    seconds apart, and the default admin format drops seconds."""
    if value is None:
        return "—"
    return format_date(timezone.localtime(value), "Y-m-d H:i:s T")


def status_label(webhook: Webhook) -> str:
    status = webhook.status
    if status == "failing":
        return ngettext(
            "Failing (%(count)d failure in a row)",
            "Failing (%(count)d in a row)",
            webhook.consecutive_failures,
        ) % {"count": webhook.consecutive_failures}
    return {
        "active": gettext("Active"),
        "auto-disabled": gettext("Disabled automatically"),
        "disabled": gettext("Disabled by hand"),
    }[status]


def status_explanation(webhook: Webhook) -> str:
    status = webhook.status
    if status == "active":
        return gettext("Receives its events.")
    if status == "failing":
        return gettext(
            "Still receives its events, but the last deliveries failed; it is disabled "
            "automatically after %(threshold)d failures in a row."
        ) % {"threshold": webhook_settings.FAILURE_THRESHOLD}
    if status == "disabled":
        return gettext("Someone disabled it: it receives nothing until it is enabled again.")
    if webhook.disabled_reason == DisabledReason.GONE:
        return gettext("The endpoint answered 410 Gone. Nothing is sent until it is enabled again.")
    return gettext(
        "Its endpoint kept failing. New events are held, not lost: enabling it sends "
        "them. Send a test ping first to check the endpoint works again."
    )


def status_badge(webhook: Webhook) -> str:
    return format_html(
        '<span title="{}" style="color:#fff;background:{};padding:2px 8px;'
        'border-radius:9px;white-space:nowrap">{}</span>',
        webhook.disabled_detail or status_explanation(webhook),
        STATUS_COLOURS[webhook.status],
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


def pretty_json(value) -> str:
    """JSON (a string or data) indented for reading; other text as it is."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return format_html('<pre class="webhooks-pre">{}</pre>', value or "—")
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)
    return format_html('<pre class="webhooks-pre">{}</pre>', text)


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

    def get_search_results(self, request, queryset, search_term):
        ident = parse_identifier(search_term)
        if ident is not None:
            matches = Q()
            for lookup in self.identifier_lookups:
                matches |= Q(**{lookup: ident})
            return queryset.filter(matches), False
        return super().get_search_results(request, queryset, search_term)


def attempt_outcome(delivery: Delivery, attempts_before: int) -> tuple[int, str]:
    """The message level and words for what the last synchronous attempt did."""
    if delivery.attempts == attempts_before:
        if not Webhook.objects.filter(pk=delivery.webhook_id, enabled=True).exists():
            return messages.WARNING, gettext(
                "not sent, because the webhook is disabled; it is sent when the webhook "
                "is enabled again."
            )
        return messages.INFO, gettext("queued; the delivery workers send it in a moment.")
    log = delivery.attempt_logs.order_by("-attempt", "-pk").first()
    values = {
        "attempt": log.attempt,
        "status": log.response_status,
        "error": log.error,
        "duration": round(log.duration_ms),
    }
    if log.outcome == DeliveryLog.Outcome.SUCCESS:
        return messages.SUCCESS, gettext(
            "attempt #%(attempt)d succeeded: HTTP %(status)s in %(duration)d ms."
        ) % values
    if log.response_status is None:
        text = gettext("attempt #%(attempt)d failed: %(error)s") % values
    else:
        text = gettext("attempt #%(attempt)d failed: HTTP %(status)s.") % values
    if delivery.status == Delivery.Status.PENDING and delivery.next_attempt_at:
        text += " " + gettext("Next retry at %(when)s.") % {"when": when(delivery.next_attempt_at)}
    return messages.ERROR, text


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

    def _estimate(self, queryset) -> int:
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


class LargeTableAdmin(admin.ModelAdmin):
    """A changelist that does no whole-table work: no date hierarchy (its links sort or
    scan every row), no second count of the unfiltered table, bounded counts."""

    paginator = LargeTablePaginator
    show_full_result_count = False
    list_per_page = 50


def admin_url(obj, view: str = "change") -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[quote(obj.pk)])


def safe_next(request, url: str | None, default: str) -> str:
    if url and url_has_allowed_host_and_scheme(url, {request.get_host()}, request.is_secure()):
        return url
    return default


class WebhookStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [
            ("active", _("Active")),
            ("failing", _("Failing")),
            ("auto-disabled", _("Disabled automatically")),
            ("disabled", _("Disabled by hand")),
        ]

    def queryset(self, request, queryset):
        manual = Q(disabled_reason=DisabledReason.MANUAL)
        return {
            "active": queryset.filter(enabled=True, consecutive_failures=0),
            "failing": queryset.filter(enabled=True, consecutive_failures__gt=0),
            "auto-disabled": queryset.filter(enabled=False).exclude(manual),
            "disabled": queryset.filter(manual, enabled=False),
        }.get(self.value(), queryset)


class EventTypeFilter(admin.SimpleListFilter):
    """Event types from the catalog: no scan of a large table for its distinct values."""

    title = _("event")
    parameter_name = "event_type"

    def lookups(self, request, model_admin):
        return [(PING, f"{PING} — {gettext('Test ping')}")] + [
            (event.name, event.name) for event in catalog
        ]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(event_type=self.value())
        return queryset


class DeliveryFilter(admin.SimpleListFilter):
    """Shown only when set: the attempts of one delivery, linked from elsewhere."""

    title = _("delivery")
    parameter_name = "delivery"

    def lookups(self, request, model_admin):
        value = self.value()
        if not (value and value.isdigit()):
            return []
        delivery = Delivery.objects.select_related("event", "webhook").filter(pk=value).first()
        return [(value, str(delivery))] if delivery else []

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(delivery_id=value)
        return queryset


class ProjectFilter(admin.RelatedFieldListFilter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.empty_value_display = gettext("All projects (organisation-wide)")


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    form = SubscriptionForm
    fields = ["event_type", "covers"]
    readonly_fields = ["covers"]
    verbose_name = _("event")
    verbose_name_plural = _("events")

    def get_extra(self, request, obj=None, **kwargs):
        return 3 if obj is None else 1

    @admin.display(description=_("what it covers"))
    def covers(self, obj: Subscription) -> str:
        return describe_pattern(obj.event_type) if obj.pk else "—"


@admin.register(Webhook)
class WebhookAdmin(IdentifierSearchMixin, admin.ModelAdmin):
    form = WebhookForm
    list_display = [
        "__str__",
        "project_display",
        "url",
        "events_display",
        "status_display",
        "log_link",
    ]
    list_filter = [WebhookStatusFilter, ("project", ProjectFilter)]
    list_select_related = ["project"]
    search_fields = ["name", "url"]
    search_help_text = _("Search by name, payload URL or webhook id.")
    inlines = [SubscriptionInline]
    readonly_fields = [
        "status_detail",
        "secret_display",
        "recent_deliveries",
        "uuid",
        "created_at",
        "updated_at",
    ]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = [
        "send_test_action",
        "enable_action",
        "disable_action",
        "rotate_secret_action",
        "redeliver_failed_action",
    ]

    def get_fieldsets(self, request, obj=None):
        endpoint = (
            _("Endpoint"),
            {"fields": ["project", "name", "url", "enabled", "verify_tls"]},
        )
        if obj is None:
            return [endpoint]
        return [
            (_("Status"), {"fields": ["status_detail", "secret_display", "recent_deliveries"]}),
            endpoint,
            (
                _("Identifiers"),
                {"fields": ["uuid", "created_at", "updated_at"], "classes": ["collapse"]},
            ),
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.base_fields["project"].empty_label = gettext("All projects (organisation-wide)")
        form.base_fields["enabled"].help_text = _(
            "Untick to disable the webhook by hand. Ticking it re-enables the webhook and "
            "sends the events held while it was disabled automatically."
        )
        return form

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("subscriptions")

    # -- columns and read-only fields ------------------------------------------------

    @admin.display(description=_("project"), ordering="project__name")
    def project_display(self, obj: Webhook) -> str:
        return str(obj.project) if obj.project_id else gettext("All projects")

    @admin.display(description=_("events"))
    def events_display(self, obj: Webhook) -> str:
        patterns = [s.event_type for s in obj.subscriptions.all()]
        if not patterns:
            return format_html('<span style="color:#b45309">{}</span>', gettext("None"))
        shown = ", ".join(patterns[:3])
        if len(patterns) > 3:
            shown += " " + gettext("and %(count)d more") % {"count": len(patterns) - 3}
        return shown

    @admin.display(description=_("status"), ordering="enabled")
    def status_display(self, obj: Webhook) -> str:
        return status_badge(obj)

    @admin.display(description=_("deliveries"))
    def log_link(self, obj: Webhook) -> str:
        return format_html('<a href="{}">{}</a>', self._log_url(obj), gettext("Delivery log"))

    @admin.display(description=_("status"))
    def status_detail(self, obj: Webhook) -> str:
        lines = [format_html("{}&nbsp; {}", status_badge(obj), status_explanation(obj))]
        if not obj.enabled:
            lines.append(
                format_html(
                    "{}: {} — {}",
                    gettext("Disabled"),
                    when(obj.disabled_at),
                    obj.get_disabled_reason_display(),
                )
            )
            if obj.disabled_detail:
                lines.append(format_html("{}: {}", gettext("Detail"), obj.disabled_detail))
        if obj.consecutive_failures:
            lines.append(
                format_html(
                    "{}: {}", gettext("Consecutive failed deliveries"), obj.consecutive_failures
                )
            )
        return format_html_join("", "<div>{}</div>", ((line,) for line in lines))

    @admin.display(description=_("signing secret"))
    def secret_display(self, obj: Webhook) -> str:
        text = gettext(
            "Hidden. It is shown once, when the webhook is added and after each rotation; "
            "use “Rotate secret” above to issue a new one."
        )
        if len(obj.signing_secrets()) > 1:
            text += " " + gettext("The previous secret also signs deliveries until %(when)s.") % {
                "when": when(obj.previous_secret_expires_at)
            }
        return text

    @admin.display(description=_("recent deliveries"))
    def recent_deliveries(self, obj: Webhook) -> str:
        logs = list(obj.delivery_logs.order_by("-created_at", "-id")[:5])
        if not logs:
            return gettext("No delivery attempt yet. “Send test ping” above sends one.")
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>#{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    admin_url(log),
                    when(log.created_at),
                    log.event_type,
                    log.attempt,
                    outcome_badge(log.outcome),
                    log.response_status or log.error[:60],
                )
                for log in logs
            ),
        )
        return format_html(
            '<table class="webhooks-table"><thead><tr><th>{}</th><th>{}</th><th>{}</th>'
            "<th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>"
            '<p><a href="{}">{}</a></p>',
            gettext("Time"),
            gettext("Event"),
            gettext("Attempt"),
            gettext("Outcome"),
            gettext("Status code"),
            rows,
            self._log_url(obj),
            gettext("All deliveries of this webhook"),
        )

    def _log_url(self, obj: Webhook) -> str:
        url = reverse("admin:webhooks_app_deliverylog_changelist")
        return f"{url}?{urlencode({'webhook__id__exact': obj.pk})}"

    # -- saving ----------------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        if not change:
            if not obj.enabled:
                obj.disabled_reason = DisabledReason.MANUAL
                obj.disabled_at = timezone.now()
            obj.save()
            return
        # Only what the form changed: workers update the failure counters and may disable
        # the webhook meanwhile, and a full save would write stale values back.
        fields = [name for name in form.changed_data if name != "enabled"]
        if fields:
            obj.save(update_fields=[*fields, "updated_at"])
        if "enabled" in form.changed_data:
            # Through the model, which records who disabled it or sends what was held.
            wanted, obj.enabled = obj.enabled, form.initial["enabled"]
            if wanted:
                self._enable(request, [obj])
            else:
                self._disable(request, [obj])

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        webhook = form.instance
        if not webhook.subscriptions.exists():
            self.message_user(
                request,
                gettext(
                    "“%(webhook)s” subscribes to no events, so it receives only test pings. "
                    "Choose its events under “Events”."
                )
                % {"webhook": webhook},
                messages.WARNING,
            )

    def response_add(self, request, obj, post_url_continue=None):
        response = super().response_add(request, obj, post_url_continue)
        if IS_POPUP_VAR in request.POST or not isinstance(response, HttpResponseRedirect):
            return response
        return self._reveal_secrets(request, [obj], response.url)

    # -- actions ---------------------------------------------------------------------

    @admin.action(
        description=_("Send a test ping to the selected webhooks"), permissions=["change"]
    )
    def send_test_action(self, request, queryset):
        limit = webhook_settings.MAX_TESTS_PER_REQUEST
        webhooks = list(queryset)
        # Each ping may take up to TIMEOUT while the page waits.
        for webhook in webhooks[:limit]:
            self._send_test(request, webhook)
        if len(webhooks) > limit:
            self.message_user(
                request,
                gettext("Only %(limit)d webhooks are tested at once; %(rest)d were not tested.")
                % {"limit": limit, "rest": len(webhooks) - limit},
                messages.WARNING,
            )

    @admin.action(
        description=_("Enable the selected webhooks (and send what was held)"),
        permissions=["change"],
    )
    def enable_action(self, request, queryset):
        self._enable(request, list(queryset))

    @admin.action(description=_("Disable the selected webhooks"), permissions=["change"])
    def disable_action(self, request, queryset):
        self._disable(request, list(queryset))

    @admin.action(
        description=_("Rotate the signing secret of the selected webhooks"), permissions=["change"]
    )
    def rotate_secret_action(self, request, queryset):
        webhooks = list(queryset)
        for webhook in webhooks:
            webhook.rotate_secret()
        return self._reveal_secrets(request, webhooks, request.get_full_path())

    @admin.action(
        description=_("Redeliver failed deliveries of the selected webhooks…"),
        permissions=["change"],
    )
    def redeliver_failed_action(self, request, queryset):
        return self._redeliver_failed(request, list(queryset), action=True)

    def _send_test(self, request, webhook: Webhook) -> None:
        delivery = send_test(webhook)
        level, outcome = attempt_outcome(delivery, 0)
        self.message_user(
            request,
            gettext("“%(webhook)s”: test ping %(outcome)s")
            % {"webhook": webhook, "outcome": outcome},
            level,
        )

    def _enable(self, request, webhooks: list[Webhook]) -> None:
        for webhook in webhooks:
            if webhook.enabled:
                self.message_user(
                    request,
                    gettext("“%(webhook)s” was already enabled.") % {"webhook": webhook},
                    messages.INFO,
                )
                continue
            try:
                resumed = webhook.enable()
            except ActivationRefused as refusal:
                self.message_user(
                    request,
                    gettext("“%(webhook)s” was not enabled: %(why)s")
                    % {"webhook": webhook, "why": refusal},
                    messages.ERROR,
                )
                continue
            text = gettext("“%(webhook)s” is enabled and receives its events again.") % {
                "webhook": webhook
            }
            if resumed:
                text += " " + ngettext(
                    "%(count)d held delivery is being sent now.",
                    "%(count)d held deliveries are being sent now.",
                    resumed,
                ) % {"count": resumed}
            self.message_user(request, text, messages.SUCCESS)

    def _disable(self, request, webhooks: list[Webhook]) -> None:
        for webhook in webhooks:
            if webhook.disable():
                text = gettext(
                    "“%(webhook)s” is disabled by hand: it receives no events until it is "
                    "enabled again."
                )
                level = messages.SUCCESS
            else:
                text = gettext("“%(webhook)s” was already disabled.")
                level = messages.INFO
            self.message_user(request, text % {"webhook": webhook}, level)

    def _reveal_secrets(self, request, webhooks: list[Webhook], next_url: str):
        """Let the secrets page show these webhooks' secrets once, and go there.

        Only ids go into the session: the secret itself is read from the database by the
        page, so it is never copied into a cookie or a session row.
        """
        request.session[REVEAL_SESSION_KEY] = [w.pk for w in webhooks]
        url = reverse("admin:webhooks_app_webhook_secrets")
        return HttpResponseRedirect(f"{url}?{urlencode({'next': next_url})}")

    def _redeliver_failed(self, request, webhooks: list[Webhook], *, action: bool):
        form = RedeliverFailedForm(request.POST if "confirm" in request.POST else None)
        if form.is_bound and form.is_valid():
            start = form.cleaned_data["start"]
            for webhook in webhooks:
                count = webhook.redeliver_failed(start)
                values = {"webhook": webhook, "count": count, "since": when(start)}
                if not count:
                    text = gettext("“%(webhook)s”: no failed deliveries since %(since)s.")
                    level = messages.INFO
                else:
                    text = ngettext(
                        "“%(webhook)s”: %(count)d failed delivery since %(since)s is being "
                        "sent again.",
                        "“%(webhook)s”: %(count)d failed deliveries since %(since)s are being "
                        "sent again.",
                        count,
                    )
                    level = messages.SUCCESS
                    if not webhook.enabled:
                        text += " " + gettext("They are held until the webhook is enabled.")
                        level = messages.WARNING
                self.message_user(request, text % values, level)
            if action:
                return None
            return redirect(admin_url(webhooks[0]))

        day_ago = timezone.now() - timedelta(hours=24)
        failed = Q(deliveries__status=Delivery.Status.FAILED)
        rows = Webhook.objects.filter(pk__in=[w.pk for w in webhooks]).annotate(
            failed_total=Count("deliveries", filter=failed),
            failed_recent=Count(
                "deliveries", filter=failed & Q(deliveries__created_at__gte=day_ago)
            ),
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Redeliver failed deliveries"),
            "form": form,
            "media": self.media + form.media,
            "rows": [(webhook, status_badge(webhook)) for webhook in rows],
            "action": action,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "cancel_url": request.get_full_path() if action else admin_url(webhooks[0]),
        }
        return TemplateResponse(
            request, "admin/webhooks_app/webhook/redeliver_failed.html", context
        )

    # -- views of their own ------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("secrets/", view(self.secrets_view), name="webhooks_app_webhook_secrets"),
            path(
                "<path:object_id>/send-test/",
                view(self.send_test_view),
                name="webhooks_app_webhook_send_test",
            ),
            path(
                "<path:object_id>/rotate-secret/",
                view(self.rotate_secret_view),
                name="webhooks_app_webhook_rotate_secret",
            ),
            path(
                "<path:object_id>/redeliver-failed/",
                view(self.redeliver_failed_view),
                name="webhooks_app_webhook_redeliver_failed",
            ),
            *super().get_urls(),
        ]

    def secrets_view(self, request):
        next_url = safe_next(
            request,
            request.GET.get("next"),
            reverse("admin:webhooks_app_webhook_changelist"),
        )
        pks = request.session.pop(REVEAL_SESSION_KEY, [])
        webhooks = [
            webhook
            for webhook in Webhook.objects.filter(pk__in=pks).select_related("project")
            if self.has_change_permission(request, webhook)
        ]
        if not webhooks:
            self.message_user(
                request,
                gettext(
                    "Signing secrets are shown only once, right after a webhook is added or "
                    "its secret is rotated. Rotate the secret to get a new one."
                ),
                messages.INFO,
            )
            return redirect(next_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": ngettext("Signing secret", "Signing secrets", len(webhooks)),
            "webhooks": webhooks,
            "next_url": next_url,
            "rotated": [
                (webhook, when(webhook.previous_secret_expires_at))
                for webhook in webhooks
                if len(webhook.signing_secrets()) > 1
            ],
        }
        return TemplateResponse(request, "admin/webhooks_app/webhook/secrets.html", context)

    @method_decorator(require_POST)
    def send_test_view(self, request, object_id):
        return self._object_view(request, object_id, self._send_test_and_return)

    @method_decorator(require_POST)
    def rotate_secret_view(self, request, object_id):
        return self._object_view(request, object_id, self._rotate_and_reveal)

    def redeliver_failed_view(self, request, object_id):
        return self._object_view(
            request,
            object_id,
            lambda request, webhook: self._redeliver_failed(request, [webhook], action=False),
        )

    def _object_view(self, request, object_id, handle):
        webhook = self.get_object(request, unquote(object_id))
        if webhook is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, webhook):
            raise PermissionDenied
        return handle(request, webhook)

    def _send_test_and_return(self, request, webhook):
        self._send_test(request, webhook)
        return redirect(admin_url(webhook))

    def _rotate_and_reveal(self, request, webhook):
        webhook.rotate_secret()
        return self._reveal_secrets(request, [webhook], admin_url(webhook))


class ReadOnlyAdmin(LargeTableAdmin):
    """Records of what happened: viewable, never edited, added or deleted by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DeliveryLog)
class DeliveryLogAdmin(IdentifierSearchMixin, ReadOnlyAdmin):
    identifier_lookups = ("uuid", "event__uuid", "webhook__uuid")
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
    list_filter = [
        "outcome",
        "trigger",
        EventTypeFilter,
        "webhook",
        "created_at",
        DeliveryFilter,
    ]
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
        (_("Every attempt of this delivery"), {"fields": ["attempts_table"]}),
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
        "attempts_table",
    ]

    def has_redeliver_permission(self, request):
        return request.user.has_perm("webhooks_app.change_webhook")

    # -- columns and read-only fields ------------------------------------------------

    @admin.display(description=_("time"), ordering="created_at")
    def time(self, obj: DeliveryLog) -> str:
        return when(obj.created_at)

    @admin.display(description=_("event"), ordering="event_type")
    def event_link(self, obj: DeliveryLog) -> str:
        url = reverse("admin:webhooks_app_event_change", args=[obj.event_id])
        return format_html('<a href="{}">{}</a>', url, obj.event_type)

    @admin.display(description=_("webhook"), ordering="webhook__name")
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
            '{} — {} — <a href="{}">{}</a>',
            delivery.get_status_display(),
            ngettext("%(count)d attempt", "%(count)d attempts", delivery.attempts)
            % {"count": delivery.attempts},
            self._attempts_url(delivery.pk),
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
    def attempts_table(self, obj: DeliveryLog) -> str:
        logs = obj.delivery.attempt_logs.order_by("attempt", "id")
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">#{}</a>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    admin_url(log),
                    log.attempt,
                    format_html(" <b>({})</b>", gettext("this one")) if log.pk == obj.pk else "",
                    when(log.created_at),
                    log.get_trigger_display(),
                    outcome_badge(log.outcome),
                    log.response_status or log.error[:60],
                )
                for log in logs
            ),
        )
        return format_html(
            '<table class="webhooks-table"><thead><tr><th>{}</th><th>{}</th><th>{}</th>'
            "<th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            gettext("Attempt"),
            gettext("Time"),
            gettext("Trigger"),
            gettext("Outcome"),
            gettext("Status code"),
            rows,
        )

    @staticmethod
    def _attempts_url(delivery_pk: int) -> str:
        url = reverse("admin:webhooks_app_deliverylog_changelist")
        return f"{url}?{urlencode({'delivery': delivery_pk})}"

    # -- redelivery ------------------------------------------------------------------

    @admin.action(description=_("Redeliver the selected deliveries now"), permissions=["redeliver"])
    def redeliver_action(self, request, queryset):
        delivery_ids = sorted(set(queryset.values_list("delivery_id", flat=True)))
        self._redeliver(request, list(Delivery.objects.filter(pk__in=delivery_ids)))

    def _redeliver(self, request, deliveries: list[Delivery]) -> None:
        queued = 0
        for index, delivery in enumerate(deliveries):
            before = delivery.attempts
            now = index < SYNC_REDELIVERY_LIMIT
            if not delivery.redeliver(now=now):
                self.message_user(
                    request,
                    gettext("“%(event)s” to “%(webhook)s” is being sent right now; not resent.")
                    % {"event": delivery.event.event_type, "webhook": delivery.webhook},
                    messages.WARNING,
                )
                continue
            if not now:
                queued += 1
                continue
            level, outcome = attempt_outcome(delivery, before)
            self.message_user(
                request,
                gettext("Redelivered “%(event)s” to “%(webhook)s”: %(outcome)s")
                % {
                    "event": delivery.event.event_type,
                    "webhook": delivery.webhook,
                    "outcome": outcome,
                },
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

    def get_urls(self):
        return [
            path(
                "<path:object_id>/redeliver/",
                self.admin_site.admin_view(self.redeliver_view),
                name="webhooks_app_deliverylog_redeliver",
            ),
            *super().get_urls(),
        ]

    @method_decorator(require_POST)
    def redeliver_view(self, request, object_id):
        log = self.get_object(request, unquote(object_id))
        if log is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_redeliver_permission(request):
            raise PermissionDenied
        self._redeliver(request, [log.delivery])
        return redirect(self._attempts_url(log.delivery_id))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_redeliver": self.has_redeliver_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Event)
class EventAdmin(IdentifierSearchMixin, ReadOnlyAdmin):
    list_display = ["time", "event_type", "message_id", "project", "delivery_count"]
    list_filter = [EventTypeFilter, "created_at"]
    list_select_related = ["project"]
    search_fields = ["event_type"]
    search_help_text = _("Search by event type, or paste a message id (webhook-id: msg_…).")
    fields = ["event_type", "message_id", "project", "time", "body_display", "deliveries_table"]
    readonly_fields = ["message_id", "time", "body_display", "deliveries_table"]

    def get_queryset(self, request):
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
        if not deliveries:
            return gettext("None.")
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td><a href="{}">{}</a></td>'
            "<td>{}</td></tr>",
            (
                (
                    admin_url(delivery.webhook),
                    delivery.webhook,
                    delivery.get_status_display(),
                    DeliveryLogAdmin._attempts_url(delivery.pk),
                    gettext("%(count)d (see the log)") % {"count": delivery.attempts},
                    delivery.last_status_code or "—",
                )
                for delivery in deliveries
            ),
        )
        return format_html(
            '<table class="webhooks-table"><thead><tr><th>{}</th><th>{}</th><th>{}</th>'
            "<th>{}</th></tr></thead><tbody>{}</tbody></table>",
            gettext("Webhook"),
            gettext("Status"),
            gettext("Attempts"),
            gettext("Last status code"),
            rows,
        )
