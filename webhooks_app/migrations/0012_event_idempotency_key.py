"""An event's idempotency key (emit(..., idempotency_key=)), unique per event type, and
the PostgreSQL emit function that honours it, webhooks_app_emit_v2. Version 1 stays for
processes still running the previous code during a deploy.

A nullable column without a default: SQLite adds it in place, and the unique index is
partial (events without a key are not in it, so the save path pays nothing for it).
"""

from django.db import migrations, models

# webhooks_app_emit_v1 (migration 0004) and, with p_key, an insert that records nothing
# when the (event type, key) index holds the key: a concurrent emit with the same key
# waits for the first one's commit and then finds its event (duplicate_of). A key older
# than p_key_since is released first.
POSTGRES_EMIT_V2 = """
CREATE OR REPLACE FUNCTION webhooks_app_emit_v2(
    p_patterns varchar[], p_projects {pk}[], p_uuid uuid, p_type varchar, p_project {pk},
    p_body text, p_now timestamptz, p_cover_until timestamptz, p_async boolean,
    p_key varchar, p_key_since timestamptz,
    OUT recorded_event bigint, OUT recorded_deliveries integer, OUT kick_task boolean,
    OUT routing_version bigint, OUT duplicate_of bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    recipients bigint[];
BEGIN
    SELECT version INTO routing_version FROM webhooks_app_routingversion WHERE id = 1;
    SELECT array_agg(w.id) INTO recipients
    FROM webhooks_app_webhook w
    WHERE (w.project_id IS NULL OR w.project_id = ANY (p_projects))
      AND w.status IN ('active', 'auto-disabled')
      AND EXISTS (SELECT 1 FROM webhooks_app_subscription s
                  WHERE s.webhook_id = w.id AND s.event_type = ANY (p_patterns));
    recorded_deliveries := coalesce(cardinality(recipients), 0);
    IF recorded_deliveries = 0 THEN
        RETURN;
    END IF;
    IF p_async THEN
        PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
    IF p_key IS NULL THEN
        INSERT INTO webhooks_app_event (uuid, event_type, project_id, body, created_at)
        VALUES (p_uuid, p_type, p_project, p_body, p_now)
        RETURNING id INTO recorded_event;
    ELSE
        UPDATE webhooks_app_event SET idempotency_key = NULL
        WHERE event_type = p_type AND idempotency_key = p_key AND created_at < p_key_since;
        INSERT INTO webhooks_app_event (uuid, event_type, project_id, body, created_at,
            idempotency_key)
        VALUES (p_uuid, p_type, p_project, p_body, p_now, p_key)
        ON CONFLICT (event_type, idempotency_key) WHERE idempotency_key IS NOT NULL
        DO NOTHING
        RETURNING id INTO recorded_event;
        IF recorded_event IS NULL THEN
            SELECT id INTO duplicate_of FROM webhooks_app_event
            WHERE event_type = p_type AND idempotency_key = p_key;
            recorded_deliveries := 0;
            RETURN;
        END IF;
    END IF;
    INSERT INTO webhooks_app_delivery (webhook_id, event_id, status, "trigger", attempts,
        round_offset, next_attempt_at, created_at, updated_at)
    SELECT r, recorded_event, 'pending', 'event', 0, 0, p_now, p_now, p_now
    FROM unnest(recipients) AS r;
    IF p_cover_until IS NOT NULL THEN
        UPDATE webhooks_app_deliverytaskmarker SET covered_until = p_cover_until
        WHERE id = 1 AND (covered_until IS NULL OR covered_until < p_now);
        kick_task := FOUND;
    END IF;
END $$;
"""


def install(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    webhook = apps.get_model("webhooks_app", "Webhook")
    pk = webhook._meta.get_field("project").target_field.rel_db_type(connection)
    schema_editor.execute(POSTGRES_EMIT_V2.replace("{pk}", pk))


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS webhooks_app_emit_v2;")


class Migration(migrations.Migration):
    dependencies = [("webhooks_app", "0011_rotation_switch")]

    operations = [
        migrations.AddField(
            model_name="event",
            name="idempotency_key",
            field=models.CharField(blank=True, editable=False, max_length=200, null=True),
        ),
        migrations.AddConstraint(
            model_name="event",
            constraint=models.UniqueConstraint(
                condition=models.Q(("idempotency_key__isnull", False)),
                fields=("event_type", "idempotency_key"),
                name="webhooks_event_idempotency_key",
            ),
        ),
        migrations.RunPython(install, uninstall),
    ]
