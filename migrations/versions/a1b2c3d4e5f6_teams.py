"""teams: roles, invitations, scoped API keys

Revision ID: a1b2c3d4e5f6
Revises: 9f4a5b6c7d84
Create Date: 2026-12-01 20:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1b2c3d4e5f6'
down_revision = '9f4a5b6c7d84'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
