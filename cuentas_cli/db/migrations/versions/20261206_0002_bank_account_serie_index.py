"""The company's bank accounts (statements, reminders and the PDF report show them) and their
movements from the banks' statements (`bank import`), each payment's link to the movement it came
from, and an index on an invoice's serie-número (a document named by it: `invoices show F001-123`,
`payments import`).

Revision ID: 20261206_0002
Revises: 20261126_0001
Create Date: 2026-12-06 19:10:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '20261206_0002'
down_revision = '20261126_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bank_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('bank', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('cci', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('detracciones', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint("currency IN ('PEN', 'USD')", name=op.f('ck_bank_account_currency')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_account')),
    sa.UniqueConstraint('bank', 'number', name='uq_bank_account_bank_number'),
    sa.UniqueConstraint('name', name=op.f('uq_bank_account_name'))
    )
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_serie_numero', ['serie', 'numero'], unique=False)
    op.create_table('bank_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('line_date', sa.Date(), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('operation', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('balance_cents', sa.BigInteger(), nullable=True),
    sa.Column('line_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('file_row', sa.Integer(), nullable=True),
    sa.Column('import_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('ignore_reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint("state IN ('unmatched', 'matched', 'ignored')", name=op.f('ck_bank_line_state')),
    sa.ForeignKeyConstraint(['account_id'], ['bank_account.id'], name=op.f('fk_bank_line_account_id_bank_account'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_line')),
    sa.UniqueConstraint('line_hash', name=op.f('uq_bank_line_line_hash'))
    )
    with op.batch_alter_table('bank_line', schema=None) as batch_op:
        batch_op.create_index('ix_bank_line_account_date', ['account_id', 'line_date'], unique=False)
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bank_line_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_payment_bank_line_id_bank_line'), 'bank_line', ['bank_line_id'],
                                    ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_payment_bank_line_id', ['bank_line_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_bank_line_id')
        batch_op.drop_constraint(batch_op.f('fk_payment_bank_line_id_bank_line'), type_='foreignkey')
        batch_op.drop_column('bank_line_id')
    with op.batch_alter_table('bank_line', schema=None) as batch_op:
        batch_op.drop_index('ix_bank_line_account_date')
    op.drop_table('bank_line')
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_serie_numero')
    op.drop_table('bank_account')
