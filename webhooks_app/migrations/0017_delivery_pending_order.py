from django.db import migrations

# A claim takes each endpoint's oldest due deliveries in (next_attempt_at, id) order.
# The index of 0005 ends at next_attempt_at, so PostgreSQL read and sorted an endpoint's
# whole backlog to pick the first few, once per claim; with the id in it the claim reads
# only the rows it takes. PostgreSQL only, as 0005's (see there). The new index is built
# before the old one is dropped, so claims are never without one.
NEW_INDEX = (
    "CREATE INDEX IF NOT EXISTS webhooks_delivery_pending_order_idx ON webhooks_app_delivery "
    "(webhook_id, next_attempt_at, id) WHERE status = 'pending'"
)
OLD_INDEX = (
    "CREATE INDEX IF NOT EXISTS webhooks_delivery_pending_idx ON webhooks_app_delivery "
    "(webhook_id, next_attempt_at) WHERE status = 'pending'"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(NEW_INDEX)
        schema_editor.execute("DROP INDEX IF EXISTS webhooks_delivery_pending_idx")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(OLD_INDEX)
        schema_editor.execute("DROP INDEX IF EXISTS webhooks_delivery_pending_order_idx")


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks_app", "0016_webhook_url_rule"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
