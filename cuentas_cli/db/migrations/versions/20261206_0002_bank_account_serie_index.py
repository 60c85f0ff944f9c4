"""The company's bank accounts (statements, reminders and the PDF report show them), and an index
on an invoice's serie-número (a document named by it: `invoices show F001-123`, `payments import`).

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


def downgrade() -> None:
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_serie_numero')
    op.drop_table('bank_account')
