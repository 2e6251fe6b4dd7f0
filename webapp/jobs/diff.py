"""What changed between two stored snapshots: tables added or removed, columns added, removed
or retyped.

The comparison runs in the store: tables present on one side only are anti-joins on
(schema, name), and only the pairs whose stored columns differ come back to Python, one pair at
a time. Neither snapshot is ever loaded whole, so a 10,000-table schema diffs in bounded memory.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, and_, cast, exists, select
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import SchemaTable

# Changes listed per category; the counts are always complete.
MAX_LISTED = 200
STREAM = 500

CATEGORIES = ("tablesAdded", "tablesRemoved", "columnsAdded", "columnsRemoved", "columnsRetyped")


class _Changes:
    """Collects changes per category, listing the first MAX_LISTED and counting all."""

    def __init__(self) -> None:
        self.listed: dict[str, list[dict[str, Any]]] = {c: [] for c in CATEGORIES}
        self.counts = dict.fromkeys(CATEGORIES, 0)

    def add(self, category: str, entry: dict[str, Any]) -> None:
        self.counts[category] += 1
        if len(self.listed[category]) < MAX_LISTED:
            self.listed[category].append(entry)

    def as_json(self) -> dict[str, Any]:
        total = sum(self.counts.values())
        truncated = any(n > MAX_LISTED for n in self.counts.values())
        return {**self.listed, "counts": self.counts, "total": total, "truncated": truncated}


def _one_side(snapshot_id: int, other_id: int):  # noqa: ANN202 - a SQLAlchemy select
    """Tables of `snapshot_id` with no table of the same schema and name in `other_id`."""
    mine, theirs = aliased(SchemaTable), aliased(SchemaTable)
    return (select(mine.schema_name, mine.name, mine.kind)
            .where(mine.snapshot_id == snapshot_id,
                   ~exists().where(theirs.snapshot_id == other_id,
                                   theirs.schema_name == mine.schema_name,
                                   theirs.name == mine.name))
            .order_by(mine.schema_name, mine.name))


def snapshot_diff(old_id: int, new_id: int) -> dict[str, Any]:
    """The changes from snapshot `old_id` to `new_id`, in SyncRun.changes' shape.

    {"tablesAdded": [{"schema", "name", "kind"}], "tablesRemoved": [...],
     "columnsAdded": [{"schema", "table", "column", "type"}], "columnsRemoved": [...],
     "columnsRetyped": [{"schema", "table", "column", "from", "to"}],
     "counts": {category: n}, "total": n, "truncated": bool}
    """
    changes = _Changes()
    for category, query in (("tablesAdded", _one_side(new_id, old_id)),
                            ("tablesRemoved", _one_side(old_id, new_id))):
        for schema, name, kind in db.session.execute(
                query.execution_options(yield_per=STREAM)):
            changes.add(category, {"schema": schema, "name": name, "kind": kind})
    old, new = aliased(SchemaTable), aliased(SchemaTable)
    pairs = (select(new.schema_name, new.name, old.columns, new.columns)
             .join(old, and_(old.snapshot_id == old_id, old.schema_name == new.schema_name,
                             old.name == new.name))
             .where(new.snapshot_id == new_id,
                    cast(old.columns, String) != cast(new.columns, String))
             .order_by(new.schema_name, new.name))
    for schema, table, before, after in db.session.execute(
            pairs.execution_options(yield_per=STREAM)):
        _column_changes(changes, schema, table, before or [], after or [])
    return changes.as_json()


def _column_changes(changes: _Changes, schema: str, table: str, before: list[dict[str, Any]],
                    after: list[dict[str, Any]]) -> None:
    old = {c["name"]: c for c in before}
    new = {c["name"]: c for c in after}
    for name, column in new.items():
        if name not in old:
            changes.add("columnsAdded", {"schema": schema, "table": table, "column": name,
                                         "type": column.get("type")})
        elif old[name].get("type") != column.get("type"):
            changes.add("columnsRetyped", {"schema": schema, "table": table, "column": name,
                                           "from": old[name].get("type"),
                                           "to": column.get("type")})
    for name, column in old.items():
        if name not in new:
            changes.add("columnsRemoved", {"schema": schema, "table": table, "column": name,
                                           "type": column.get("type")})

