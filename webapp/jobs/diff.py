"""What changed between two stored snapshots: tables added or removed, columns added, removed
or retyped.

Linear by construction, whatever the store's planner statistics: one query streams the rows of
both snapshots in (schema, name) order (a scan and a sort, no join), so a table present in both
comes as two adjacent rows. Each row carries `columns_hash`, a digest of its columns' names and
types written with it; only the pairs whose digests differ (or that have none, rows stored
before the digest existed) have their columns read, by id, a batch at a time. Neither snapshot
is ever held whole, so a 50,000-table schema diffs in bounded memory.

A sync does not write its unchanged tables again (`Carry`): it reads the last good snapshot's
names and digests (one indexed scan, in the store's (schema, name) order), writes only the
tables whose `content_hash` differs or that are new into a staging snapshot, and at the end,
in one transaction, deletes the replaced and removed rows of the last good snapshot and moves
the (few) written rows into it: the unchanged rows are never touched, so a sync that finds
nothing changed writes nothing but its run. The diff comes out of that same pass, equal to what
`snapshot_diff` makes of the two snapshots (the same entries, counts and order): each entry is
placed by its table's position in the store's order, the removed and changed tables' from that
scan, the added ones' from a scan of the (few) rows the sync wrote.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any

from sqlalchemy import CursorResult, delete, select, update

from ..dialects import TableInfo
from ..dialects.stored import columns_digest
from ..extensions import db
from ..models import SchemaTable

# Changes listed per category; the counts are always complete.
MAX_LISTED = 200
STREAM = 1000
PAIRS = 500  # differing pairs whose columns are read in one query

CATEGORIES = ("tablesAdded", "tablesRemoved", "columnsAdded", "columnsRemoved", "columnsRetyped")


def columns_hash(columns: list[dict[str, Any]]) -> str:
    """The digest the diff compares: column names and types, in name order (a reordering is
    not a change the diff reports). The PostgreSQL catalog read computes the same digest from
    its server's `name + type` pieces (dialects/stored.py)."""
    return columns_digest(columns)


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
    changes: _Changes | _Ranked,
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


class _Ranked:
    """Collects changes per category like _Changes, but lists the first MAX_LISTED by the
    position (`rank`) of their table in the store's (schema, name) order, then by arrival."""

    def __init__(self) -> None:
        self.rank = 0
        self.counts = dict.fromkeys(CATEGORIES, 0)
        self._heaps: dict[str, list[tuple[int, int, dict[str, Any]]]] = {c: [] for c in CATEGORIES}
        self._seq = 0

    def add(self, category: str, entry: dict[str, Any]) -> None:
        self.counts[category] += 1
        self._seq += 1
        heap = self._heaps[category]  # the MAX_LISTED first so far, the last on top
        heapq.heappush(heap, (-self.rank, -self._seq, entry))
        if len(heap) > MAX_LISTED:
            heapq.heappop(heap)

    def as_json(self) -> dict[str, Any]:
        listed = {c: [e for _, _, e in sorted(h, reverse=True)] for c, h in self._heaps.items()}
        total = sum(self.counts.values())
        truncated = any(n > MAX_LISTED for n in self.counts.values())
        return {**listed, "counts": dict(self.counts), "total": total, "truncated": truncated}


# An old table: (rank in the store's order, row id, content_hash, columns_hash, kind).
_Old = tuple[int, int, str | None, str | None, str]


class Carry:
    """A sync against the last good snapshot `old_id`, writing into snapshot `new_id`.

    `unchanged(...)` is asked for every table read, in any order: True when its stored row
    would be the same (equal `content_hash`), so it is not written again; otherwise the table
    is written (into `new_id`, a staging snapshot), and the old row it replaces is noted.
    `changes()` (after the last table, before `merge`) is the diff; `merge()` deletes the
    replaced and removed rows and moves the written ones into the old snapshot, which stays
    the current one, in the caller's transaction.
    """

    def __init__(self, old_id: int, new_id: int) -> None:
        self.old_id, self.new_id = old_id, new_id
        self._old: dict[tuple[str, str], _Old] = {}
        t = SchemaTable
        query = (
            select(t.id, t.schema_name, t.name, t.kind, t.content_hash, t.columns_hash)
            .where(t.snapshot_id == old_id)
            .order_by(t.schema_name, t.name)
        )
        # Core, not ORM, execution: a plain row per table (half the time of ORM rows).
        rows = db.session.connection().execute(query.execution_options(yield_per=STREAM))
        for rank, (row_id, schema, name, kind, content, digest) in enumerate(rows):
            self._old[(schema, name)] = (rank, row_id, content, digest, kind)
        self._gone: list[int] = []  # old rows replaced by a new one
        self._replaced: set[tuple[str, str]] = set()
        self._pairs: list[tuple[int, int, TableInfo]] = []  # (rank, old row id, table)
        self._changes = _Ranked()
        self.carried = 0

    def unchanged(self, table: TableInfo, content_hash: str, columns_hash: str) -> bool:
        """Whether this table's row is the old one's (its columns are read only if they must be
        compared)."""
        old = self._old.pop((table.schema, table.name), None)
        if old is None:
            return False  # added: listed from the written rows at the end
        rank, row_id, old_content, old_columns, _ = old
        if old_content is not None and old_content == content_hash:
            self.carried += 1
            return True
        self._gone.append(row_id)
        self._replaced.add((table.schema, table.name))
        if old_columns is None or old_columns != columns_hash:
            self._pairs.append((rank, row_id, table))
            if len(self._pairs) >= PAIRS:
                self._compare()
        return False

    def _compare(self) -> None:
        """Read the old columns of a batch of differing pairs and record their changes."""
        if not self._pairs:
            return
        old: dict[int, Any] = dict(
            db.session.execute(
                select(SchemaTable.id, SchemaTable.columns).where(
                    SchemaTable.id.in_([row_id for _, row_id, _ in self._pairs])
                )
            ).all()
        )
        for rank, row_id, table in self._pairs:
            self._changes.rank = rank
            _column_changes(
                self._changes, table.schema, table.name, old.get(row_id) or [], table.columns or []
            )
        self._pairs = []

    def changes(self) -> dict[str, Any]:
        """The diff, in SyncRun.changes' shape (as snapshot_diff gives it)."""
        self._compare()
        for schema, name in self._old:  # never read again: removed
            rank, row_id, _, _, kind = self._old[(schema, name)]
            self._changes.rank = rank
            self._changes.add("tablesRemoved", {"schema": schema, "name": name, "kind": kind})
            self._gone.append(row_id)
        self._old = {}
        t = SchemaTable
        written = (
            select(t.schema_name, t.name, t.kind)
            .where(t.snapshot_id == self.new_id)
            .order_by(t.schema_name, t.name)
        )
        for rank, (schema, name, kind) in enumerate(
            db.session.execute(written.execution_options(yield_per=STREAM))
        ):
            if (schema, name) not in self._replaced:
                self._changes.rank = rank
                self._changes.add("tablesAdded", {"schema": schema, "name": name, "kind": kind})
        return self._changes.as_json()

    def merge(self) -> bool:
        """Delete the old rows that were replaced or removed, then move the rows the sync wrote
        into the old snapshot; whether any row changed."""
        for start in range(0, len(self._gone), PAIRS):
            db.session.execute(
                delete(SchemaTable)
                .where(SchemaTable.id.in_(self._gone[start : start + PAIRS]))
                .execution_options(synchronize_session=False)
            )
        moved: CursorResult[Any] = db.session.execute(  # type: ignore[assignment]
            update(SchemaTable)
            .where(SchemaTable.snapshot_id == self.new_id)
            .values(snapshot_id=self.old_id)
            .execution_options(synchronize_session=False)
        )
        return bool(self._gone) or moved.rowcount > 0
