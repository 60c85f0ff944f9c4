"""Ageing by cuota: each cuota keeps the sum of the cuotas after it (`after_cents`), so which
cuotas a balance still owes is one comparison in SQL, and a reminder names the cuota it chases
(`notification.cuota`, 0 for an invoice without cuotas) so each cuota gets its own levels.

Revision ID: 20261207_0005
Revises: 20261206_0004
Create Date: 2026-12-07 02:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '20261207_0005'
down_revision = '20261206_0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invoice_cuota', schema=None) as batch_op:
        batch_op.add_column(sa.Column('after_cents', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.create_check_constraint(op.f('ck_invoice_cuota_after_not_negative'), 'after_cents >= 0')
    op.execute("UPDATE invoice_cuota SET after_cents = (SELECT COALESCE(SUM(later.amount_cents), 0) "
               "FROM invoice_cuota later WHERE later.invoice_id = invoice_cuota.invoice_id "
               "AND later.number > invoice_cuota.number)")
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cuota', sa.Integer(), nullable=False, server_default='0'))
        batch_op.drop_constraint('uq_notification_once', type_='unique')
        batch_op.create_unique_constraint('uq_notification_once', ['invoice_id', 'cuota', 'level', 'channel',
                                                                   'recipient'])


def downgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_constraint('uq_notification_once', type_='unique')
    op.execute("DELETE FROM notification WHERE cuota > 1")
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_notification_once', ['invoice_id', 'level', 'channel', 'recipient'])
        batch_op.drop_column('cuota')
    with op.batch_alter_table('invoice_cuota', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_invoice_cuota_after_not_negative'), type_='check')
        batch_op.drop_column('after_cents')
