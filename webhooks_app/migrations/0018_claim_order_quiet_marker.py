"""Two costs of the hot paths, on PostgreSQL only.

The claim's index. A claim takes each endpoint's oldest due deliveries in
(next_attempt_at, id) order. The index of 0005 ends at next_attempt_at, so PostgreSQL
read and sorted an endpoint's whole backlog to pick the first few, once per claim; with
the id in it the claim reads only the rows it takes. The new index is built before the
old one is dropped, so claims are never without one.

The commit-time marker (0008) says only ``enqueue``. Its ``covered`` notice was most of
what the trigger cost an emitting transaction (a notice is an error report sent to the
client: about 35 µs of the server's CPU per commit), and a covered commit is the common
case: the committing process reads silence after its own ask as "covered"
(webhooks_app.engine.queue). A process still running the previous code reads silence as
"no answer" and asks the database, as it does with any other driver.
"""

import importlib

from django.db import migrations

# What going back restores: 0008's function, notices and all.
MARKER_AT_COMMIT = importlib.import_module(
    "webhooks_app.migrations.0008_commit_marker"
).MARKER_AT_COMMIT

NEW_INDEX = (
    "CREATE INDEX IF NOT EXISTS webhooks_delivery_pending_order_idx ON webhooks_app_delivery "
    "(webhook_id, next_attempt_at, id) WHERE status = 'pending'"
)
OLD_INDEX = (
    "CREATE INDEX IF NOT EXISTS webhooks_delivery_pending_idx ON webhooks_app_delivery "
    "(webhook_id, next_attempt_at) WHERE status = 'pending'"
)


# 0008's function, without the ``covered`` notice.
QUIET_MARKER_AT_COMMIT = """
CREATE OR REPLACE FUNCTION webhooks_app_marker_at_commit() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('webhooks_app.marker_at_commit', true) IS DISTINCT FROM 'asked' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('webhooks_app.marker_at_commit', 'done', true);
    LOOP
        PERFORM 1 FROM webhooks_app_deliverytaskmarker
        WHERE id = 1 AND covered_until > clock_timestamp() FOR SHARE;
        IF FOUND THEN
            RETURN NULL;
        END IF;
        UPDATE webhooks_app_deliverytaskmarker
        SET covered_until = clock_timestamp() + interval '30 seconds'
        WHERE id = 1 AND (covered_until IS NULL OR covered_until <= clock_timestamp());
        IF FOUND THEN
            RAISE NOTICE 'webhooks_app: enqueue';
            RETURN NULL;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM webhooks_app_deliverytaskmarker WHERE id = 1) THEN
            RETURN NULL;
        END IF;
    END LOOP;
END $$;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(NEW_INDEX)
        schema_editor.execute("DROP INDEX IF EXISTS webhooks_delivery_pending_idx")
        schema_editor.execute(QUIET_MARKER_AT_COMMIT)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(OLD_INDEX)
        schema_editor.execute("DROP INDEX IF EXISTS webhooks_delivery_pending_order_idx")
        schema_editor.execute(MARKER_AT_COMMIT)


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks_app", "0017_webhook_organization"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
