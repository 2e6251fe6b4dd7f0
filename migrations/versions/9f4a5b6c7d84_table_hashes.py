"""table hashes: schema_tables.columns_hash, what the snapshot diff compares

A digest of each stored table's column names and types (webapp/jobs/diff.py `columns_hash`),
written with the row. The diff streams both snapshots once in (schema, name) order and reads a
pair's columns only when the digests differ, so its cost no longer depends on the store's
planner statistics. Rows stored before this revision have no digest (NULL): the diff compares
their columns, once, until the next sync replaces them.

Revision ID: 9f4a5b6c7d84
Revises: 8e3f4a5b6c73
Create Date: 2026-12-01 20:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '9f4a5b6c7d84'
down_revision = '8e3f4a5b6c73'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('schema_tables', schema=None) as batch_op:
        batch_op.add_column(sa.Column('columns_hash', sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table('schema_tables', schema=None) as batch_op:
        batch_op.drop_column('columns_hash')
