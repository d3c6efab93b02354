"""The attempt log's event and webhook are no longer checked by the database.

The only writer copies both from the delivery row it holds locked, and the delivery and
its own keys are still checked: the two checks, run per attempt at commit, were a quarter
of the database's work per delivery. Deleting an event or a webhook still deletes its
log (Django's CASCADE, and retention deletes the log by delivery first).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks_app", "0018_claim_order_quiet_marker"),
    ]

    operations = [
        migrations.AlterField(
            model_name="deliverylog",
            name="event",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="delivery_logs",
                to="webhooks_app.event",
            ),
        ),
        migrations.AlterField(
            model_name="deliverylog",
            name="webhook",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="delivery_logs",
                to="webhooks_app.webhook",
            ),
        ),
    ]
