"""What changed between two stored snapshots: tables added or removed, columns added, removed
or retyped.

Linear by construction, whatever the store's planner statistics: one query streams the rows of
both snapshots in (schema, name) order (a scan and a sort, no join), so a table present in both
comes as two adjacent rows. Each row carries `columns_hash`, a digest of its columns' names and
types written with it; only the pairs whose digests differ (or that have none, rows stored
before the digest existed) have their columns read, by id, a batch at a time. Neither snapshot
is ever held whole, so a 50,000-table schema diffs in bounded memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..models import SchemaTable

# Changes listed per category; the counts are always complete.
MAX_LISTED = 200
STREAM = 1000
PAIRS = 500  # differing pairs whose columns are read in one query

CATEGORIES = ("tablesAdded", "tablesRemoved", "columnsAdded", "columnsRemoved", "columnsRetyped")


def columns_hash(columns: list[dict[str, Any]]) -> str:
    """The digest the diff compares: column names and types, in name order (a reordering is
    not a change the diff reports)."""
    text = "\x1f".join(sorted(f"{c['name']}\x1e{c.get('type')}" for c in columns))
    return hashlib.blake2b(text.encode(errors="surrogatepass"), digest_size=16).hexdigest()


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


def _rows(old_id: int, new_id: int) -> Iterator[tuple[int, int, str, str, str, str | None]]:
    """(snapshot_id, id, schema, name, kind, columns_hash) of both snapshots, in (schema, name)
    order, the old snapshot's row first within a pair."""
    t = SchemaTable
    query = (
        select(t.snapshot_id, t.id, t.schema_name, t.name, t.kind, t.columns_hash)
        .where(t.snapshot_id.in_([old_id, new_id]))
        .order_by(t.schema_name, t.name, t.snapshot_id != old_id)
    )
    yield from db.session.execute(query.execution_options(yield_per=STREAM))


def _pairs(old_id: int, new_id: int, changes: _Changes) -> Iterator[tuple[str, str, int, int]]:
    """Record the tables on one side only; yield (schema, name, old row id, new row id) of the
    tables in both whose digests differ."""
    held = None  # a row waiting for its partner
    for row in _rows(old_id, new_id):
        if held is not None and held[0] != row[0] and (held[2], held[3]) == (row[2], row[3]):
            if held[5] is None or row[5] is None or held[5] != row[5]:
                yield row[2], row[3], held[1], row[1]
            held = None
            continue
        if held is not None:
            _one_side(changes, held, old_id)
        held = row
    if held is not None:
        _one_side(changes, held, old_id)


def _one_side(changes: _Changes, row: Any, old_id: int) -> None:
    category = "tablesRemoved" if row[0] == old_id else "tablesAdded"
    changes.add(category, {"schema": row[2], "name": row[3], "kind": row[4]})


def snapshot_diff(old_id: int, new_id: int) -> dict[str, Any]:
    """The changes from snapshot `old_id` to `new_id`, in SyncRun.changes' shape.

    {"tablesAdded": [{"schema", "name", "kind"}], "tablesRemoved": [...],
     "columnsAdded": [{"schema", "table", "column", "type"}], "columnsRemoved": [...],
     "columnsRetyped": [{"schema", "table", "column", "from", "to"}],
     "counts": {category: n}, "total": n, "truncated": bool}
    """
    changes = _Changes()
    batch: list[tuple[str, str, int, int]] = []
    for pair in _pairs(old_id, new_id, changes):
        batch.append(pair)
        if len(batch) >= PAIRS:
            _compare(changes, batch)
            batch = []
    _compare(changes, batch)
    return changes.as_json()


def _compare(changes: _Changes, batch: list[tuple[str, str, int, int]]) -> None:
    """Read the columns of a batch of differing pairs and record their column changes."""
    if not batch:
        return
    ids = [i for _, _, old, new in batch for i in (old, new)]
    columns: dict[int, Any] = dict(
        db.session.execute(
            select(SchemaTable.id, SchemaTable.columns).where(SchemaTable.id.in_(ids))
        ).all()
    )
    for schema, table, old, new in batch:
        _column_changes(changes, schema, table, columns.get(old) or [], columns.get(new) or [])


def _column_changes(
    changes: _Changes,
    schema: str,
    table: str,
    before: list[dict[str, Any]],
    after: list[dict[str, Any]],
) -> None:
    old = {c["name"]: c for c in before}
    new = {c["name"]: c for c in after}
    for name, column in new.items():
        if name not in old:
            changes.add(
                "columnsAdded",
                {"schema": schema, "table": table, "column": name, "type": column.get("type")},
            )
        elif old[name].get("type") != column.get("type"):
            changes.add(
                "columnsRetyped",
                {
                    "schema": schema,
                    "table": table,
                    "column": name,
                    "from": old[name].get("type"),
                    "to": column.get("type"),
                },
            )
    for name, column in old.items():
        if name not in new:
            changes.add(
                "columnsRemoved",
                {"schema": schema, "table": table, "column": name, "type": column.get("type")},
            )
