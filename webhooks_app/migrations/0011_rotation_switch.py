"""When a rotation's single-signature headers moved to the new secret (the switch).

A nullable column without a default: SQLite adds it in place, so the webhook table's
routing triggers stay."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("webhooks_app", "0010_webhook_given_up_digest")]

    operations = [
        migrations.AddField(
            model_name="webhook",
            name="secret_switched_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
