import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("testapp", "0002_item_details")]
    # webhooks_app's organisation column points here (WEBHOOKS["ORGANIZATION_MODEL"]):
    # a host whose organisation model is made after its app's first migration says so.
    run_before = [("webhooks_app", "0017_webhook_organization")]

    operations = [
        migrations.CreateModel(
            name="Organization",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100)),
                ("plan", models.CharField(choices=[("free", "Free"), ("pro", "Pro")], default="pro", max_length=10)),
            ],
        ),
        migrations.AddField(
            model_name="project",
            name="organization",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="projects", to="testapp.organization"),
        ),
    ]
