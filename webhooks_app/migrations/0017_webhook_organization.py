"""Organisation webhooks (WEBHOOKS["ORGANIZATION_MODEL"]): a webhook belongs to a
project, to an organisation (every project of it), or to neither (installation-wide).

* ``Webhook.organization``, with a constraint that a webhook has one scope at most;
* the routing-version triggers fire when a webhook's organisation changes too. SQLite
  rebuilds the webhook table to add the constraint, which drops its triggers: they are
  made again here, with the new column (a later migration that rebuilds the table calls
  :func:`recreate_sqlite_triggers` of this one);
* ``webhooks_app_emit_v3`` on PostgreSQL, which takes the event's organisations as well.
  Versions 1 and 2 stay for processes still running the previous code during a deploy,
  made again here so that they leave organisation webhooks out: to them a webhook with
  no project was every project's, and an organisation's webhook must never get another
  organisation's events (until the old processes stop, it gets none from them).
"""

import importlib

import django.db.models.deletion
from django.db import migrations, models

from webhooks_app.conf import organization_model_label, project_model_label

routing = importlib.import_module("webhooks_app.migrations.0004_routing_and_scale")
idempotency = importlib.import_module("webhooks_app.migrations.0012_event_idempotency_key")

OLD_SCOPE = "WHERE (w.project_id IS NULL OR w.project_id = ANY (p_projects))"
NEW_SCOPE = (
    "WHERE ((w.project_id IS NULL AND w.organization_id IS NULL) "
    "OR w.project_id = ANY (p_projects))"
)

ROUTING_COLUMNS = ("project_id", "organization_id", "status")

SQLITE_TRIGGERS = [
    (name, "UPDATE OF " + ", ".join(ROUTING_COLUMNS) if name.endswith("webhook_routing_u") else event, table)
    for name, event, table in routing.SQLITE_TRIGGERS
]

POSTGRES_WEBHOOK_TRIGGER = """
DROP TRIGGER IF EXISTS webhooks_app_webhook_routing ON webhooks_app_webhook;
CREATE TRIGGER webhooks_app_webhook_routing
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF {columns} ON webhooks_app_webhook
    FOR EACH STATEMENT EXECUTE FUNCTION webhooks_app_bump_routing();
"""

# webhooks_app_emit_v2 (migration 0012) with p_organizations: the recipients are the
# receiving webhooks of the event's projects, of their organisations, and the
# installation-wide ones (neither), subscribed to one of the event's patterns.
POSTGRES_EMIT_V3 = """
CREATE OR REPLACE FUNCTION webhooks_app_emit_v3(
    p_patterns varchar[], p_projects {pk}[], p_organizations {org_pk}[], p_uuid uuid,
    p_type varchar, p_project {pk}, p_body text, p_now timestamptz,
    p_cover_until timestamptz, p_async boolean, p_key varchar, p_key_since timestamptz,
    OUT recorded_event bigint, OUT recorded_deliveries integer, OUT kick_task boolean,
    OUT routing_version bigint, OUT duplicate_of bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    recipients bigint[];
BEGIN
    SELECT version INTO routing_version FROM webhooks_app_routingversion WHERE id = 1;
    SELECT array_agg(w.id) INTO recipients
    FROM webhooks_app_webhook w
    WHERE ((w.project_id IS NULL AND w.organization_id IS NULL)
           OR w.project_id = ANY (p_projects)
           OR w.organization_id = ANY (p_organizations))
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


def recreate_sqlite_triggers(apps, schema_editor):
    """The webhook table's routing triggers, as of this migration (see the docstring)."""
    if schema_editor.connection.vendor != "sqlite":
        return
    for name, event, table in SQLITE_TRIGGERS:
        if table == "webhooks_app_webhook":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
            schema_editor.execute(routing.SQLITE_TRIGGER.format(name=name, event=event, table=table))


def install(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        recreate_sqlite_triggers(apps, schema_editor)
    if connection.vendor != "postgresql":
        return
    webhook = apps.get_model("webhooks_app", "Webhook")
    pk = webhook._meta.get_field("project").target_field.rel_db_type(connection)
    org_pk = webhook._meta.get_field("organization").target_field.rel_db_type(connection)
    schema_editor.execute(POSTGRES_WEBHOOK_TRIGGER.format(columns=", ".join(ROUTING_COLUMNS)))
    schema_editor.execute(POSTGRES_EMIT_V3.replace("{pk}", pk).replace("{org_pk}", org_pk))
    for old in (routing.POSTGRES_EMIT, idempotency.POSTGRES_EMIT_V2):
        assert OLD_SCOPE in old
        schema_editor.execute(old.replace(OLD_SCOPE, NEW_SCOPE).replace("{pk}", pk))


def uninstall(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS webhooks_app_emit_v3;")
        schema_editor.execute(
            POSTGRES_WEBHOOK_TRIGGER.format(columns=", ".join(routing.ROUTING_COLUMNS))
        )
        pk = apps.get_model("webhooks_app", "Webhook")._meta.get_field("project").target_field
        pk = pk.rel_db_type(connection)
        for old in (routing.POSTGRES_EMIT, idempotency.POSTGRES_EMIT_V2):
            schema_editor.execute(old.replace("{pk}", pk))
    elif connection.vendor == "sqlite":
        # Back to 0016's triggers: the column they watched is gone.
        for name, event, table in routing.SQLITE_TRIGGERS:
            if table == "webhooks_app_webhook":
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
                schema_editor.execute(routing.SQLITE_TRIGGER.format(name=name, event=event, table=table))


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(organization_model_label()),
        ("webhooks_app", "0016_webhook_url_rule"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, uninstall),
        migrations.AddField(
            model_name="webhook",
            name="organization",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                help_text="The organisation whose projects' events it receives (not with a project).",
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to=organization_model_label(),
                verbose_name="organisation",
            ),
        ),
        migrations.AddConstraint(
            model_name="webhook",
            constraint=models.CheckConstraint(
                condition=models.Q(("project__isnull", True), ("organization__isnull", True), _connector="OR"),
                name="webhooks_webhook_one_scope",
            ),
        ),
        migrations.AlterField(
            model_name="webhook",
            name="project",
            field=models.ForeignKey(
                blank=True,
                help_text="The project whose events it receives. With neither a project nor an organisation the webhook is installation-wide: it receives every project's events, of every organisation, and only staff manage it.",
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="webhooks",
                to=project_model_label(),
            ),
        ),
        # Last: on SQLite the constraint rebuilt the table, which dropped its triggers.
        migrations.RunPython(install, migrations.RunPython.noop),
    ]
