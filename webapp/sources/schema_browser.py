"""What the schema browser reads besides a page of tables (queries.snapshot_tables): how many
tables of each kind every schema of the last good snapshot holds, and which of the tables that
foreign keys refer to are in that snapshot. Two small queries; nothing here writes."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, func, or_, select

from ..extensions import db
from ..models import SchemaTable, Source
from .queries import _like_escaped

LOOKUP_BATCH = 200  # referenced tables looked up per query


def _search_condition(search: str) -> ColumnElement[bool]:
    """The same name filter as queries.snapshot_tables (schema.name contains `search`, LIKE's
    wildcards taken literally)."""
    pattern = f"%{_like_escaped(search.lower())}%"
    return func.lower(SchemaTable.schema_name + "." + SchemaTable.name).like(pattern, escape="\\")


def schema_kind_counts(source: Source, search: str = "") -> dict[str, dict[str, int]]:
    """{schema: {kind: count}} over the whole snapshot (every page), filtered like the page."""
    if source.current_snapshot_id is None:
        return {}
    query = (
        select(SchemaTable.schema_name, SchemaTable.kind, func.count())
        .where(SchemaTable.snapshot_id == source.current_snapshot_id)
        .group_by(SchemaTable.schema_name, SchemaTable.kind)
    )
    if search:
        query = query.where(_search_condition(search))
    counts: dict[str, dict[str, int]] = {}
    for schema, kind, n in db.session.execute(query):
        counts.setdefault(schema, {})[kind] = int(n)
    return counts


def tables_present(source: Source, names: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which (schema, name) pairs are tables of the source's last good snapshot."""
    wanted = sorted(set(names))
    if source.current_snapshot_id is None or not wanted:
        return set()
    found: set[tuple[str, str]] = set()
    for start in range(0, len(wanted), LOOKUP_BATCH):
        batch = wanted[start : start + LOOKUP_BATCH]
        query = select(SchemaTable.schema_name, SchemaTable.name).where(
            SchemaTable.snapshot_id == source.current_snapshot_id,
            or_(*((SchemaTable.schema_name == s) & (SchemaTable.name == n) for s, n in batch)),
        )
        found.update((s, n) for s, n in db.session.execute(query))
    return found
