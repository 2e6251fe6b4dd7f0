"""Schema sync of one claimed source: stream the catalog in batches into a new snapshot (a
staging one when there is a last good snapshot: only changed tables are written to it), diff it
against the last good one, merge, record the run; a failure keeps the last good snapshot and
backs off."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import column, delete, select
from sqlalchemy import table as sql_table

from ..connect.errors import ConnectionFailed
from ..connect.verify import open_connection
from ..dialects import SchemaFilter, TableInfo, get_dialect
from ..dialects.stored import StoredTable, content_digest
from ..extensions import db, json_text
from ..models import SchemaSnapshot, SchemaTable, Source, SyncRun, SyncStatus, utcnow
from ..records import connection_values
from . import events, schedules
from .batches import read_ahead
from .claims import SYNC, release, renew
from .diff import Carry, columns_hash
from .runs import RunStatus, prune_runs, queued_run, start_run

log = logging.getLogger(__name__)

BATCH = 1000
READ_AHEAD = 4  # batches read ahead of the store (a few MB)
# The batches written are committed (and the lease renewed) at most this often: each commit
# costs a WAL flush (on SQLite an fsync), and progress every half second is plenty.
COMMIT_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 3600.0
READ_FAILED = (
    "The schema could not be read: the server ended the catalog query early. "
    "Details are in Datadock's server log."
)
LEASE_LOST = "Stopped: another Datadock process took this sync over."


class LeaseLost(Exception):
    """Another process holds the source's sync lease now (ours expired)."""


def run_sync(source_id: int, owner: str) -> None:
    """Sync the source if `owner` holds its lease; always release the lease."""
    try:
        source = db.session.get(Source, source_id)
        if source is None or source.sync_lease_owner != owner:
            return
        _sync(source, owner)
    finally:
        db.session.rollback()
        release(SYNC, source_id, owner)


def _sync(source: Source, owner: str) -> None:
    _drop_leftovers(source)
    run = start_run(source.id)
    source.last_sync_attempt_at = utcnow()
    source.last_sync_status = SyncStatus.PENDING.value
    db.session.commit()
    snapshot: SchemaSnapshot | None = None
    try:
        dialect = get_dialect(source.dialect)
        if dialect is None:
            raise ConnectionFailed("fields", f"Dialect {source.dialect} is not available.")
        opened = open_connection(
            dialect, connection_values(source), current_app.config["VERIFY_TIMEOUT"]
        )
        try:
            snapshot = SchemaSnapshot(source_id=source.id)
            db.session.add(snapshot)
            db.session.commit()
            carry = _store(
                snapshot,
                dialect.introspect(
                    opened.connection,
                    SchemaFilter.parse(source.include_schemas, source.exclude_schemas),
                ),
                owner,
                source.current_snapshot_id,
            )
        finally:
            opened.close()
    except ConnectionFailed as failure:
        _failed(source, run, snapshot, failure.detail)
        return
    except LeaseLost:
        _abandoned(run, snapshot)
        return
    except Exception:
        log.exception("schema sync of source %s failed", source.id)
        _failed(source, run, snapshot, READ_FAILED)
        return
    _succeeded(source, run, snapshot, carry)


def _store(
    snapshot: SchemaSnapshot, tables: Iterator[TableInfo], owner: str, previous: int | None
) -> Carry | None:
    """Insert the tables a batch at a time while the next batch is read (batches.py); every
    COMMIT_SECONDS the batches so far commit (progress shows, SQLite writers are not starved
    for longer) and the lease is renewed; the last ones commit with the run's outcome.

    Against a previous snapshot, a table whose row would be the same (diff.Carry) is not
    written: its row in the current snapshot stays as it is. Rows go in as the store's own
    text, past SQLAlchemy's per-row type processing: COPY on a PostgreSQL store, one
    executemany on SQLite. A StoredTable (the PostgreSQL catalog read) brings its columns'
    JSON and digest as they are to be stored; any other TableInfo is encoded and digested
    here."""
    lease = current_app.config["JOB_LEASE_SECONDS"]
    write = _writer()
    committed = time.monotonic()
    with read_ahead(tables, BATCH, READ_AHEAD) as batches:
        # The previous snapshot's digests are read while the first batches are fetched.
        carry = Carry(previous, snapshot.id) if previous is not None else None
        for batch in batches:
            rows, columns = [], 0
            for t in batch:
                row, count = _row(snapshot.id, t)
                columns += count
                if carry is None or not carry.unchanged(t, row[-1], row[-2]):
                    rows.append(row)
            if rows:
                write(rows)
            snapshot.table_count += len(batch)
            snapshot.column_count += columns
            if time.monotonic() - committed >= COMMIT_SECONDS:
                _commit_batches(snapshot, owner, lease)
                committed = time.monotonic()
    # The last batches commit with the run's outcome (_succeeded): one transaction, and the
    # objects it updates are not expired (re-read) by a commit in between.
    _commit_batches(snapshot, owner, lease, commit=False)
    return carry


def _commit_batches(
    snapshot: SchemaSnapshot, owner: str, lease: float, commit: bool = True
) -> None:
    """Renew the lease and commit what was written since the last commit."""
    if not renew(SYNC, snapshot.source_id, owner, utcnow(), lease):
        raise LeaseLost
    if commit:
        db.session.commit()


# The columns of a stored table row, in the order _row gives them (the digests last).
ROW_COLUMNS = (
    "snapshot_id",
    "schema_name",
    "name",
    "kind",
    "columns",
    "foreign_keys",
    "row_estimate",
    "comment",
    "columns_hash",
    "content_hash",
)


def _row(snapshot_id: int, t: TableInfo) -> tuple[tuple[Any, ...], int]:
    """A schema_tables row (ROW_COLUMNS) for `t`, and its column count."""
    if isinstance(t, StoredTable):
        columns, keys, digest, count = (
            t.columns_json,
            t.foreign_keys_json,
            t.columns_hash,
            t.column_count,
        )
    else:
        columns, keys = json_text(t.columns), json_text(t.foreign_keys)
        digest, count = columns_hash(t.columns), len(t.columns)
    content = content_digest(t.kind, columns, keys, t.row_estimate, t.comment)
    row = (snapshot_id, t.schema, t.name, t.kind, columns, keys, t.row_estimate, t.comment)
    return (*row, digest, content), count


def _writer() -> Callable[[list[tuple[Any, ...]]], None]:
    """How this store takes a batch of rows: COPY (PostgreSQL through psycopg), executemany
    of one INSERT (SQLite), or a Core insert of untyped columns (the text goes in as it is)."""
    dialect = db.session.get_bind().dialect
    names = ", ".join(ROW_COLUMNS)
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        copy_sql = f"COPY schema_tables ({names}) FROM STDIN"

        def copy(rows: list[tuple[Any, ...]]) -> None:
            raw: Any = db.session.connection().connection.driver_connection
            with raw.cursor() as cursor, cursor.copy(copy_sql) as stream:
                for row in rows:
                    stream.write_row(row)

        return copy
    if dialect.name == "sqlite":
        marks = ", ".join("?" * len(ROW_COLUMNS))
        insert_sql = f"INSERT INTO schema_tables ({names}) VALUES ({marks})"  # noqa: S608 - constants

        def many(rows: list[tuple[Any, ...]]) -> None:
            db.session.connection().exec_driver_sql(insert_sql, rows)

        return many
    untyped = sql_table("schema_tables", *(column(name) for name in ROW_COLUMNS))

    def core(rows: list[tuple[Any, ...]]) -> None:
        db.session.execute(
            untyped.insert(), [dict(zip(ROW_COLUMNS, row, strict=True)) for row in rows]
        )

    return core


def _succeeded(source: Source, run: SyncRun, snapshot: SchemaSnapshot, carry: Carry | None) -> None:
    """Make what was read the source's current schema, in one transaction, and record the run.
    A first sync's snapshot becomes the current one; a repeated sync's diff is taken, and the
    rows it wrote replace their old ones in the current snapshot (diff.Carry.merge), whose
    counts (and, when a row changed, time) become this read's; the staging snapshot goes."""
    changes = carry.changes() if carry is not None else None
    now = utcnow()
    if carry is not None:
        changed = carry.merge()
        kept = db.session.get(SchemaSnapshot, carry.old_id)
        if kept is None:  # the source was deleted while it synced: nothing to keep
            db.session.rollback()
            return
        kept.table_count, kept.column_count = snapshot.table_count, snapshot.column_count
        if changed:
            kept.created_at = now  # what caches of the schema key on (catalog search)
        db.session.execute(delete(SchemaSnapshot).where(SchemaSnapshot.id == snapshot.id))
        db.session.expunge(snapshot)
        snapshot = kept
    snapshot.complete = True
    source.current_snapshot_id = snapshot.id
    source.last_sync_status = SyncStatus.SUCCESS.value
    source.last_successful_sync_at = now
    source.has_completed_first_sync = True
    source.sync_error_message = None
    source.sync_failures = 0
    run.status = RunStatus.SUCCESS.value
    run.finished_at = now
    run.table_count = snapshot.table_count
    run.column_count = snapshot.column_count
    run.changes = changes
    run.change_count = changes["total"] if changes else 0
    if changes:
        events.schema_changed(source, run.id, changes)  # in the run's transaction
    _schedule_next(source, schedules.next_sync_at(source, current_app.config["SYNC_INTERVAL"]))
    prune_runs(source.id)
    said = (source.id, snapshot.table_count, snapshot.column_count, run.change_count)
    db.session.commit()  # (the values logged are taken before: a commit expires them)
    log.info("synced source %s: %s tables, %s columns, %s changes", *said)


def _failed(source: Source, run: SyncRun, snapshot: SchemaSnapshot | None, message: str) -> None:
    """Record the failure, keep the last good snapshot, back off before the next try."""
    db.session.rollback()
    if snapshot is not None and snapshot.id is not None:
        _drop_snapshot(snapshot.id)
    source.last_sync_status = SyncStatus.FAILED.value
    source.sync_error_message = message
    source.sync_failures = (source.sync_failures or 0) + 1
    run.status = RunStatus.FAILED.value
    run.finished_at = utcnow()
    run.error_message = message
    events.sync_failed(source, run.id, message)  # in the run's transaction
    interval = current_app.config["SYNC_INTERVAL"]
    backoff = min(60.0 * 2 ** (source.sync_failures - 1), MAX_BACKOFF_SECONDS, interval)
    _schedule_next(source, schedules.retry_at(source, backoff, interval))
    db.session.commit()
    prune_runs(source.id)
    db.session.commit()
    log.info("schema sync of source %s failed: %s", source.id, message)


def _abandoned(run: SyncRun, snapshot: SchemaSnapshot | None) -> None:
    """Our lease expired and another process took over: drop our work, leave the source be."""
    db.session.rollback()
    if snapshot is not None and snapshot.id is not None:
        _drop_snapshot(snapshot.id)
    run.status = RunStatus.FAILED.value
    run.finished_at = utcnow()
    run.error_message = LEASE_LOST
    db.session.commit()
    log.warning("sync of source %s lost its lease to another process", run.source_id)


def _schedule_next(source: Source, due: datetime | None) -> None:
    """Due again at `due` (its schedule's next run; None: paused or manual), or at once when a
    request came in while this sync ran."""
    waiting = queued_run(source.id) is not None
    source.next_sync_at = schedules.now() if waiting else due
    if waiting:
        source.last_sync_status = SyncStatus.PENDING.value


def _drop_leftovers(source: Source) -> None:
    """Incomplete snapshots a dead process left behind (we hold the lease: none is running)."""
    stale = select(SchemaSnapshot.id).where(
        SchemaSnapshot.source_id == source.id, SchemaSnapshot.complete.is_(False)
    )
    if source.current_snapshot_id is not None:
        stale = stale.where(SchemaSnapshot.id != source.current_snapshot_id)
    for snapshot_id in db.session.scalars(stale).all():
        _drop_snapshot(snapshot_id)


def _drop_snapshot(snapshot_id: int) -> None:
    db.session.execute(delete(SchemaTable).where(SchemaTable.snapshot_id == snapshot_id))
    db.session.execute(delete(SchemaSnapshot).where(SchemaSnapshot.id == snapshot_id))
    db.session.commit()


def sync_progress(source: Source) -> int:
    """Tables read so far by the newest snapshot in progress (0 when none runs)."""
    return (
        db.session.scalar(
            select(SchemaSnapshot.table_count)
            .where(SchemaSnapshot.source_id == source.id, SchemaSnapshot.complete.is_(False))
            .order_by(SchemaSnapshot.id.desc())
            .limit(1)
        )
        or 0
    )
