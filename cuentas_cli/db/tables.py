"""The schema as SQLAlchemy Core tables, for the commands that must start fast.

GENERATED from db/models.py by `python -m cuentas_cli.db.tables_gen`; do not edit by hand
(tests/test_tables.py fails when this file and the models disagree). Columns, types,
nullability, keys and foreign keys only: constraints and indexes live in the models and the
migrations. Python-side defaults (created_at, status...) are the caller's to give.
"""

from sqlalchemy import BigInteger, Boolean, Column, Date, ForeignKey, Integer, MetaData, String, Table, Text

from cuentas_cli.db.coltypes import UtcDateTime

metadata = MetaData()


api_token = Table(
    'api_token',
    metadata,
    Column('id', Integer(), primary_key=True),
    Column('user_id', Integer(), ForeignKey('app_user.id', ondelete='CASCADE'), nullable=False),
    Column('kind', String(10), nullable=False),
    Column('name', String(64), nullable=True),
    Column('token_hash', String(64), nullable=False),
    Column('created_at', UtcDateTime(), nullable=False),
    Column('expires_at', UtcDateTime(), nullable=True),
    Column('last_used_at', UtcDateTime(), nullable=True),
    Column('revoked_at', UtcDateTime(), nullable=True),
)


app_user = Table(
    'app_user',
    metadata,
    Column('id', Integer(), primary_key=True),
    Column('username', String(64), nullable=False),
    Column('email', String(254), nullable=True),
    Column('role', String(20), nullable=False),
    Column('password_hash', String(255), nullable=False),
    Column('is_active', Boolean(), nullable=False),
    Column('failed_logins', Integer(), nullable=False),
    Column('first_failed_at', UtcDateTime(), nullable=True),
    Column('locked_until', UtcDateTime(), nullable=True),
    Column('last_login_at', UtcDateTime(), nullable=True),
    Column('created_at', UtcDateTime(), nullable=False),
    Column('pg_login', String(63), nullable=True),
)


audit_log = Table(
    'audit_log',
    metadata,
    Column('id', Integer(), primary_key=True),
    Column('at', UtcDateTime(), nullable=False),
    Column('user_id', Integer(), ForeignKey('app_user.id', ondelete='SET NULL'), nullable=True),
    Column('username', String(64), nullable=True),
    Column('action', String(40), nullable=False),
    Column('entity', String(40), nullable=False),
    Column('entity_id', String(64), nullable=True),
    Column('before', Text(), nullable=True),
    Column('after', Text(), nullable=True),
)


bank_account = Table(
    'bank_account',
    metadata,
    Column('id', Integer(), primary_key=True),
    Column('name', String(60), nullable=False),
    Column('bank', String(20), nullable=False),
    Column('currency', String(3), nullable=False),
    Column('number', String(40), nullable=False),
    Column('cci', String(20), nullable=True),
    Column('detracciones', Boolean(), nullable=False),
    Column('created_at', UtcDateTime(), nullable=False),
)


bank_line = Table(
    'bank_line',
    metadata,
    Column('id', Integer(), primary_key=True),
    Column('account_id', Integer(), ForeignKey('bank_account.id', ondelete='CASCADE'), nullable=False),
    Column('line_date', Date(), nullable=False),
    Column('amount_cents', BigInteger(), nullable=False),
    Column('description', String(500), nullable=False),
    Column('operation', String(60), nullable=True),
    Column('balance_cents', BigInteger(), nullable=True),
    Column('line_hash', String(64), nullable=False),
    Column('file_row', Integer(), nullable=True),
    Column('import_sha256', String(64), nullable=True),
    Column('state', String(10), nullable=False),
    Column('ignore_reason', String(200), nullable=True),
    Column('created_at', UtcDateTime(), nullable=False),
)


company = Table(
    'company',
    metadata,
    Column('id', Integer(), primary_key=True),
    Column('ruc', String(11), nullable=False),
    Column('alias', String(40), nullable=True),
    Column('name', String(200), nullable=False),
    Column('location', String(1000), nullable=True),
    Column('created_at', UtcDateTime(), nullable=False),
    Column('archived_at', UtcDateTime(), nullable=True),
    Column('archive_path', String(1000), nullable=True),
)


cuota_correction = Table(
    'cuota_correction',
    metadata,
    Column('id', Integer(), primary_key=True),
    Column('invoice_id', Integer(), ForeignKey('invoice.id', ondelete='CASCADE'), nullable=False),
    Column('serie', String(4), nullable=False),
    Column('numero', Integer(), nullable=False),
    Column('issue_date', Date(), nullable=False),
    Column('created_by', Integer(), ForeignKey('app_user.id', ondelete='SET NULL'), nullable=True),
    Column('created_at', UtcDateTime(), nullable=False),
)


db_audit = Table(
    'db_audit',
    metadata,
    Column('id', Integer(), primary_key=True),
    Column('at', UtcDateTime(), nullable=False),
    Column('db_user', String(63), nullable=False),
    Column('operation', String(6), nullable=False),
    Column('table_name', String(40), nullable=False),
    Column('row_id', String(130), nullable=True),
    Column('before', Text(), nullable=True),
    Column('after', Text(), nullable=True),
)


exchange_rate = Table(
    'exchange_rate',
    metadata,
    Column('rate_date', Date(), primary_key=True),
    Column('currency', String(3), primary_key=True),
    Column('buy_e4', Integer(), nullable=True),
    Column('sell_e4', Integer(), nullable=False),
    Column('source', String(20), nullable=False),
    Column('created_at', UtcDateTime(), nullable=False),
)


invoice = Table(
    'invoice',
    metadata,
    Column('id', Integer(), primary_key=True),
    Column('direction', String(10), nullable=False),
    Column('party_id', Integer(), ForeignKey('party.id'), nullable=False),
    Column('doc_type', String(2), nullable=False),
    Column('serie', String(4), nullable=False),
    Column('numero', Integer(), nullable=False),
    Column('issue_date', Date(), nullable=False),
    Column('due_date', Date(), nullable=False),
    Column('currency', String(3), nullable=False),
    Column('exchange_rate_e4', Integer(), nullable=False),
    Column('base_cents', BigInteger(), nullable=True),
    Column('igv_cents', BigInteger(), nullable=True),
    Column('total_cents', BigInteger(), nullable=False),
    Column('detraccion_bp', Integer(), nullable=True),
    Column('detraccion_cents', BigInteger(), nullable=False),
    Column('retencion_cents', BigInteger(), nullable=False),
    Column('paid_cents', BigInteger(), nullable=False),
    Column('adjust_cents', BigInteger(), nullable=False),
    Column('references_id', Integer(), ForeignKey('invoice.id'), nullable=True),
    Column('description', Text(), nullable=True),
    Column('status', String(10), nullable=False),
    Column('created_by', Integer(), ForeignKey('app_user.id', ondelete='SET NULL'), nullable=True),
    Column('created_at', UtcDateTime(), nullable=False),
    Column('updated_at', UtcDateTime(), nullable=False),
)


invoice_cuota = Table(
    'invoice_cuota',
    metadata,
    Column('id', Integer(), primary_key=True),
    Column('invoice_id', Integer(), ForeignKey('invoice.id', ondelete='CASCADE'), nullable=False),
    Column('number', Integer(), nullable=False),
    Column('due_date', Date(), nullable=False),
    Column('amount_cents', BigInteger(), nullable=False),
    Column('after_cents', BigInteger(), nullable=False),
)


notification = Table(
    'notification',
    metadata,
    Column('id', Integer(), primary_key=True),
    Column('kind', String(10), nullable=False),
    Column('invoice_id', Integer(), ForeignKey('invoice.id', ondelete='CASCADE'), nullable=True),
    Column('digest_date', Date(), nullable=True),
    Column('party_id', Integer(), ForeignKey('party.id', ondelete='CASCADE'), nullable=True),
    Column('level', Integer(), nullable=False),
    Column('cuota', Integer(), nullable=False),
    Column('channel', String(10), nullable=False),
    Column('recipient', String(500), nullable=False),
    Column('status', String(10), nullable=False),
    Column('attempts', Integer(), nullable=False),
    Column('last_error', Text(), nullable=True),
    Column('next_attempt_at', UtcDateTime(), nullable=True),
    Column('created_at', UtcDateTime(), nullable=False),
    Column('sent_at', UtcDateTime(), nullable=True),
)


padron_import = Table(
    'padron_import',
    metadata,
    Column('id', Integer(), primary_key=True),
    Column('file_name', String(255), nullable=False),
    Column('file_date', Date(), nullable=True),
    Column('sha256', String(64), nullable=False),
    Column('row_count', BigInteger(), nullable=False),
    Column('malformed_count', Integer(), nullable=False),
    Column('duplicate_count', Integer(), nullable=False),
    Column('imported_at', UtcDateTime(), nullable=False),
    Column('imported_by', Integer(), ForeignKey('app_user.id', ondelete='SET NULL'), nullable=True),
)


party = Table(
    'party',
    metadata,
    Column('id', Integer(), primary_key=True),
    Column('kind', String(10), nullable=False),
    Column('doc_type', String(1), nullable=False),
    Column('doc_number', String(15), nullable=False),
    Column('name', String(255), nullable=False),
    Column('address', String(500), nullable=True),
    Column('email', String(254), nullable=True),
    Column('phone', String(40), nullable=True),
    Column('sunat_estado', String(40), nullable=True),
    Column('sunat_condicion', String(40), nullable=True),
    Column('is_retention_agent', Boolean(), nullable=False),
    Column('is_good_taxpayer', Boolean(), nullable=False),
    Column('source', String(10), nullable=False),
    Column('verified_at', UtcDateTime(), nullable=True),
    Column('created_at', UtcDateTime(), nullable=False),
    Column('updated_at', UtcDateTime(), nullable=False),
)


payment = Table(
    'payment',
    metadata,
    Column('id', Integer(), primary_key=True),
    Column('invoice_id', Integer(), ForeignKey('invoice.id'), nullable=False),
    Column('paid_on', Date(), nullable=False),
    Column('amount_cents', BigInteger(), nullable=False),
    Column('method', String(15), nullable=False),
    Column('reference', String(100), nullable=True),
    Column('recorded_by', Integer(), ForeignKey('app_user.id', ondelete='SET NULL'), nullable=True),
    Column('created_at', UtcDateTime(), nullable=False),
    Column('bank_line_id', Integer(), ForeignKey('bank_line.id', ondelete='SET NULL'), nullable=True),
)


role_permission = Table(
    'role_permission',
    metadata,
    Column('role', String(20), primary_key=True),
    Column('permission', String(40), primary_key=True),
)


ruc_registry = Table(
    'ruc_registry',
    metadata,
    Column('ruc', String(11), primary_key=True),
    Column('name', Text(), nullable=False),
    Column('detail', Text(), nullable=False),
    sqlite_with_rowid=False,
)


setting = Table(
    'setting',
    metadata,
    Column('key', String(64), primary_key=True),
    Column('value', Text(), nullable=False),
    Column('updated_at', UtcDateTime(), nullable=False),
    Column('updated_by', Integer(), ForeignKey('app_user.id', ondelete='SET NULL'), nullable=True),
)
