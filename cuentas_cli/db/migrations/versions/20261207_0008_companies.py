"""Several companies: the firm's register of companies (db/models_firm.py). A database that
existed before keeps its books where they are and becomes the firm's first company the first
time `cuentas companies add` runs.

Revision ID: 20261207_0008
Revises: 20261207_0007
Create Date: 2026-12-07 12:00:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '20261207_0008'
down_revision = '20261207_0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('company',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ruc', sqlmodel.sql.sqltypes.AutoString(length=11), nullable=False),
    sa.Column('alias', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('location', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('archived_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('archive_path', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_company')),
    sa.UniqueConstraint('alias', name=op.f('uq_company_alias')),
    sa.UniqueConstraint('ruc', name=op.f('uq_company_ruc'))
    )


def downgrade() -> None:
    op.drop_table('company')
