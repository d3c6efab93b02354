from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from webhooks_app.dispatch import send_test
from webhooks_app.models import Delivery, DeliveryLog, Event, Subscription, Webhook


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    extra = 1


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "project",
        "url",
        "status_badge",
        "consecutive_failures",
        "created_at",
    ]
    list_filter = ["enabled", "disabled_reason", "project"]
    search_fields = ["name", "url"]
    readonly_fields = [
        "uuid",
        "consecutive_failures",
        "disabled_at",
        "disabled_reason",
        "disabled_detail",
        "created_at",
        "updated_at",
    ]
    inlines = [SubscriptionInline]
    actions = ["send_test_action", "enable_action", "disable_action"]

    @admin.display(description=_("status"))
    def status_badge(self, obj: Webhook) -> str:
        colours = {
            "active": "#16a34a",
            "failing": "#d97706",
            "disabled": "#6b7280",
            "auto-disabled": "#dc2626",
        }
        return format_html('<b style="color:{}">{}</b>', colours[obj.status], obj.status)

    @admin.action(description=_("Send a test (ping) delivery"))
    def send_test_action(self, request, queryset):
        for webhook in queryset:
            delivery = send_test(webhook)
            level = (
                messages.SUCCESS if delivery.status == Delivery.Status.SUCCEEDED else messages.ERROR
            )
            self.message_user(
                request,
                f"{webhook}: test {delivery.status} (HTTP {delivery.last_status_code}).",
                level,
            )

    @admin.action(description=_("Enable (and send held deliveries)"))
    def enable_action(self, request, queryset):
        for webhook in queryset:
            webhook.enable()
        self.message_user(request, _("Enabled."), messages.SUCCESS)

    @admin.action(description=_("Disable"))
    def disable_action(self, request, queryset):
        for webhook in queryset:
            webhook.disable()
        self.message_user(request, _("Disabled."), messages.SUCCESS)


@admin.register(DeliveryLog)
class DeliveryLogAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "event_type",
        "webhook",
        "attempt",
        "trigger",
        "response_status",
        "outcome",
        "duration_ms",
    ]
    list_filter = ["outcome", "trigger", "event_type"]
    search_fields = ["event_type", "url", "uuid"]
    list_select_related = ["webhook"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "event_type", "uuid"]
    list_filter = ["event_type"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
