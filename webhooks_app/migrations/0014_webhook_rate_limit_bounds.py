"""A rate limit is at most 100,000 per second: a larger one overflowed PostgreSQL's
integer and answered 500. Validators only: nothing changes in the database."""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks_app", "0013_signing_keys"),
    ]

    operations = [
        migrations.AlterField(
            model_name="webhook",
            name="rate_limit",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Most deliveries per second to this endpoint. Empty: no limit.",
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(100000),
                ],
                verbose_name="rate limit",
            ),
        ),
    ]
