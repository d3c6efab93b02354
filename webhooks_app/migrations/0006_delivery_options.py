"""How a webhook's requests are made: its signature schemes, extra headers and body format."""

import importlib

import webhooks_app.models
import webhooks_app.validators
from django.db import migrations, models

routing = importlib.import_module("webhooks_app.migrations.0004_routing_and_scale")


def recreate_sqlite_triggers(apps, schema_editor):
    """SQLite adds a column with a default by rebuilding the table, which drops the
    table's triggers: the webhook table's routing triggers are created again."""
    if schema_editor.connection.vendor != "sqlite":
        return
    for name, event, table in routing.SQLITE_TRIGGERS:
        if table == "webhooks_app_webhook":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
            schema_editor.execute(routing.SQLITE_TRIGGER.format(name=name, event=event, table=table))


class Migration(migrations.Migration):

    dependencies = [
        ('webhooks_app', '0005_endpoints'),
    ]

    operations = [
        migrations.AddField(
            model_name='webhook',
            name='content_type',
            field=models.CharField(choices=[('json', 'application/json'), ('form', 'application/x-www-form-urlencoded (payload=<the JSON>)')], default='json', max_length=8, verbose_name='content type'),
        ),
        migrations.AddField(
            model_name='webhook',
            name='extra_headers',
            field=models.JSONField(blank=True, default=dict, help_text='Headers added to every request, as {"name": "value"}.', validators=[webhooks_app.validators.validate_extra_headers], verbose_name='extra headers'),
        ),
        migrations.AddField(
            model_name='webhook',
            name='signatures',
            field=models.JSONField(default=webhooks_app.models.default_signatures, help_text='Signature headers sent: standard (Standard Webhooks, with replay protection), hex (X-Webhook-Signature-256), github (X-Hub-Signature-256), agiletune (X-AgileTune-Signature), icescrum (x-icescrum-signature, HMAC-SHA1).', validators=[webhooks_app.validators.validate_signature_schemes], verbose_name='signatures'),
        ),
        migrations.RunPython(recreate_sqlite_triggers, migrations.RunPython.noop),
    ]
