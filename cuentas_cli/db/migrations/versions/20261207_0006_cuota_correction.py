"""Credit notes of type 13 applied to the cuotas of the invoice they modify (the UBL import
replaces that invoice's cuotas by the note's): one row per note applied, so a re-import changes
nothing and an older note cannot undo a newer one.

Revision ID: 20261207_0006
Revises: 20261207_0005
Create Date: 2026-12-07 05:00:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '20261207_0006'
down_revision = '20261207_0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cuota_correction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('serie', sa.String(length=4), nullable=False),
    sa.Column('numero', sa.Integer(), nullable=False),
    sa.Column('issue_date', sa.Date(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint('numero > 0', name=op.f('ck_cuota_correction_numero_positive')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_cuota_correction_invoice_id_invoice'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.id'], name=op.f('fk_cuota_correction_created_by_app_user'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cuota_correction')),
    sa.UniqueConstraint('invoice_id', 'serie', 'numero', name='uq_cuota_correction_note')
    )


def downgrade() -> None:
    op.drop_table('cuota_correction')
