"""user sessions: per-user session generation; the first-run setup claim

Revision ID: 6c1d2e3f4a51
Revises: 5b1c0e2a9d41
Create Date: 2026-12-01 19:50:00

Every user gets a random session generation (sessions carry it; a new one ends them all).
The `installation` table holds at most one row, claimed by first-run setup in the same
transaction that creates the organization; a store that already has users gets its row here.
"""
import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '6c1d2e3f4a51'
down_revision = '5b1c0e2a9d41'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.String(length=32), nullable=True))

    users = sa.table('users', sa.column('id', sa.Integer),
                     sa.column('session_generation', sa.String))
    conn = op.get_bind()
    for (user_id,) in conn.execute(sa.select(users.c.id)).all():
        conn.execute(users.update().where(users.c.id == user_id)
                     .values(session_generation=secrets.token_hex(16)))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('session_generation', existing_type=sa.String(length=32),
                              nullable=False)

    op.create_table('installation',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('set_up_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('id = 1', name='ck_installation_singleton'),
    sa.PrimaryKeyConstraint('id')
    )
    if conn.execute(sa.text('SELECT count(*) FROM users')).scalar():
        conn.execute(sa.text('INSERT INTO installation (id, set_up_at) '
                             'VALUES (1, CURRENT_TIMESTAMP)'))


def downgrade():
    op.drop_table('installation')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_generation')
