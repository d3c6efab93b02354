"""A webhook disabled after failures still makes the retry its failing delivery had
scheduled, once (``Webhook.probe_at``). Nullable without a default: SQLite adds the
column in place, so the webhook table's routing triggers stay."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("webhooks_app", "0008_commit_marker")]

    operations = [
        migrations.AddField(
            model_name="webhook",
            name="probe_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
