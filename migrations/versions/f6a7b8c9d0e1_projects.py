"""projects: a grouping of sources inside an organization

Revision ID: f6a7b8c9d0e1
Revises: e5f6a7b8c9d0
Create Date: 2026-12-01 21:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f6a7b8c9d0e1'
down_revision = 'e5f6a7b8c9d0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'projects',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('organization_id', 'name', name='uq_projects_org_name'),
    )
    with op.batch_alter_table('projects') as batch_op:
        batch_op.create_index(batch_op.f('ix_projects_organization_id'), ['organization_id'],
                              unique=False)
    # A plain ADD COLUMN with its reference (no table rebuild on SQLite).
    with op.batch_alter_table('sources') as batch_op:
        batch_op.add_column(sa.Column('project_id', sa.Integer(),
                                      sa.ForeignKey('projects.id', ondelete='SET NULL',
                                                    name='fk_sources_project_id_projects'),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_sources_project_id'), ['project_id'], unique=False)


def downgrade():
    with op.batch_alter_table('sources') as batch_op:
        batch_op.drop_index(batch_op.f('ix_sources_project_id'))
        batch_op.drop_column('project_id')
    with op.batch_alter_table('projects') as batch_op:
        batch_op.drop_index(batch_op.f('ix_projects_organization_id'))
    op.drop_table('projects')
