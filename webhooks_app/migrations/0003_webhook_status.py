"""One status field for a webhook, from the enabled flag and the reason it was disabled.

A webhook saved disabled without a reason (a plain ORM create, the API's "prepare it
disabled") becomes "disabled": nothing ever failed.
"""

from django.db import migrations, models

FROM_REASON = {"failures": "auto-disabled", "gone": "gone"}


def to_status(apps, schema_editor):
    Webhook = apps.get_model("webhooks_app", "Webhook")
    db = schema_editor.connection.alias
    Webhook.objects.using(db).filter(enabled=False).update(status="disabled")
    for reason, status in FROM_REASON.items():
        Webhook.objects.using(db).filter(enabled=False, disabled_reason=reason).update(
            status=status
        )


def from_status(apps, schema_editor):
    Webhook = apps.get_model("webhooks_app", "Webhook")
    db = schema_editor.connection.alias
    Webhook.objects.using(db).exclude(status="active").update(
        enabled=False, disabled_reason="manual"
    )
    for reason, status in FROM_REASON.items():
        Webhook.objects.using(db).filter(status=status).update(disabled_reason=reason)


class Migration(migrations.Migration):

    dependencies = [("webhooks_app", "0002_delivery_task_marker")]

    operations = [
        migrations.AddField(
            model_name="webhook",
            name="status",
            field=models.CharField(
                choices=[
                    ("active", "Active"),
                    ("disabled", "Disabled by hand"),
                    ("auto-disabled", "Disabled after consecutive failures"),
                    ("gone", "Disabled: the endpoint answered 410 Gone"),
                ],
                default="active",
                editable=False,
                max_length=16,
                verbose_name="status",
            ),
        ),
        migrations.RunPython(to_status, from_status),
        migrations.RemoveField(model_name="webhook", name="enabled"),
        migrations.RemoveField(model_name="webhook", name="disabled_reason"),
    ]
