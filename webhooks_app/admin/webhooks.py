"""The webhooks changelist and change page: endpoints, their events, their status, and
what an operator does to them (through :mod:`webhooks_app.operations`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from webhooks_app import operations
from webhooks_app.admin.common import (
    CheckedSelectionMixin,
    IdentifierSearchMixin,
    admin_url,
    attempt_message,
    log_url,
    outcome_badge,
    safe_next,
    status_badge,
    status_explanation,
    table,
    when,
)
from webhooks_app.admin.forms import (
    WEBHOOK_SETTINGS,
    RedeliverFailedForm,
    SubscriptionForm,
    WebhookForm,
    describe_pattern,
)
from webhooks_app.conf import webhook_settings
from webhooks_app.exceptions import ActivationRefused
from webhooks_app.models import Delivery, RotationStage, Subscription, Webhook, WebhookStatus

# Session key listing the webhooks whose current secret may be shown, once.
REVEAL_SESSION_KEY = "webhooks_app.reveal_secrets"


class WebhookStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, Any]]:
        return [("failing", _("Failing")), *WebhookStatus.choices]

    def queryset(self, request: Any, queryset: Any) -> Any:
        value = self.value()
        if value == "failing":
            return queryset.active().filter(consecutive_failures__gt=0)
        if value in WebhookStatus.values:
            return queryset.filter(status=value)
        return queryset


INSTALLATION_WIDE = _("Installation-wide (staff only)")


class ProjectFilter(admin.RelatedFieldListFilter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.empty_value_display = gettext("No project")


class ScopeFilter(admin.SimpleListFilter):
    """Whose webhooks: a project's, an organisation's, or installation-wide ones."""

    title = _("scope")
    parameter_name = "scope"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, Any]]:
        found = [("project", _("A project's"))]
        if webhook_settings.ORGANIZATION_MODEL:
            found.append(("organization", _("An organisation's")))
        return [*found, ("installation", INSTALLATION_WIDE)]

    def queryset(self, request: Any, queryset: Any) -> Any:
        value = self.value()
        if value == "project":
            return queryset.filter(project__isnull=False)
        if value == "organization":
            return queryset.filter(organization__isnull=False)
        if value == "installation":
            return queryset.filter(project__isnull=True, organization__isnull=True)
        return queryset


class OrganizationFilter(admin.RelatedFieldListFilter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.empty_value_display = gettext("No organisation")


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    form = SubscriptionForm
    fields = ["event_type", "covers"]
    readonly_fields = ["covers"]
    verbose_name = _("event")
    verbose_name_plural = _("events")

    def get_extra(self, request: Any, obj: Any = None, **kwargs: Any) -> int:
        return 3 if obj is None else 1

    @admin.display(description=_("what it covers"))
    def covers(self, obj: Subscription) -> str:
        return describe_pattern(obj.event_type) if obj.pk else "—"


@admin.register(Webhook)
class WebhookAdmin(CheckedSelectionMixin, IdentifierSearchMixin, admin.ModelAdmin):
    form = WebhookForm
    list_display = ["__str__", "project_display", "url", "events_display", "status_display", "log"]
    list_filter = [WebhookStatusFilter, ScopeFilter, ("project", ProjectFilter)]
    list_select_related = ["project", "organization"]
    search_fields = ["name", "url"]
    search_help_text = _("Search by name, payload URL or webhook id.")
    inlines = [SubscriptionInline]
    readonly_fields = [
        "status_detail",
        "secret_display",
        "public_key_display",
        "recent_deliveries",
        "uuid",
        "created_at",
        "updated_at",
    ]
    actions = [
        "send_test_action",
        "enable_action",
        "disable_action",
        "rotate_secret_action",
        "switch_secret_action",
        "redeliver_failed_action",
    ]

    def get_fieldsets(self, request: Any, obj: Any = None) -> Any:
        endpoint = (
            _("Endpoint"),
            {"fields": [*self._scope_fields(), "name", "url", "enabled", *WEBHOOK_SETTINGS]},
        )
        if obj is None:
            return [endpoint]
        return [
            (
                _("Status"),
                {
                    "fields": [
                        "status_detail",
                        "secret_display",
                        "public_key_display",
                        "recent_deliveries",
                    ]
                },
            ),
            endpoint,
            (
                _("Identifiers"),
                {"fields": ["uuid", "created_at", "updated_at"], "classes": ["collapse"]},
            ),
        ]

    def get_queryset(self, request: Any) -> Any:
        return super().get_queryset(request).prefetch_related("subscriptions")

    def get_list_filter(self, request: Any) -> Any:
        if not webhook_settings.ORGANIZATION_MODEL:
            return self.list_filter
        return [*self.list_filter, ("organization", OrganizationFilter)]

    def get_list_select_related(self, request: Any) -> Any:
        # Without organisations the column points at a stand-in and is never set.
        return self.list_select_related if webhook_settings.ORGANIZATION_MODEL else ["project"]

    @staticmethod
    def _scope_fields() -> list[str]:
        return ["project", "organization"] if webhook_settings.ORGANIZATION_MODEL else ["project"]

    # -- columns and read-only fields ------------------------------------------------

    @admin.display(description=_("scope"), ordering="project")
    def project_display(self, obj: Webhook) -> str:
        """The project, the organisation (and that it means all of its projects), or
        installation-wide: staff only, every project's events."""
        if obj.project_id is not None:
            return str(obj.project)
        if obj.organization_id is not None:
            return gettext("%s (every project)") % obj.organization
        return str(INSTALLATION_WIDE)

    @admin.display(description=_("events"))
    def events_display(self, obj: Webhook) -> str:
        patterns = [s.event_type for s in obj.subscriptions.all()]
        if not patterns:
            return format_html('<span style="color:#b45309">{}</span>', gettext("None"))
        shown = ", ".join(patterns[:3])
        if len(patterns) > 3:
            shown += " " + gettext("and %(count)d more") % {"count": len(patterns) - 3}
        return shown

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, obj: Webhook) -> str:
        return status_badge(obj)

    @admin.display(description=_("deliveries"))
    def log(self, obj: Webhook) -> str:
        return format_html('<a href="{}">{}</a>', log_url(webhook=obj), gettext("Delivery log"))

    @admin.display(description=_("status"))
    def status_detail(self, obj: Webhook) -> str:
        lines = [format_html("{}&nbsp; {}", status_badge(obj), status_explanation(obj))]
        if not obj.is_active:
            lines.append(
                format_html(
                    "{}: {} — {}",
                    gettext("Disabled"),
                    when(obj.disabled_at),
                    obj.get_status_display(),
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
        if obj.paused_until and obj.paused_until > timezone.now():
            lines.append(
                format_html(
                    "{}: {}",
                    gettext("Nothing is sent until its next retry"),
                    when(obj.paused_until),
                )
            )
        return format_html_join("", "<div>{}</div>", ((line,) for line in lines))

    @admin.display(description=_("signing secret"))
    def secret_display(self, obj: Webhook) -> str:
        text = gettext(
            "Hidden. It is shown once, when the webhook is added and after each rotation; "
            "use “Rotate secret” above to issue a new one, then “Switch to the new secret” "
            "once the receivers of the headers that hold one signature have it."
        )
        return format_html(
            "<p>{}</p>{}",
            text,
            render_to_string("webhooks_app/rotation_steps.html", {"webhook": obj}),
        )

    @admin.display(description=_("public key (ed25519)"))
    def public_key_display(self, obj: Webhook) -> str:
        if not obj.public_key:
            return gettext("None: the ed25519 signature is not turned on.")
        # No secret: shown in full, so receivers can verify v1a signatures with it.
        return format_html("<code>{}</code>", obj.public_key)

    @admin.display(description=_("recent deliveries"))
    def recent_deliveries(self, obj: Webhook) -> str:
        logs = obj.delivery_logs.order_by("-created_at", "-id")[:5]
        return table(
            [
                gettext("Time"),
                gettext("Event"),
                gettext("Attempt"),
                gettext("Outcome"),
                gettext("Status code"),
            ],
            [
                [
                    format_html('<a href="{}">{}</a>', admin_url(log), when(log.created_at)),
                    log.event_type,
                    f"#{log.attempt}",
                    outcome_badge(log.outcome),
                    log.response_status or log.error[:60],
                ]
                for log in logs
            ],
            empty=gettext("No delivery attempt yet. “Send test ping” above sends one."),
            more_url=log_url(webhook=obj),
            more_label=gettext("All deliveries of this webhook"),
        )

    # -- saving: through the operations ------------------------------------------------

    def save_model(self, request: Any, obj: Webhook, form: WebhookForm, change: bool) -> None:
        data = form.cleaned_data
        fields = {name: data[name] for name in ("url", "name", *WEBHOOK_SETTINGS)}
        if not change:
            created = operations.create_webhook(
                project=data["project"],
                organization=data.get("organization"),
                active=data["enabled"],
                **fields,
            )
            obj.pk = created.pk  # the inlines save their subscriptions against it
            obj.refresh_from_db()
            return
        changed = {name: value for name, value in fields.items() if name in form.changed_data}
        if {"project", "organization"} & set(form.changed_data):
            changed["project"] = data["project"]
            changed["organization"] = data.get("organization")
        # The form has already copied its values onto ``obj``; the operation compares
        # them with what is stored (a move is checked against the activation rule).
        stored = Webhook.objects.get(pk=obj.pk)
        operations.update_webhook(stored, **changed)
        obj.refresh_from_db()
        if data["enabled"] and not obj.is_active:
            self._enable(request, [obj])
        elif not data["enabled"] and obj.status != WebhookStatus.DISABLED:
            self._disable(request, [obj])

    def save_related(self, request: Any, form: Any, formsets: Any, change: bool) -> None:
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

    def delete_model(self, request: Any, obj: Webhook) -> None:
        operations.delete_webhook(obj)

    def response_add(self, request: Any, obj: Webhook, post_url_continue: Any = None) -> Any:
        response = super().response_add(request, obj, post_url_continue)
        if IS_POPUP_VAR in request.POST or not isinstance(response, HttpResponseRedirect):
            return response
        return self._reveal_secrets(request, [obj], response.url)

    # -- actions ---------------------------------------------------------------------

    @admin.action(
        description=_("Send a test ping to the selected webhooks"), permissions=["change"]
    )
    def send_test_action(self, request: Any, queryset: Any) -> None:
        outcomes = operations.test_all(queryset)
        for outcome in outcomes:
            if outcome.log is not None:
                self._report_test(request, outcome.webhook, outcome.log)
        skipped = sum(1 for o in outcomes if o.log is None)
        if skipped:
            self.message_user(
                request,
                gettext("Only %(limit)d webhooks are tested at once; %(rest)d were not tested.")
                % {"limit": webhook_settings.MAX_TESTS_PER_REQUEST, "rest": skipped},
                messages.WARNING,
            )

    @admin.action(
        description=_("Enable the selected webhooks (and send what was held)"),
        permissions=["change"],
    )
    def enable_action(self, request: Any, queryset: Any) -> None:
        self._enable(request, list(queryset))

    @admin.action(description=_("Disable the selected webhooks"), permissions=["change"])
    def disable_action(self, request: Any, queryset: Any) -> None:
        self._disable(request, list(queryset))

    @admin.action(
        description=_("Rotate the signing secret of the selected webhooks"), permissions=["change"]
    )
    def rotate_secret_action(self, request: Any, queryset: Any) -> HttpResponse:
        webhooks = list(queryset)
        for webhook in webhooks:
            operations.rotate_secret(webhook)
        return self._reveal_secrets(request, webhooks, request.get_full_path())

    @admin.action(
        description=_("Switch the selected webhooks' signatures to their new secret"),
        permissions=["change"],
    )
    def switch_secret_action(self, request: Any, queryset: Any) -> None:
        for webhook in queryset:
            self._switch_secret(request, webhook)

    def _switch_secret(self, request: Any, webhook: Webhook) -> None:
        if operations.switch_secret(webhook):
            text = gettext(
                "“%(webhook)s”: every header is now signed with the new secret "
                "(webhook-signature carries the previous one's too until %(when)s)."
            )
            level = messages.SUCCESS
        elif webhook.rotation_stage() == RotationStage.SWITCHED:
            text, level = gettext("“%(webhook)s” was already switched."), messages.INFO
        else:
            text = gettext(
                "“%(webhook)s”: no rotation is waiting for a switch; every header is "
                "signed with the current secret."
            )
            level = messages.INFO
        when_ = when(webhook.previous_secret_expires_at)
        self.message_user(request, text % {"webhook": webhook, "when": when_}, level)

    @admin.action(
        description=_("Redeliver failed deliveries of the selected webhooks…"),
        permissions=["change"],
    )
    def redeliver_failed_action(self, request: Any, queryset: Any) -> Any:
        return self._redeliver_failed(request, list(queryset), action=True)

    def _report_test(self, request: Any, webhook: Webhook, log: Any) -> None:
        success = log.outcome == log.Outcome.SUCCESS
        self.message_user(
            request,
            gettext("“%(webhook)s”: test ping %(outcome)s")
            % {"webhook": webhook, "outcome": attempt_message(log)},
            messages.SUCCESS if success else messages.ERROR,
        )

    def _enable(self, request: Any, webhooks: list[Webhook]) -> None:
        for webhook in webhooks:
            if webhook.is_active:
                self.message_user(
                    request,
                    gettext("“%(webhook)s” was already enabled.") % {"webhook": webhook},
                    messages.INFO,
                )
                continue
            try:
                resumed = operations.enable(webhook)
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

    def _disable(self, request: Any, webhooks: list[Webhook]) -> None:
        for webhook in webhooks:
            already = webhook.status == WebhookStatus.DISABLED
            operations.disable(webhook)
            if already:
                text, level = gettext("“%(webhook)s” was already disabled."), messages.INFO
            else:
                text = gettext(
                    "“%(webhook)s” is disabled by hand: it receives no events until it is "
                    "enabled again."
                )
                level = messages.SUCCESS
            self.message_user(request, text % {"webhook": webhook}, level)

    def _reveal_secrets(self, request: Any, webhooks: list[Webhook], next_url: str) -> Any:
        """Let the secrets page show these webhooks' secrets once, and go there.

        Only ids go into the session: the secret itself is read from the database by the
        page, so it is never copied into a cookie or a session row.
        """
        request.session[REVEAL_SESSION_KEY] = [w.pk for w in webhooks]
        url = reverse("admin:webhooks_app_webhook_secrets")
        return HttpResponseRedirect(f"{url}?{urlencode({'next': next_url})}")

    def _redeliver_failed(self, request: Any, webhooks: list[Webhook], *, action: bool) -> Any:
        form = RedeliverFailedForm(request.POST if "confirm" in request.POST else None)
        if form.is_bound and form.is_valid():
            start = form.cleaned_data["start"]
            for webhook in webhooks:
                count = operations.redeliver_failed(webhook, start)
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
                    if not webhook.is_active:
                        text += " " + gettext("They are held until the webhook is enabled.")
                        level = messages.WARNING
                self.message_user(request, text % values, level)
            return None if action else redirect(admin_url(webhooks[0]))

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

    def get_urls(self) -> list[Any]:
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
                "<path:object_id>/switch-secret/",
                view(self.switch_secret_view),
                name="webhooks_app_webhook_switch_secret",
            ),
            path(
                "<path:object_id>/redeliver-failed/",
                view(self.redeliver_failed_view),
                name="webhooks_app_webhook_redeliver_failed",
            ),
            *super().get_urls(),
        ]

    def secrets_view(self, request: HttpRequest) -> HttpResponse:
        next_url = safe_next(
            request, request.GET.get("next"), reverse("admin:webhooks_app_webhook_changelist")
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
                webhook for webhook in webhooks if webhook.rotation_stage() != RotationStage.NONE
            ],
        }
        return TemplateResponse(request, "admin/webhooks_app/webhook/secrets.html", context)

    @method_decorator(require_POST)
    def send_test_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def send(request: Any, webhook: Webhook) -> HttpResponse:
            self._report_test(request, webhook, operations.send_test(webhook))
            return redirect(admin_url(webhook))

        return self._object_view(request, object_id, send)

    @method_decorator(require_POST)
    def rotate_secret_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def rotate(request: Any, webhook: Webhook) -> HttpResponse:
            operations.rotate_secret(webhook)
            return self._reveal_secrets(request, [webhook], admin_url(webhook))

        return self._object_view(request, object_id, rotate)

    @method_decorator(require_POST)
    def switch_secret_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def switch(request: Any, webhook: Webhook) -> HttpResponse:
            self._switch_secret(request, webhook)
            return redirect(admin_url(webhook))

        return self._object_view(request, object_id, switch)

    def redeliver_failed_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._object_view(
            request,
            object_id,
            lambda request, webhook: self._redeliver_failed(request, [webhook], action=False),
        )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        extra = {**(extra_context or {}), "log_url": log_url(webhook=unquote(object_id))}
        return super().change_view(request, object_id, form_url, extra)

    def _object_view(self, request: Any, object_id: str, handle: Any) -> HttpResponse:
        webhook = self.get_object(request, unquote(object_id))
        if webhook is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, webhook):
            raise PermissionDenied
        return handle(request, webhook)
