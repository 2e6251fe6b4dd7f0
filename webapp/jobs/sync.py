"""Schema sync of one claimed source: read the catalog in batches, keep the last good snapshot."""

from __future__ import annotations

import logging
from datetime import timedelta
from itertools import islice

from flask import current_app
from sqlalchemy import delete, insert, select

from ..connect.errors import ConnectionFailed
from ..connect.verify import open_connection
from ..dialects import SchemaFilter, get_dialect
from ..extensions import db
from ..models import SchemaSnapshot, SchemaTable, Source, SyncStatus, utcnow
from ..records import connection_values
from .claims import release_sync

log = logging.getLogger(__name__)

BATCH = 1000
MAX_BACKOFF_SECONDS = 3600.0


def run_sync(source_id: int, owner: str) -> None:
    """Sync the source if `owner` holds its lease; always release the lease."""
    try:
        source = db.session.get(Source, source_id)
        if source is None or source.sync_lease_owner != owner:
            return
        _sync(source)
    finally:
        db.session.rollback()
        release_sync(source_id, owner)


def _sync(source: Source) -> None:
    source.last_sync_attempt_at = utcnow()
    source.last_sync_status = SyncStatus.PENDING.value
    db.session.commit()
    snapshot: SchemaSnapshot | None = None
    try:
        dialect = get_dialect(source.dialect)
        if dialect is None:
            raise ConnectionFailed("fields", f"Dialect {source.dialect} is not available.")
        opened = open_connection(dialect, connection_values(source),
                                 current_app.config["VERIFY_TIMEOUT"])
        try:
            snapshot = SchemaSnapshot(source_id=source.id)
            db.session.add(snapshot)
            db.session.commit()
            tables = dialect.introspect(opened.connection, SchemaFilter.parse(
                source.include_schemas, source.exclude_schemas))
            while batch := list(islice(tables, BATCH)):
                db.session.execute(insert(SchemaTable), [
                    {"snapshot_id": snapshot.id, "schema_name": t.schema, "name": t.name,
                     "kind": t.kind, "columns": t.columns} for t in batch])
                snapshot.table_count += len(batch)
                snapshot.column_count += sum(len(t.columns) for t in batch)
                db.session.commit()  # progress is visible, and SQLite writers are not starved
        finally:
            opened.close()
    except ConnectionFailed as failure:
        _failed(source, snapshot, failure.detail)
        return
    except Exception:
        log.exception("schema sync of source %s failed", source.id)
        _failed(source, snapshot, "The schema could not be read: the server ended the catalog "
                "query early. Details are in Datadock's server log.")
        return
    previous = source.current_snapshot_id
    snapshot.complete = True
    source.current_snapshot_id = snapshot.id
    source.last_sync_status = SyncStatus.SUCCESS.value
    source.last_successful_sync_at = utcnow()
    source.has_completed_first_sync = True
    source.sync_error_message = None
    source.sync_failures = 0
    source.next_sync_at = utcnow() + timedelta(seconds=current_app.config["SYNC_INTERVAL"])
    db.session.commit()
    if previous is not None:
        _drop_snapshot(previous)
    log.info("synced source %s: %s tables, %s columns", source.id, snapshot.table_count,
             snapshot.column_count)


def _failed(source: Source, snapshot: SchemaSnapshot | None, message: str) -> None:
    """Record the failure, keep the last good snapshot, back off before the next try."""
    db.session.rollback()
    if snapshot is not None and snapshot.id is not None:
        _drop_snapshot(snapshot.id)
    source.last_sync_status = SyncStatus.FAILED.value
    source.sync_error_message = message
    source.sync_failures = (source.sync_failures or 0) + 1
    backoff = min(60.0 * 2 ** (source.sync_failures - 1), MAX_BACKOFF_SECONDS,
                  current_app.config["SYNC_INTERVAL"])
    source.next_sync_at = utcnow() + timedelta(seconds=backoff)
    db.session.commit()


def _drop_snapshot(snapshot_id: int) -> None:
    db.session.execute(delete(SchemaTable).where(SchemaTable.snapshot_id == snapshot_id))
    db.session.execute(delete(SchemaSnapshot).where(SchemaSnapshot.id == snapshot_id))
    db.session.commit()


def sync_progress(source: Source) -> int:
    """Tables read so far by the newest snapshot in progress (0 when none runs)."""
    return db.session.scalar(
        select(SchemaSnapshot.table_count).where(
            SchemaSnapshot.source_id == source.id, SchemaSnapshot.complete.is_(False))
        .order_by(SchemaSnapshot.id.desc()).limit(1)) or 0
