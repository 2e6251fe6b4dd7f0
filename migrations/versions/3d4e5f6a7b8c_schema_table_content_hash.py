"""schema_tables.content_hash: a digest of everything a table's row stores, so a sync carries an
unchanged table over to its new snapshot instead of writing it again

Revision ID: 3d4e5f6a7b8c
Revises: 1b2c3d4e5f6a
Create Date: 2026-12-02 00:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3d4e5f6a7b8c'
down_revision = '1b2c3d4e5f6a'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN (no table rebuild on SQLite); rows stored before it have NULL, which a
    # sync treats as changed (it writes them once more, with their digest).
    op.add_column('schema_tables', sa.Column('content_hash', sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table('schema_tables') as batch_op:
        batch_op.drop_column('content_hash')
