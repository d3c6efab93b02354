"""A webhook's URL rule lives on its model field (``EndpointURLField``): nothing changes
in the database's columns, but SQLite rebuilds the table for a field of another class,
which drops its triggers, so they are made again."""

import importlib

from django.db import migrations

import webhooks_app.models

delivery_options = importlib.import_module("webhooks_app.migrations.0006_delivery_options")


class Migration(migrations.Migration):
    dependencies = [("webhooks_app", "0015_webhook_https_only")]

    operations = [
        migrations.AlterField(
            model_name="webhook",
            name="url",
            field=webhooks_app.models.EndpointURLField(max_length=2000, verbose_name="payload URL"),
        ),
        migrations.RunPython(delivery_options.recreate_sqlite_triggers, migrations.RunPython.noop),
    ]
