"""On PostgreSQL: a trigger refuses UPDATE and DELETE of security log rows (otklik.audit.models).

The one UPDATE let through is ON DELETE SET NULL of a deleted user: `user_id` becomes NULL and nothing else changes
(the `username` copy stays). TRUNCATE is not blocked: Django's test flush uses it; in production run the application
as a role that does not own the table and has no TRUNCATE privilege (docs/SECURITY.md). SQLite (the embedded demo)
has the ORM guards only.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION audit_auditrecord_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.user_id IS NOT NULL AND NEW.user_id IS NULL
       AND (to_jsonb(NEW) - 'user_id') = (to_jsonb(OLD) - 'user_id') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the security log (audit_auditrecord) is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
DROP TRIGGER IF EXISTS audit_auditrecord_append_only ON audit_auditrecord;
CREATE TRIGGER audit_auditrecord_append_only
    BEFORE UPDATE OR DELETE ON audit_auditrecord
    FOR EACH ROW EXECUTE FUNCTION audit_auditrecord_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS audit_auditrecord_append_only ON audit_auditrecord;
DROP FUNCTION IF EXISTS audit_auditrecord_append_only();
"""


def _on_postgresql(sql: str) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, None)  # no parameters: the % of RAISE stays as it is

    return run


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_security_log")]

    operations = [migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP), elidable=False)]
