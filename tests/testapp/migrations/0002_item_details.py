from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("testapp", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="item",
            name="details",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
