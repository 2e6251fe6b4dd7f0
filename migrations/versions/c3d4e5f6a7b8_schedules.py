"""schedules: per-source sync schedule, health interval, pause

Revision ID: c3d4e5f6a7b8
Revises: b2c3d4e5f6a7
Create Date: 2026-12-01 20:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3d4e5f6a7b8'
down_revision = 'b2c3d4e5f6a7'
branch_labels = None
depends_on = None


COLUMNS = ("sync_schedule", "sync_time", "sync_timezone", "health_check_interval_minutes",
           "paused", "alert_after_failures")


def upgrade():
    # Existing sources keep today's behaviour: interval syncs, health every 5 minutes.
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("sync_schedule", sa.String(length=100), nullable=False,
                                   server_default="interval"))
        batch.add_column(sa.Column("sync_time", sa.String(length=5), nullable=False,
                                   server_default="00:00"))
        batch.add_column(sa.Column("sync_timezone", sa.String(length=64), nullable=False,
                                   server_default="UTC"))
        batch.add_column(sa.Column("health_check_interval_minutes", sa.Integer(),
                                   nullable=False, server_default="5"))
        batch.add_column(sa.Column("paused", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("alert_after_failures", sa.Integer(), nullable=False,
                                   server_default="2"))


def downgrade():
    with op.batch_alter_table("sources") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
