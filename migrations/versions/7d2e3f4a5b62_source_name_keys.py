"""source name keys: display names compared after NFKC + case folding

Adds sources.name_key (the display name after NFKC, without default-ignorable code points,
case-folded: webapp/names.py), fills it for every existing row, and makes
(organization_id, name_key) unique in place of (organization_id, display_name).

Rows whose names were distinct before but share a key now ("Café" typed twice in two Unicode
forms, "Dup" and "Ｄup") cannot keep the same name: the oldest keeps it, the others get
" (2)", " (3)", … appended, and the renames are logged.

Revision ID: 7d2e3f4a5b62
Revises: 6c1d2e3f4a51
Create Date: 2026-12-01 19:50:00

"""
import logging
import unicodedata

import regex
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '7d2e3f4a5b62'
down_revision = '6c1d2e3f4a51'
branch_labels = None
depends_on = None

log = logging.getLogger('alembic.runtime.migration')

# A frozen copy of webapp/names.py's rule as of this revision (a migration must not change
# when the app's code does).
_IGNORABLE = regex.compile(r'\p{Default_Ignorable_Code_Point}+')
NAME_LENGTH = 120
KEY_LENGTH = 400


def name_key(name):
    text = _IGNORABLE.sub('', unicodedata.normalize('NFKC', name.strip()))
    return unicodedata.normalize('NFKC', text.casefold()).strip()[:KEY_LENGTH]


def _free_name(name, taken):
    """`name (2)`, `name (3)`, … : the first whose key is not in `taken`."""
    n = 2
    while True:
        suffix = f' ({n})'
        candidate = name[:NAME_LENGTH - len(suffix)].rstrip() + suffix
        if name_key(candidate) not in taken:
            return candidate
        n += 1


def _backfill(connection):
    sources = sa.table('sources', sa.column('id', sa.Integer),
                       sa.column('organization_id', sa.Integer),
                       sa.column('display_name', sa.String),
                       sa.column('name_key', sa.String))
    rows = connection.execute(sa.select(sources.c.id, sources.c.organization_id,
                                        sources.c.display_name).order_by(sources.c.id)).all()
    updates = []
    kept = {}  # organization id -> keys of the names that stay
    clashes = []
    for source_id, org_id, name in rows:
        keys = kept.setdefault(org_id, set())
        key = name_key(name)
        if key in keys:
            clashes.append((source_id, org_id, name))
        else:
            keys.add(key)
            updates.append({'b_id': source_id, 'b_name': name, 'b_key': key})
    for source_id, org_id, name in clashes:
        renamed = _free_name(name, kept[org_id])
        kept[org_id].add(name_key(renamed))
        log.warning("source %s renamed to %r: its name matched an older source's once "
                    "compared by name key", source_id, renamed)
        updates.append({'b_id': source_id, 'b_name': renamed, 'b_key': name_key(renamed)})
    if updates:
        connection.execute(
            sources.update().where(sources.c.id == sa.bindparam('b_id'))
            .values(display_name=sa.bindparam('b_name'), name_key=sa.bindparam('b_key')),
            updates)


def upgrade():
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_key', sa.String(length=KEY_LENGTH), nullable=True))
    _backfill(op.get_bind())
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.alter_column('name_key', existing_type=sa.String(length=KEY_LENGTH),
                              nullable=False)
        batch_op.drop_constraint('uq_sources_org_name', type_='unique')
        batch_op.create_index('uq_sources_org_name_key', ['organization_id', 'name_key'],
                              unique=True)


def downgrade():
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.drop_index('uq_sources_org_name_key')
        batch_op.create_unique_constraint('uq_sources_org_name',
                                          ['organization_id', 'display_name'])
        batch_op.drop_column('name_key')
