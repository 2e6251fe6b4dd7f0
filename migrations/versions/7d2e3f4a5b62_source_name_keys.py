"""source name keys: display names compared after NFKC + case folding

Revision ID: 7d2e3f4a5b62
Revises: 6c1d2e3f4a51
Create Date: 2026-12-01 19:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7d2e3f4a5b62'
down_revision = '6c1d2e3f4a51'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
