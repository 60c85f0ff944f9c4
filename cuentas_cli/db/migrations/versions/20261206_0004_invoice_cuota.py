"""Installments (cuotas) of a credit sale or purchase: the forma de pago Crédito of SUNAT's
electronic invoices (`invoices add --cuota`, the import's cuota columns, UBL PaymentTerms).

Revision ID: 20261206_0004
Revises: 20261206_0003
Create Date: 2026-12-06 23:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = '20261206_0004'
down_revision = '20261206_0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('invoice_cuota',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_invoice_cuota_amount_positive')),
    sa.CheckConstraint('number BETWEEN 1 AND 999', name=op.f('ck_invoice_cuota_number')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_invoice_cuota_invoice_id_invoice'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_cuota')),
    sa.UniqueConstraint('invoice_id', 'number', name='uq_invoice_cuota_number')
    )
    with op.batch_alter_table('invoice_cuota', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_cuota_due_date', ['due_date'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('invoice_cuota', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_cuota_due_date')
    op.drop_table('invoice_cuota')
