from django.apps import AppConfig
from django.db.models.signals import post_migrate


class WebhooksConfig(AppConfig):
    name = "webhooks_app"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from webhooks_app import checks  # noqa: F401  (registers the system checks)
        from webhooks_app.conf import WebhookConfigurationError
        from webhooks_app.engine.queue import ensure_schedules
        from webhooks_app.engine.routing import connect_signals
        from webhooks_app.notifications import connect as connect_notifications
        from webhooks_app.runners import current_runner

        connect_signals()
        connect_notifications()
        # Hosts declare their model events in <app>/webhooks.py, as admin.py does for admin.
        autodiscover_modules("webhooks")
        post_migrate.connect(ensure_schedules, sender=self, dispatch_uid="webhooks_app.schedules")
        # Every worker process also delivers what the queue does not bring it (its
        # watchdog), and the runner schedules the sweep and the purge. A runner whose
        # package is missing is reported by `manage.py check` (webhooks_app.E016/E017).
        try:
            runner = current_runner()
        except (ImportError, WebhookConfigurationError):
            return
        runner.install()
