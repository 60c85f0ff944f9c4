"""Live events for the HTTP API (`GET /events`): on PostgreSQL every statement that adds to the
audit log signals `NOTIFY cuentas_events` (its payload the schema, so one listener serves the
companies of a firm), whoever writes: cuentas on any machine, team mode's
`cuentas_audit_add`. The API's subscribers then read the new audit rows. SQLite has no NOTIFY:
there the API polls the audit log's highest id. Nothing changes on SQLite.

Revision ID: 20261207_0009
Revises: 20261207_0008
Create Date: 2026-12-07 13:00:00
"""

from alembic import op


revision = '20261207_0009'
down_revision = '20261207_0008'
branch_labels = None
depends_on = None

NOTIFY = """
CREATE OR REPLACE FUNCTION cuentas_events_notify() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM pg_notify('cuentas_events', current_schema());
    RETURN NULL;
END
$fn$;
DROP TRIGGER IF EXISTS audit_log_events ON audit_log;
CREATE TRIGGER audit_log_events AFTER INSERT ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION cuentas_events_notify();
"""


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        bind.exec_driver_sql(NOTIFY)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        bind.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_events ON audit_log")
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS cuentas_events_notify()")
