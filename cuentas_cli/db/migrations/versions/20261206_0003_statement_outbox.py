"""Statements of account in the outbox: a notification row of kind "statement" for a client
(party_id) and a period (level = YYYYMM), once per client, month, channel and recipient.

Revision ID: 20261206_0003
Revises: 20261206_0002
Create Date: 2026-12-06 19:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '20261206_0003'
down_revision = '20261206_0002'
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('reminder', 'digest')"
NEW_KINDS = "kind IN ('reminder', 'digest', 'statement')"
OLD_TARGET = ("(kind = 'reminder' AND invoice_id IS NOT NULL AND digest_date IS NULL) OR "
              "(kind = 'digest' AND invoice_id IS NULL AND digest_date IS NOT NULL)")
NEW_TARGET = (OLD_TARGET + " OR "
              "(kind = 'statement' AND party_id IS NOT NULL AND invoice_id IS NULL AND digest_date IS NULL)")


def upgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('party_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_notification_party_id_party'), 'party', ['party_id'], ['id'],
                                    ondelete='CASCADE')
        batch_op.create_unique_constraint('uq_notification_statement', ['party_id', 'level', 'channel', 'recipient'])
        batch_op.drop_constraint(op.f('ck_notification_kind'), type_='check')
        batch_op.drop_constraint(op.f('ck_notification_kind_target'), type_='check')
        batch_op.create_check_constraint(op.f('ck_notification_kind'), NEW_KINDS)
        batch_op.create_check_constraint(op.f('ck_notification_kind_target'), NEW_TARGET)


def downgrade() -> None:
    op.execute("DELETE FROM notification WHERE kind = 'statement'")
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_notification_kind_target'), type_='check')
        batch_op.drop_constraint(op.f('ck_notification_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_notification_kind'), OLD_KINDS)
        batch_op.create_check_constraint(op.f('ck_notification_kind_target'), OLD_TARGET)
        batch_op.drop_constraint('uq_notification_statement', type_='unique')
        batch_op.drop_constraint(op.f('fk_notification_party_id_party'), type_='foreignkey')
        batch_op.drop_column('party_id')
