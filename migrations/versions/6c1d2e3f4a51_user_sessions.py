"""user sessions: per-user session generation

Revision ID: 6c1d2e3f4a51
Revises: 5b1c0e2a9d41
Create Date: 2026-12-01 19:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6c1d2e3f4a51'
down_revision = '5b1c0e2a9d41'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
