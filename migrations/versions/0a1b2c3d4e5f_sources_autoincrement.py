"""sources autoincrement: SQLite never hands a deleted source's id to a new one

Revision ID: 0a1b2c3d4e5f
Revises: f6a7b8c9d0e1
Create Date: 2026-12-01 21:50:00

SQLite reuses the largest rowid after a delete unless the table is AUTOINCREMENT; the table is
rebuilt with it (env.py keeps foreign keys off while a batch rebuild drops the old table).
PostgreSQL's sequences never reuse a number: nothing to do there.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0a1b2c3d4e5f'
down_revision = 'f6a7b8c9d0e1'
branch_labels = None
depends_on = None


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    with op.batch_alter_table(
        'sources', recreate='always', table_kwargs={'sqlite_autoincrement': autoincrement}
    ):
        pass


def upgrade():
    _rebuild(True)


def downgrade():
    _rebuild(False)
