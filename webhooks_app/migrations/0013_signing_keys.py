"""The ed25519 key pair of Standard Webhooks v1a signatures, per webhook (empty until the
webhook signs with them)."""

import importlib

import webhooks_app.models
import webhooks_app.validators
from django.db import migrations, models

delivery_options = importlib.import_module("webhooks_app.migrations.0006_delivery_options")


class Migration(migrations.Migration):

    dependencies = [
        ("webhooks_app", "0012_event_idempotency_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhook",
            name="signing_key",
            field=models.CharField(blank=True, editable=False, max_length=120),
        ),
        migrations.AddField(
            model_name="webhook",
            name="public_key",
            field=models.CharField(
                blank=True, editable=False, max_length=60, verbose_name="public key"
            ),
        ),
        migrations.AlterField(
            model_name="webhook",
            name="signatures",
            field=models.JSONField(
                default=webhooks_app.models.default_signatures,
                help_text="Signature headers sent: standard (Standard Webhooks, with replay protection), ed25519 (Standard Webhooks v1a: receivers verify with the public key, no shared secret), hex (X-Webhook-Signature-256), github (X-Hub-Signature-256), agiletune (X-AgileTune-Signature), icescrum (x-icescrum-signature, HMAC-SHA1).",
                validators=[webhooks_app.validators.validate_signature_schemes],
                verbose_name="signatures",
            ),
        ),
        # SQLite adds a NOT NULL column by rebuilding the table, which drops its triggers.
        migrations.RunPython(
            delivery_options.recreate_sqlite_triggers, migrations.RunPython.noop
        ),
    ]
