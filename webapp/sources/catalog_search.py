"""Catalog search: one text across every source of an organization, finding tables by their
schema.table name or comment and columns by their name or comment (case-insensitive
substring), in each source's current snapshot (the last good sync) only.

A result is a *hit*: a table (its name or comment holds the text) or a column (its name or
comment does; shown with its table). Hits are ordered by source name, then schema.table, a
table's own hit before its columns' (in column order); a page holds `per_page` hits, grouped by
source, with the counts of the whole search.

Speed without sync cost: a current snapshot changes only when a sync merges what it found
changed into it, and then its time (`created_at`) moves too, so each process keeps, per current
snapshot and time, the lower-cased names and comments of its tables and columns (`_Index`, a
few MB per 10,000 tables), built from the stored rows the first time a search meets them and
dropped when the source's current snapshot or its time moves on. A
search then reads one row per source from the store, scans those in memory (a whole snapshot
skipped at once when its text lacks the search text) and reads only the page's tables back.
Opening the search with no text yet (the page, or the API's blank search) builds the missing
indexes in a background thread (`warm_in_background`), so the first typed search of a new
process does not pay for reading every snapshot.
"""

from __future__ import annotations

import logging
import threading
from array import array
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import contains
from typing import Any

import orjson
from flask import current_app
from sqlalchemy import Text, cast, func, select

from ..extensions import db
from ..models import Organization, SchemaSnapshot, SchemaTable, Source

log = logging.getLogger(__name__)

__all__ = [
    "MAX_PER_PAGE",
    "MAX_TEXT",
    "PER_PAGE",
    "CatalogResults",
    "ColumnHit",
    "SourceGroup",
    "TableHit",
    "catalog_size",
    "clean_text",
    "search",
    "warm_in_background",
]

PER_PAGE = 50
MAX_PER_PAGE = 100
MAX_TEXT = 200  # characters of search text; longer text is cut
# The most tables a process keeps indexed (least recently searched snapshots go first).
MAX_INDEXED_TABLES = 200_000
_READ_BATCH = 500  # snapshots whose tables are read in one query
_SEP, _PART = "\x00", "\x01"  # between entries; between a name and its comment


@dataclass(frozen=True)
class ColumnHit:
    """A column whose name or comment holds the text."""

    name: str
    type: str
    comment: str | None


@dataclass
class TableHit:
    """A table on the page: itself a hit (`matched`: its name or comment holds the text and
    that hit is on this page), or the table of the column hits listed with it (those of this
    page), or both."""

    schema_name: str
    name: str
    kind: str
    comment: str | None
    matched: bool
    columns: list[ColumnHit] = field(default_factory=list)

    @property
    def qualified(self) -> str:
        """schema.table, as the source page's table search takes it."""
        return f"{self.schema_name}.{self.name}"


@dataclass
class SourceGroup:
    """One source's hits on the page, with how many tables and columns match in the source
    (over every page)."""

    source_id: int
    public_id: str
    display_name: str
    dialect: str
    table_count: int
    column_count: int
    tables: list[TableHit] = field(default_factory=list)


@dataclass
class CatalogResults:
    """A page of hits grouped by source, and the counts of the whole search."""

    text: str
    page: int
    per_page: int
    pages: int
    total: int  # hits: tables + columns
    table_count: int
    column_count: int
    source_count: int  # sources with at least one hit
    groups: list[SourceGroup] = field(default_factory=list)
    # What was searched: the sources with a current schema, and their tables.
    searched_sources: int = 0
    searched_tables: int = 0

    @property
    def has_more(self) -> bool:
        """Whether a page follows this one."""
        return self.page < self.pages


def clean_text(text: str) -> str:
    """The search text as searched: control characters dropped, trimmed, MAX_TEXT at most."""
    return "".join(ch for ch in text if ch >= " " and ch != "\x7f").strip()[:MAX_TEXT]


# --- The per-process index of current snapshots ----------------------------------------------


@dataclass(frozen=True)
class _Index:
    """One snapshot's searchable text, lower-cased: per table "schema.name\x01comment", and
    every column of every table, in order, as "name\x01comment" in one text (each ending with
    _SEP), with where each column starts and sits. About 5 MB per 10,000 tables of 10 columns."""

    source_id: int
    table_ids: array[int]
    heads: tuple[str, ...]
    head_text: str  # the heads joined by _SEP
    column_text: str
    column_starts: array[int]  # where each column starts in column_text
    column_table: array[int]  # the table (position in table_ids) of each column
    column_position: array[int]  # its position in that table's columns list

    @classmethod
    def build(cls, source_id: int, rows: list[tuple[int, str, str, str | None, str]]) -> _Index:
        """From (table id, schema, name, comment, columns JSON) rows in table order."""
        table_ids, heads, columns = array("q"), [], []
        column_table, column_position = array("l"), array("l")
        for number, (table_id, schema_name, name, comment, raw) in enumerate(rows):
            table_ids.append(table_id)
            heads.append(f"{schema_name}.{name}{_PART}{comment or ''}".lower())
            for position, column in enumerate(orjson.loads(raw) if raw else ()):
                columns.append(f"{column.get('name')}{_PART}{column.get('comment') or ''}".lower())
                column_table.append(number)
                column_position.append(position)
        text = _SEP.join(columns) + _SEP
        if text.count(_SEP) != len(columns):  # a name holding _SEP (SQLite stores anything)
            columns = [c.replace(_SEP, " ") for c in columns]
            text = _SEP.join(columns) + _SEP
        starts, offset = array("q"), 0
        for column_text in columns:
            starts.append(offset)
            offset += len(column_text) + 1
        return cls(
            source_id,
            table_ids,
            tuple(heads),
            _SEP.join(heads),
            text if columns else "",
            starts,
            column_table,
            column_position,
        )

    def table_hits(self, needle: str) -> list[int]:
        """The tables (positions) whose name or comment holds `needle`."""
        if needle not in self.head_text:
            return []
        return list(compress(range(len(self.heads)), map(contains, self.heads, repeat(needle))))

    def column_hits(self, needle: str) -> list[int]:
        """The columns (positions in column_text) whose name or comment holds `needle`: by
        find() from one occurrence to the next when they are few, else by testing each."""
        text = self.column_text
        found = text.count(needle)
        if not found:
            return []
        starts = self.column_starts
        if found * 16 > len(starts):
            columns = text.split(_SEP)
            columns.pop()  # after the last _SEP
            return list(compress(range(len(columns)), map(contains, columns, repeat(needle))))
        hits, at = [], text.find(needle)
        while at != -1:
            number = bisect_right(starts, at) - 1
            hits.append(number)
            if number + 1 == len(starts):
                break
            at = text.find(needle, starts[number + 1])
        return hits


class _IndexCache:
    """Indexes by (snapshot id, created at): SQLite may give a deleted snapshot's id to a new
    one, never with the same creation time. Least recently used out first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[int, Any], _Index] = OrderedDict()
        self._tables = 0

    def get(self, key: tuple[int, Any]) -> _Index | None:
        with self._lock:
            index = self._items.get(key)
            if index is not None:
                self._items.move_to_end(key)
            return index

    def put(self, key: tuple[int, Any], index: _Index) -> None:
        with self._lock:
            if key in self._items:
                return
            self._items[key] = index
            self._tables += len(index.table_ids)
            while self._tables > MAX_INDEXED_TABLES and len(self._items) > 1:
                _, gone = self._items.popitem(last=False)
                self._tables -= len(gone.table_ids)

    def forget_superseded(self, current: dict[int, tuple[int, Any]]) -> None:
        """Drop the indexes of these sources' snapshots that are no longer current."""
        with self._lock:
            for key, index in list(self._items.items()):
                if index.source_id in current and current[index.source_id] != key:
                    del self._items[key]
                    self._tables -= len(index.table_ids)


def _cache() -> _IndexCache:
    cache = current_app.extensions.get("datadock_catalog_index")
    if cache is None:
        cache = current_app.extensions.setdefault("datadock_catalog_index", _IndexCache())
    return cache


def _read_indexes(snapshots: dict[int, int]) -> dict[int, _Index]:
    """Build the indexes of these snapshots (id -> source id) from their stored tables."""
    built: dict[int, _Index] = {}
    ids = list(snapshots)
    for start in range(0, len(ids), _READ_BATCH):
        batch = ids[start : start + _READ_BATCH]
        rows: dict[int, list[tuple[int, str, str, str | None, str]]] = {i: [] for i in batch}
        for snapshot_id, *row in db.session.execute(
            select(
                SchemaTable.snapshot_id,
                SchemaTable.id,
                SchemaTable.schema_name,
                SchemaTable.name,
                SchemaTable.comment,
                cast(SchemaTable.columns, Text),
            )
            .where(SchemaTable.snapshot_id.in_(batch))
            .order_by(SchemaTable.snapshot_id, SchemaTable.schema_name, SchemaTable.name)
        ):
            rows[snapshot_id].append(tuple(row))  # type: ignore[arg-type]
        for snapshot_id, tables in rows.items():
            built[snapshot_id] = _Index.build(snapshots[snapshot_id], tables)
    return built


# --- The search ----------------------------------------------------------------------------


@dataclass
class _Source:
    """A source with a current snapshot, and its hits."""

    id: int
    public_id: str
    display_name: str
    dialect: str
    index: _Index | None = None
    tables: list[int] = field(default_factory=list)
    columns: list[int] = field(default_factory=list)


def _current_sources(org: Organization) -> list[_Source]:
    """The organization's sources with a current snapshot, by name, their indexes ready."""
    rows = db.session.execute(
        select(
            Source.id,
            Source.public_id,
            Source.display_name,
            Source.dialect,
            SchemaSnapshot.id,
            SchemaSnapshot.created_at,
        )
        .join(SchemaSnapshot, SchemaSnapshot.id == Source.current_snapshot_id)
        .where(Source.organization_id == org.id)
        .order_by(Source.name_key, Source.id)
    ).all()
    cache = _cache()
    keys = {row[0]: (row[4], row[5]) for row in rows}
    cache.forget_superseded(keys)
    sources, missing = [], {}
    for source_id, public_id, name, dialect, snapshot_id, _ in rows:
        source = _Source(source_id, public_id, name, dialect, cache.get(keys[source_id]))
        if source.index is None:
            missing[snapshot_id] = source_id
        sources.append(source)
    if missing:
        built = _read_indexes(missing)
        for source in sources:
            snapshot_id = keys[source.id][0]
            if source.index is None and snapshot_id in built:
                source.index = built[snapshot_id]
                cache.put(keys[source.id], source.index)
    return sources


def search(
    org: Organization,
    text: str,
    page: int = 1,
    per_page: int = PER_PAGE,
    *,
    clamp: bool = True,
) -> CatalogResults:
    """Page `page` (1-based) of the hits of `text` in the current snapshots of `org`'s
    sources, `per_page` hits at most, grouped by source, with the counts of every page.

    Blank text finds nothing. A page past the last one is the last page when `clamp`, else an
    empty page (the API's stale cursor).
    """
    text = clean_text(text)
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    if not text:
        warm_in_background(org)
        results = CatalogResults(text, 1, per_page, 1, 0, 0, 0, 0)
        results.searched_sources, results.searched_tables = catalog_size(org)
        return results
    needle = text.lower()
    found = []
    searched = _current_sources(org)
    for source in searched:
        if source.index is None:
            continue
        source.tables = source.index.table_hits(needle)
        source.columns = source.index.column_hits(needle)
        if source.tables or source.columns:
            found.append(source)
    total = sum(len(s.tables) + len(s.columns) for s in found)
    pages = max(1, -(-total // per_page))
    if clamp:
        page = min(page, pages)
    results = CatalogResults(
        text,
        page,
        per_page,
        pages,
        total,
        sum(len(s.tables) for s in found),
        sum(len(s.columns) for s in found),
        len(found),
    )
    results.groups = _page(found, (page - 1) * per_page, page * per_page)
    results.searched_sources = len(searched)
    results.searched_tables = sum(len(s.index.table_ids) for s in searched if s.index)
    return results


_warming: set[int] = set()  # organizations whose indexes a thread is building now
_warming_lock = threading.Lock()


def warm_in_background(org: Organization) -> threading.Thread | None:
    """Build the organization's missing indexes in a daemon thread (None when one already
    is), so that the search typed next finds them ready."""
    with _warming_lock:
        if org.id in _warming:
            return None
        _warming.add(org.id)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    thread = threading.Thread(
        target=_warm, args=(app, org.id), name="datadock-catalog-warm", daemon=True
    )
    thread.start()
    return thread


def _warm(app: Any, org_id: int) -> None:
    try:
        with app.app_context():
            try:
                org = db.session.get(Organization, org_id)
                if org is not None:
                    _current_sources(org)
            finally:
                db.session.remove()
    except Exception:  # a failed warm-up only leaves the building to the search
        log.exception("catalog index warm-up failed")
    finally:
        with _warming_lock:
            _warming.discard(org_id)


def catalog_size(org: Organization) -> tuple[int, int]:
    """How many of the organization's sources have a current schema, and how many tables
    those schemas hold."""
    sources, tables = db.session.execute(
        select(func.count(), func.coalesce(func.sum(SchemaSnapshot.table_count), 0))
        .select_from(Source)
        .join(SchemaSnapshot, SchemaSnapshot.id == Source.current_snapshot_id)
        .where(Source.organization_id == org.id)
    ).one()
    return int(sources), int(tables)


def _page(found: list[_Source], first: int, last: int) -> list[SourceGroup]:
    """The hits numbered first..last-1 (over every source, in order), grouped by source."""
    wanted: list[tuple[_Source, list[tuple[int, bool, list[int]]]]] = []
    seen = 0
    for source in found:
        count = len(source.tables) + len(source.columns)
        if seen + count > first and seen < last:
            hits = _ordered_hits(source)[max(first - seen, 0) : last - seen]
            wanted.append((source, _by_table(hits)))
        seen += count
        if seen >= last:
            break
    if not wanted:
        return []
    table_ids = [s.index.table_ids[t] for s, tables in wanted for t, _, _ in tables if s.index]
    rows = {
        row.id: row
        for row in db.session.execute(
            select(
                SchemaTable.id,
                SchemaTable.schema_name,
                SchemaTable.name,
                SchemaTable.kind,
                SchemaTable.comment,
                SchemaTable.columns,
            ).where(SchemaTable.id.in_(table_ids))
        )
    }
    groups = []
    for source, tables in wanted:
        assert source.index is not None
        group = SourceGroup(
            source.id,
            source.public_id,
            source.display_name,
            source.dialect,
            len(source.tables),
            len(source.columns),
        )
        for table, matched, positions in tables:
            row = rows.get(source.index.table_ids[table])
            if row is None:  # the snapshot was deleted since its index was read
                continue
            stored = row.columns or []
            group.tables.append(
                TableHit(
                    row.schema_name,
                    row.name,
                    row.kind,
                    row.comment,
                    matched,
                    [
                        ColumnHit(
                            str(stored[p].get("name")),
                            str(stored[p].get("type") or ""),
                            stored[p].get("comment"),
                        )
                        for p in positions
                        if p < len(stored)
                    ],
                )
            )
        if group.tables:
            groups.append(group)
    return groups


def _ordered_hits(source: _Source) -> list[tuple[int, int]]:
    """The source's hits in order: (table, -1) for a table's own hit, then (table, column
    position) for its columns'."""
    index = source.index
    assert index is not None
    hits = [(t, -1) for t in source.tables]
    hits += [(index.column_table[c], index.column_position[c]) for c in source.columns]
    hits.sort()
    return hits


def _by_table(hits: list[tuple[int, int]]) -> list[tuple[int, bool, list[int]]]:
    """Consecutive hits of one table as (table, its own hit is here, column positions)."""
    tables: list[tuple[int, bool, list[int]]] = []
    for table, position in hits:
        if not tables or tables[-1][0] != table:
            tables.append((table, position < 0, []))
        if position >= 0:
            tables[-1][2].append(position)
    return tables
