"""Initial schema: every table of the data model in design.md.

Revision ID: 20261126_0001
Revises: 
Create Date: 2026-11-26 22:20:38.077628
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '20261126_0001'
down_revision = None
branch_labels = None
depends_on = None

# The default permission matrix of design.md, frozen as of this revision.
DEFAULT_GRANTS = {
    "contador": ["read", "invoices.create", "invoices.operate", "parties.write", "fx.write", "summary", "notify"],
    "gerente": ["read", "dashboards", "summary", "export", "notify", "audit"],
    "administrador": [
        "read", "invoices.create", "invoices.operate", "invoices.edit", "invoices.delete",
        "parties.write", "parties.delete", "fx.write", "dashboards", "summary", "export",
        "notify", "audit", "users", "settings",
    ],
}


def upgrade() -> None:
    op.create_table('app_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('first_failed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('locked_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_login_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint("role IN ('contador', 'gerente', 'administrador')", name=op.f('ck_app_user_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_user')),
    sa.UniqueConstraint('username', name=op.f('uq_app_user_username'))
    )
    op.create_table('exchange_rate',
    sa.Column('rate_date', sa.Date(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('buy_e4', sa.Integer(), nullable=True),
    sa.Column('sell_e4', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint('sell_e4 > 0', name=op.f('ck_exchange_rate_sell_positive')),
    sa.PrimaryKeyConstraint('rate_date', 'currency', name=op.f('pk_exchange_rate'))
    )
    op.create_table('party',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('doc_type', sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
    sa.Column('doc_number', sqlmodel.sql.sqltypes.AutoString(length=15), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('sunat_estado', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('sunat_condicion', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('is_retention_agent', sa.Boolean(), nullable=False),
    sa.Column('is_good_taxpayer', sa.Boolean(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('verified_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint("doc_type IN ('0', '1', '4', '6', '7', 'A')", name=op.f('ck_party_doc_type')),
    sa.CheckConstraint("kind IN ('client', 'supplier')", name=op.f('ck_party_kind')),
    sa.CheckConstraint("source IN ('manual', 'provider', 'padron', 'import')", name=op.f('ck_party_source')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_party')),
    sa.UniqueConstraint('kind', 'doc_type', 'doc_number', name='uq_party_kind_doc')
    )
    with op.batch_alter_table('party', schema=None) as batch_op:
        batch_op.create_index('ix_party_doc_number', ['doc_number'], unique=False)
        batch_op.create_index('ix_party_name', ['name'], unique=False)

    op.create_table('role_permission',
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('permission', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.CheckConstraint("role IN ('contador', 'gerente', 'administrador')", name=op.f('ck_role_permission_role')),
    sa.PrimaryKeyConstraint('role', 'permission', name=op.f('pk_role_permission'))
    )
    op.create_table('ruc_registry',
    sa.Column('ruc', sqlmodel.sql.sqltypes.AutoString(length=11), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('ruc', name=op.f('pk_ruc_registry')),
    sqlite_with_rowid=False,
    )
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.CheckConstraint("kind IN ('session', 'service')", name=op.f('ck_api_token_kind')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_api_token_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('name', name=op.f('uq_api_token_name')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash'))
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index('ix_api_token_user_id', ['user_id'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('entity', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('entity_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('before', sa.Text(), nullable=True),
    sa.Column('after', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_audit_log_user_id_app_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_at', ['at'], unique=False)
        batch_op.create_index('ix_audit_log_entity', ['entity', 'entity_id'], unique=False)

    op.create_table('invoice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('direction', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('doc_type', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('serie', sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
    sa.Column('numero', sa.Integer(), nullable=False),
    sa.Column('issue_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('exchange_rate_e4', sa.Integer(), nullable=False),
    sa.Column('base_cents', sa.BigInteger(), nullable=True),
    sa.Column('igv_cents', sa.BigInteger(), nullable=True),
    sa.Column('total_cents', sa.BigInteger(), nullable=False),
    sa.Column('detraccion_bp', sa.Integer(), nullable=True),
    sa.Column('detraccion_cents', sa.BigInteger(), nullable=False),
    sa.Column('retencion_cents', sa.BigInteger(), nullable=False),
    sa.Column('paid_cents', sa.BigInteger(), nullable=False),
    sa.Column('adjust_cents', sa.BigInteger(), nullable=False),
    sa.Column('references_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint("currency IN ('PEN', 'USD')", name=op.f('ck_invoice_currency')),
    sa.CheckConstraint("direction IN ('receivable', 'payable')", name=op.f('ck_invoice_direction')),
    sa.CheckConstraint("status IN ('PENDIENTE', 'PARCIAL', 'PAGADA', 'VENCIDA', 'ANULADA')", name=op.f('ck_invoice_status')),
    sa.CheckConstraint('due_date >= issue_date', name=op.f('ck_invoice_due_after_issue')),
    sa.CheckConstraint('exchange_rate_e4 > 0', name=op.f('ck_invoice_rate_positive')),
    sa.CheckConstraint('numero BETWEEN 1 AND 99999999', name=op.f('ck_invoice_numero')),
    sa.CheckConstraint('paid_cents >= 0', name=op.f('ck_invoice_paid_nonnegative')),
    sa.CheckConstraint('total_cents > 0', name=op.f('ck_invoice_total_positive')),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.id'], name=op.f('fk_invoice_created_by_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['party_id'], ['party.id'], name=op.f('fk_invoice_party_id_party')),
    sa.ForeignKeyConstraint(['references_id'], ['invoice.id'], name=op.f('fk_invoice_references_id_invoice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice')),
    sa.UniqueConstraint('direction', 'party_id', 'doc_type', 'serie', 'numero', name='uq_invoice_document')
    )
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_due_date', ['due_date'], unique=False)
        batch_op.create_index('ix_invoice_party_id', ['party_id'], unique=False)
        batch_op.create_index('ix_invoice_references_id', ['references_id'], unique=False)
        batch_op.create_index('ix_invoice_issue_date', ['issue_date'], unique=False)
        batch_op.create_index('ix_invoice_open', ['direction', 'due_date', 'currency', 'exchange_rate_e4', 'total_cents',
                                                  'adjust_cents', 'paid_cents', 'issue_date', 'doc_type', 'party_id',
                                                  'detraccion_cents', 'id'], unique=False,
                              sqlite_where=sa.text("status IN ('PENDIENTE', 'PARCIAL', 'VENCIDA')"),
                              postgresql_where=sa.text("status IN ('PENDIENTE', 'PARCIAL', 'VENCIDA')"))

    op.create_table('padron_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('file_date', sa.Date(), nullable=True),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('row_count', sa.BigInteger(), nullable=False),
    sa.Column('malformed_count', sa.Integer(), nullable=False),
    sa.Column('duplicate_count', sa.Integer(), nullable=False),
    sa.Column('imported_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('imported_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['imported_by'], ['app_user.id'], name=op.f('fk_padron_import_imported_by_app_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_padron_import'))
    )
    op.create_table('setting',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by'], ['app_user.id'], name=op.f('fk_setting_updated_by_app_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_setting'))
    )
    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('digest_date', sa.Date(), nullable=True),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('recipient', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.CheckConstraint("channel IN ('email', 'webhook')", name=op.f('ck_notification_channel')),
    sa.CheckConstraint("kind IN ('reminder', 'digest')", name=op.f('ck_notification_kind')),
    sa.CheckConstraint("(kind = 'reminder' AND invoice_id IS NOT NULL AND digest_date IS NULL) OR (kind = 'digest' AND invoice_id IS NULL AND digest_date IS NOT NULL)", name=op.f('ck_notification_kind_target')),
    sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed', 'cancelled')", name=op.f('ck_notification_status')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_notification_invoice_id_invoice'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
    sa.UniqueConstraint('digest_date', 'channel', 'recipient', name='uq_notification_digest'),
    sa.UniqueConstraint('invoice_id', 'level', 'channel', 'recipient', name='uq_notification_once')
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_outbox', ['status', 'channel', 'recipient'], unique=False)

    op.create_table('payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=15), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint("method IN ('transferencia', 'efectivo', 'cheque', 'detraccion', 'retencion')", name=op.f('ck_payment_method')),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_payment_amount_positive')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_payment_invoice_id_invoice')),
    sa.ForeignKeyConstraint(['recorded_by'], ['app_user.id'], name=op.f('fk_payment_recorded_by_app_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment'))
    )
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.create_index('ix_payment_invoice_id', ['invoice_id'], unique=False)
        batch_op.create_index('ix_payment_paid_on', ['paid_on'], unique=False)
        batch_op.create_index('ix_payment_detraccion', ['invoice_id', 'paid_on', 'amount_cents'], unique=False,
                              sqlite_where=sa.text("method = 'detraccion'"),
                              postgresql_where=sa.text("method = 'detraccion'"))
    role_permission = sa.table("role_permission", sa.column("role", sa.String), sa.column("permission", sa.String))
    op.bulk_insert(
        role_permission,
        [{"role": role, "permission": perm} for role, perms in DEFAULT_GRANTS.items() for perm in perms],
    )


def downgrade() -> None:
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_detraccion')
        batch_op.drop_index('ix_payment_paid_on')
        batch_op.drop_index('ix_payment_invoice_id')

    op.drop_table('payment')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_outbox')

    op.drop_table('notification')
    op.drop_table('setting')
    op.drop_table('padron_import')
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_open')
        batch_op.drop_index('ix_invoice_issue_date')
        batch_op.drop_index('ix_invoice_references_id')
        batch_op.drop_index('ix_invoice_party_id')
        batch_op.drop_index('ix_invoice_due_date')

    op.drop_table('invoice')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_entity')
        batch_op.drop_index('ix_audit_log_at')

    op.drop_table('audit_log')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index('ix_api_token_user_id')

    op.drop_table('api_token')
    op.drop_table('ruc_registry')
    op.drop_table('role_permission')
    with op.batch_alter_table('party', schema=None) as batch_op:
        batch_op.drop_index('ix_party_name')
        batch_op.drop_index('ix_party_doc_number')

    op.drop_table('party')
    op.drop_table('exchange_rate')
    op.drop_table('app_user')
    
