"""Routing version and its triggers, the PostgreSQL emit function, and the indexes a
large delivery history needs (issue: the host pays almost nothing).

The SQL here is frozen as this migration needs it; a later migration that changes these
tables installs its own version.
"""

import django.db.models.deletion
from django.db import migrations, models

from webhooks_app.conf import project_model_label

ROUTING_COLUMNS = ("project_id", "status")

POSTGRES_TRIGGERS = """
CREATE OR REPLACE FUNCTION webhooks_app_bump_routing() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE webhooks_app_routingversion SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END $$;
CREATE TRIGGER webhooks_app_subscription_routing
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON webhooks_app_subscription
    FOR EACH STATEMENT EXECUTE FUNCTION webhooks_app_bump_routing();
CREATE TRIGGER webhooks_app_webhook_routing
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF {columns} ON webhooks_app_webhook
    FOR EACH STATEMENT EXECUTE FUNCTION webhooks_app_bump_routing();
"""

SQLITE_TRIGGER = """
CREATE TRIGGER {name} AFTER {event} ON {table}
BEGIN UPDATE webhooks_app_routingversion SET version = version + 1 WHERE id = 1; END
"""
# A later migration that makes SQLite rebuild one of these tables must create its
# triggers again (0006 does).
SQLITE_TRIGGERS = [
    ("webhooks_app_subscription_routing_i", "INSERT", "webhooks_app_subscription"),
    ("webhooks_app_subscription_routing_u", "UPDATE", "webhooks_app_subscription"),
    ("webhooks_app_subscription_routing_d", "DELETE", "webhooks_app_subscription"),
    ("webhooks_app_webhook_routing_i", "INSERT", "webhooks_app_webhook"),
    ("webhooks_app_webhook_routing_d", "DELETE", "webhooks_app_webhook"),
    ("webhooks_app_webhook_routing_u", "UPDATE OF " + ", ".join(ROUTING_COLUMNS), "webhooks_app_webhook"),
]

# Recipients: receiving webhooks of these projects (or organisation-wide) subscribed to
# one of the event's patterns. One event row, one delivery per recipient, and, when
# asked (p_cover_until not null), the task marker if no task covers this commit. With
# p_async the statement's own transaction (autocommit mode only) does not wait for the
# disk. Returns nulls when nobody receives it.
POSTGRES_EMIT = """
CREATE OR REPLACE FUNCTION webhooks_app_emit_v1(
    p_patterns varchar[], p_projects {pk}[], p_uuid uuid, p_type varchar, p_project {pk},
    p_body text, p_now timestamptz, p_cover_until timestamptz, p_async boolean,
    OUT recorded_event bigint, OUT recorded_deliveries integer, OUT kick_task boolean,
    OUT routing_version bigint)
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
    INSERT INTO webhooks_app_event (uuid, event_type, project_id, body, created_at)
    VALUES (p_uuid, p_type, p_project, p_body, p_now)
    RETURNING id INTO recorded_event;
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
    apps.get_model("webhooks_app", "RoutingVersion").objects.using(
        connection.alias
    ).get_or_create(pk=1)
    if connection.vendor == "postgresql":
        webhook = apps.get_model("webhooks_app", "Webhook")
        pk = webhook._meta.get_field("project").target_field.rel_db_type(connection)
        schema_editor.execute(POSTGRES_TRIGGERS.format(columns=", ".join(ROUTING_COLUMNS)))
        schema_editor.execute(POSTGRES_EMIT.replace("{pk}", pk))
    elif connection.vendor == "sqlite":
        for name, event, table in SQLITE_TRIGGERS:
            schema_editor.execute(SQLITE_TRIGGER.format(name=name, event=event, table=table))


def uninstall(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        schema_editor.execute(
            "DROP FUNCTION IF EXISTS webhooks_app_emit_v1;"
            "DROP TRIGGER IF EXISTS webhooks_app_subscription_routing ON webhooks_app_subscription;"
            "DROP TRIGGER IF EXISTS webhooks_app_webhook_routing ON webhooks_app_webhook;"
            "DROP FUNCTION IF EXISTS webhooks_app_bump_routing;"
        )
    elif connection.vendor == "sqlite":
        for suffix in ("i", "u", "d"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS webhooks_app_subscription_routing_{suffix}")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS webhooks_app_webhook_routing_{suffix}")


def copy_project_to_logs(apps, schema_editor):
    DeliveryLog = apps.get_model("webhooks_app", "DeliveryLog")
    Webhook = apps.get_model("webhooks_app", "Webhook")
    db = schema_editor.connection.alias
    for webhook_id, project_id in (
        Webhook.objects.using(db).exclude(project=None).values_list("pk", "project_id")
    ):
        DeliveryLog.objects.using(db).filter(webhook_id=webhook_id).update(project_id=project_id)


class Migration(migrations.Migration):

    dependencies = [
        migrations.swappable_dependency(project_model_label()),
        ("webhooks_app", "0003_webhook_status"),
    ]

    operations = [
        migrations.CreateModel(
            name="RoutingVersion",
            fields=[
                ("id", models.PositiveSmallIntegerField(default=1, editable=False, primary_key=True, serialize=False)),
                ("version", models.BigIntegerField(default=0)),
            ],
            options={"verbose_name": "routing version"},
        ),
        migrations.RenameField(
            model_name="deliverytaskmarker", old_name="waiting_since", new_name="covered_until"
        ),
        migrations.AddField(
            model_name="deliverytaskmarker",
            name="help_requested_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RemoveConstraint(model_name="delivery", name="webhooks_unique_delivery"),
        migrations.RemoveIndex(model_name="deliverylog", name="webhooks_log_webhook_idx"),
        migrations.AddField(
            model_name="deliverylog",
            name="project",
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to=project_model_label()),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="event",
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name="deliveries", to="webhooks_app.event"),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="webhook",
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="deliveries", to="webhooks_app.webhook"),
        ),
        migrations.AlterField(
            model_name="deliverylog",
            name="webhook",
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="delivery_logs", to="webhooks_app.webhook"),
        ),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(condition=models.Q(("status", "failed")), fields=["webhook", "created_at"], name="webhooks_delivery_failed_idx"),
        ),
        migrations.AddIndex(
            model_name="deliverylog",
            index=models.Index(fields=["webhook", "created_at", "id"], name="webhooks_log_webhook_idx"),
        ),
        migrations.AddIndex(
            model_name="deliverylog",
            index=models.Index(fields=["project", "created_at", "id"], name="webhooks_log_project_idx"),
        ),
        migrations.AddIndex(
            model_name="deliverylog",
            index=models.Index(fields=["project", "outcome", "created_at", "id"], name="webhooks_log_outcome_idx"),
        ),
        migrations.AddIndex(
            model_name="deliverylog",
            index=models.Index(fields=["project", "event_type", "created_at", "id"], name="webhooks_log_event_idx"),
        ),
        migrations.RunPython(copy_project_to_logs, migrations.RunPython.noop),
        # Last: on SQLite, altering a table rebuilds it, which drops its triggers.
        migrations.RunPython(install, uninstall),
    ]
