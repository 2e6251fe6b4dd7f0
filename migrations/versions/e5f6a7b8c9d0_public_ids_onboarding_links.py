"""public source UUIDs and onboarding links

Revision ID: e5f6a7b8c9d0
Revises: d4e5f6a7b8c9
Create Date: 2026-12-01 21:00:00

"""
import uuid

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5f6a7b8c9d0'
down_revision = 'd4e5f6a7b8c9'
branch_labels = None
depends_on = None


def upgrade():
    # Added nullable, filled in for every existing source, then made required and unique.
    with op.batch_alter_table('sources') as batch_op:
        batch_op.add_column(sa.Column('public_id', sa.String(length=36), nullable=True))
    connection = op.get_bind()
    sources = sa.table('sources', sa.column('id', sa.Integer()),
                       sa.column('public_id', sa.String(36)))
    ids = [row[0] for row in connection.execute(
        sa.select(sources.c.id).where(sources.c.public_id.is_(None)))]
    for source_id in ids:
        connection.execute(sources.update().where(sources.c.id == source_id)
                           .values(public_id=str(uuid.uuid4())))
    with op.batch_alter_table('sources') as batch_op:
        batch_op.alter_column('public_id', existing_type=sa.String(length=36), nullable=False)
        batch_op.create_unique_constraint('uq_sources_public_id', ['public_id'])

    op.create_table(
        'onboarding_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=36), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('dialect', sa.String(length=32), nullable=False),
        sa.Column('display_name', sa.String(length=120), nullable=True),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_by', sa.String(length=300), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('claimed_until', sa.DateTime(), nullable=True),
        sa.Column('completed_at', sa.DateTime(), nullable=True),
        sa.Column('completed_by', sa.String(length=300), nullable=True),
        sa.Column('completed_ip', sa.String(length=64), nullable=True),
        sa.Column('source_id', sa.Integer(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['source_id'], ['sources.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash', name='uq_onboarding_links_token_hash'),
        sa.UniqueConstraint('public_id', name='uq_onboarding_links_public_id'),
    )
    with op.batch_alter_table('onboarding_links') as batch_op:
        batch_op.create_index('ix_onboarding_links_org_created',
                              ['organization_id', 'created_at'], unique=False)


def downgrade():
    op.drop_table('onboarding_links')
    with op.batch_alter_table('sources') as batch_op:
        batch_op.drop_constraint('uq_sources_public_id', type_='unique')
        batch_op.drop_column('public_id')
