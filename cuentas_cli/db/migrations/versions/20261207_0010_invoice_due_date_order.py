"""The due-date index of invoice holds the id after the due date, in the order of every listing
(`invoices list`, `export`: ORDER BY due_date, id). With the due date alone PostgreSQL read every
invoice of the first due date it reached and sorted them by id before it could return 50 rows: on
10M invoices (about 14,000 per due date) a filtered `invoices list --limit 50` took 128 ms of
server time; reading (due_date, id) in order it stops at the 50th row. SQLite already kept its
index entries in rowid (id) order; it gets the same definition, so both schemas stay one.

On a large PostgreSQL database the upgrade rebuilds the index (a few minutes per 10M invoices),
blocking writes to invoice meanwhile.

Revision ID: 20261207_0010
Revises: 20261207_0009
Create Date: 2026-12-07 18:10:00
"""

from alembic import op


revision = '20261207_0010'
down_revision = '20261207_0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_due_date')
        batch_op.create_index('ix_invoice_due_date', ['due_date', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_due_date')
        batch_op.create_index('ix_invoice_due_date', ['due_date'], unique=False)
