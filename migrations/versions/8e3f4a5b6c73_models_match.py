"""models match: drop two server defaults that no model declares

Revision 5b1c0e2a9d41 added schema_tables.foreign_keys and sources.mutating_queries_enabled as
NOT NULL columns with a server default, to fill the rows that existed then. The models give
both a Python-side default only (the app always writes the value), so with server defaults
compared (migrations/env.py) `flask db check` reported the two columns. Dropping the defaults
makes a migrated store exactly what the models describe (tests/integration/
test_migrations_match_models.py). On SQLite this rebuilds both tables; env.py keeps foreign
keys off meanwhile so rows pointing at `sources` survive.

Revision ID: 8e3f4a5b6c73
Revises: 7d2e3f4a5b62
Create Date: 2026-12-01 20:05:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '8e3f4a5b6c73'
down_revision = '7d2e3f4a5b62'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('schema_tables', schema=None) as batch_op:
        batch_op.alter_column('foreign_keys', existing_type=sa.JSON(), existing_nullable=False,
                              server_default=None)
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.alter_column('mutating_queries_enabled', existing_type=sa.Boolean(),
                              existing_nullable=False, server_default=None)


def downgrade():
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.alter_column('mutating_queries_enabled', existing_type=sa.Boolean(),
                              existing_nullable=False, server_default=sa.false())
    with op.batch_alter_table('schema_tables', schema=None) as batch_op:
        batch_op.alter_column('foreign_keys', existing_type=sa.JSON(), existing_nullable=False,
                              server_default='[]')
