"""Deliveries given up since a webhook's managers were last told, and when they were
(the digest e-mail). Nullable without defaults: SQLite adds the columns in place, so
the webhook table's routing triggers stay."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("webhooks_app", "0009_webhook_probe_at")]

    operations = [
        migrations.AddField(
            model_name="webhook",
            name="given_up_unreported",
            field=models.PositiveIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="webhook",
            name="given_up_reported_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
