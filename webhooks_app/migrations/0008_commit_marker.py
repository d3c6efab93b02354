"""PostgreSQL: inside a host's transaction, the task marker is taken at commit, by a
deferred trigger, rather than by a statement after the commit (one round trip less on
every transaction that emits).

The trigger acts only in a transaction whose event statement asked for it (the
transaction-local setting ``webhooks_app.marker_at_commit``), once however many events
it recorded, and says by a notice what it found: ``enqueue`` (it took the marker: the
committing process enqueues a task) or ``covered`` (a task covers this commit). Finding
the marker covered, it holds a share lock on its row until the commit ends, so a task
cannot take its coverage back (an exclusive update) and make its last claim before this
commit is visible. Share locks do not wait for each other: concurrent commits are not
serialised. 30 seconds is ``queue.QUEUED_COVERS_FOR``, as the event statement in
autocommit mode takes it."""

from django.db import migrations

MARKER_AT_COMMIT = """
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
            RAISE NOTICE 'webhooks_app: covered';
            RETURN NULL;
        END IF;
        UPDATE webhooks_app_deliverytaskmarker
        SET covered_until = clock_timestamp() + interval '30 seconds'
        WHERE id = 1 AND (covered_until IS NULL OR covered_until <= clock_timestamp());
        IF FOUND THEN
            RAISE NOTICE 'webhooks_app: enqueue';
            RETURN NULL;
        END IF;
        -- Another commit took it meanwhile (or there is no marker row): look again,
        -- this time to share-lock what it took.
        IF NOT EXISTS (SELECT 1 FROM webhooks_app_deliverytaskmarker WHERE id = 1) THEN
            RETURN NULL;
        END IF;
    END LOOP;
END $$;
DROP TRIGGER IF EXISTS webhooks_app_event_marker_at_commit ON webhooks_app_event;
CREATE CONSTRAINT TRIGGER webhooks_app_event_marker_at_commit
    AFTER INSERT ON webhooks_app_event DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION webhooks_app_marker_at_commit();
"""

DROP = """
DROP TRIGGER IF EXISTS webhooks_app_event_marker_at_commit ON webhooks_app_event;
DROP FUNCTION IF EXISTS webhooks_app_marker_at_commit;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(MARKER_AT_COMMIT)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("webhooks_app", "0007_worker_leases")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
