"""Team mode on PostgreSQL: a user's own PostgreSQL login (app_user.pg_login), the audit trail
the database writes (db_audit, filled by the triggers `cuentas db roles apply` installs), and
the one door to the application's audit log, `cuentas_audit_add`: a SECURITY DEFINER function,
so a login that may not INSERT INTO audit_log still has its changes logged, under its own name.

Revision ID: 20261207_0007
Revises: 20261207_0006
Create Date: 2026-12-07 08:00:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '20261207_0007'
down_revision = '20261207_0006'
branch_labels = None
depends_on = None

# The audit log's writer on PostgreSQL (admin/audit.py calls it): the rows come as a JSON array.
# A connection made as a user's own login is logged as that user whatever the caller says.
AUDIT_ADD = """
CREATE OR REPLACE FUNCTION cuentas_audit_add(entries jsonb) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $fn$
DECLARE
    mapped_id integer;
    mapped_name text;
    written integer;
BEGIN
    SELECT id, username INTO mapped_id, mapped_name FROM app_user WHERE pg_login = session_user;
    INSERT INTO audit_log (at, user_id, username, action, entity, entity_id, before, after)
    SELECT COALESCE(e.at, now()), COALESCE(mapped_id, e.user_id), COALESCE(mapped_name, e.username),
           e.action, e.entity, e.entity_id, e.before, e.after
    FROM jsonb_to_recordset(entries) AS e(at timestamptz, user_id integer, username text, action text,
                                          entity text, entity_id text, before text, after text);
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END
$fn$;
REVOKE ALL ON FUNCTION cuentas_audit_add(jsonb) FROM PUBLIC;
"""

# `cuentas bank undo` takes back the payments a reconciliation recorded; a role that may operate
# but not delete (contador) does it through this function, which deletes only such payments,
# so its login holds no DELETE on payment.
BANK_UNDO = """
CREATE OR REPLACE FUNCTION cuentas_delete_bank_payments(invoice integer, ids integer[]) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $fn$
DECLARE
    deleted integer;
BEGIN
    DELETE FROM payment WHERE id = ANY(ids) AND invoice_id = invoice AND bank_line_id IS NOT NULL;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    RETURN deleted;
END
$fn$;
REVOKE ALL ON FUNCTION cuentas_delete_bank_payments(integer, integer[]) FROM PUBLIC;
"""


def upgrade() -> None:
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pg_login', sqlmodel.sql.sqltypes.AutoString(length=63), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_app_user_pg_login'), ['pg_login'])
    op.create_table('db_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('db_user', sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
    sa.Column('operation', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('table_name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('row_id', sqlmodel.sql.sqltypes.AutoString(length=130), nullable=True),
    sa.Column('before', sa.Text(), nullable=True),
    sa.Column('after', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_db_audit'))
    )
    with op.batch_alter_table('db_audit', schema=None) as batch_op:
        batch_op.create_index('ix_db_audit_at', ['at'], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        schema = bind.execute(sa.text("SELECT quote_ident(current_schema())")).scalar()
        bind.exec_driver_sql(AUDIT_ADD.format(schema=schema))
        bind.exec_driver_sql(BANK_UNDO.format(schema=schema))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS cuentas_audit_add(jsonb)")
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS cuentas_delete_bank_payments(integer, integer[])")
    with op.batch_alter_table('db_audit', schema=None) as batch_op:
        batch_op.drop_index('ix_db_audit_at')
    op.drop_table('db_audit')
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_app_user_pg_login'), type_='unique')
        batch_op.drop_column('pg_login')
