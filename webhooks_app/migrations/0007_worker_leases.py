"""Endpoint leases (one worker sends to an endpoint at a time, so ENDPOINT_CONCURRENCY
holds across workers and clusters) and the marker's record of delivery tasks waiting and
started (the health report's frozen-queue sign).

Nullable columns without a default: SQLite adds them in place, so the webhook table's
routing triggers stay (they fire on project and status changes only)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("webhooks_app", "0006_delivery_options")]

    operations = [
        migrations.AddField(
            model_name="webhook",
            name="worked_by",
            field=models.UUIDField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="webhook",
            name="worked_until",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="deliverytaskmarker",
            name="task_waiting_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="deliverytaskmarker",
            name="task_started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
