"""A webhook may refuse http:// URLs (``Webhook.https_only``)."""

import importlib

from django.db import migrations, models

delivery_options = importlib.import_module("webhooks_app.migrations.0006_delivery_options")


class Migration(migrations.Migration):

    dependencies = [
        ("webhooks_app", "0014_webhook_rate_limit_bounds"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhook",
            name="https_only",
            field=models.BooleanField(
                default=False,
                help_text="Refuse http:// URLs: deliveries only ever travel encrypted.",
                verbose_name="HTTPS only",
            ),
        ),
        # SQLite adds a NOT NULL column by rebuilding the table, which drops its triggers.
        migrations.RunPython(
            delivery_options.recreate_sqlite_triggers, migrations.RunPython.noop
        ),
    ]
