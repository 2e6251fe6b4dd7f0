"""teams: roles, invitations, scoped API keys

Roles become admin / editor / viewer: today's `member` becomes `editor`. Invitations (only the
SHA-256 of a token is stored). API keys get a scope (existing keys become `admin` keys, so
scripts keep working) and an optional expiry; users a last-seen time, memberships a start.

Revision ID: a1b2c3d4e5f6
Revises: 9f4a5b6c7d84
Create Date: 2026-12-01 20:45:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a1b2c3d4e5f6'
down_revision = '9f4a5b6c7d84'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("UPDATE memberships SET role = 'editor' WHERE role = 'member'")
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('name', sa.String(length=120), nullable=True))
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sa.String(length=16), nullable=False,
                                      server_default='admin'))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
    op.create_table(
        'invitations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('accepted_at', sa.DateTime(), nullable=True),
        sa.Column('accepted_by_id', sa.Integer(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['accepted_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash', name='uq_invitations_token_hash'),
    )
    op.create_index('ix_invitations_org_email', 'invitations', ['organization_id', 'email'])


def downgrade():
    op.drop_index('ix_invitations_org_email', table_name='invitations')
    op.drop_table('invitations')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
        batch_op.drop_column('scope')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('name')
        batch_op.drop_column('last_seen_at')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_column('created_at')
    op.execute("UPDATE memberships SET role = 'member' WHERE role IN ('editor', 'viewer')")
