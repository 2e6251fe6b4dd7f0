"""schema_tables.comment: a table's or view's comment from the source's catalog

Revision ID: 1b2c3d4e5f6a
Revises: 0a1b2c3d4e5f
Create Date: 2026-12-01 23:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1b2c3d4e5f6a'
down_revision = '0a1b2c3d4e5f'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN (no table rebuild on SQLite); columns' comments live in the columns JSON.
    op.add_column('schema_tables', sa.Column('comment', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('schema_tables') as batch_op:
        batch_op.drop_column('comment')
