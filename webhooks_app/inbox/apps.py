from django.apps import AppConfig


class InboxConfig(AppConfig):
    """The receiving side's durable inbox; needs none of the sending side's tables."""

    name = "webhooks_app.inbox"
    label = "webhooks_inbox"
    verbose_name = "Webhooks inbox"
    default_auto_field = "django.db.models.BigAutoField"
