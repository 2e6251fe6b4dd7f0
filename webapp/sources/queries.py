"""Queries the pages and the API read sources through: lists and pages, one source, its
schema, sync history and progress, health and uptime. Nothing here writes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from ..extensions import db
from ..jobs import health, runs
from ..jobs.diff import MAX_LISTED
from ..jobs.health import Bucket, Uptime
from ..jobs.sync import sync_progress
from ..models import HealthCheck, Organization, SchemaTable, Source, SyncRun, utcnow
from ..names import name_key

__all__ = ["MAX_LISTED", "Bucket", "Uptime", "get_organization", "get_source",
           "get_source_by_name", "health_history", "health_uptime", "list_sources",
           "list_sources_page", "snapshot_tables", "sync_history", "sync_progress", "utcnow"]
# `utcnow` is the clock stored times are written with, for pages that compare with them.


def get_organization(org_id: int) -> Organization | None:
    """The organization with this id, or None."""
    return db.session.get(Organization, org_id)


def list_sources(org: Organization) -> list[Source]:
    """The organization's sources, by name (their name keys: case and width ignored)."""
    return list(db.session.scalars(
        select(Source).where(Source.organization_id == org.id)
        .order_by(Source.name_key, Source.id)))


def list_sources_page(org: Organization, limit: int, before_id: int | None = None
                      ) -> tuple[list[Source], bool]:
    """Newest first, `limit` at most, those created before source `before_id` (the API's
    cursor); returns the page and whether more follow."""
    query = select(Source).where(Source.organization_id == org.id)
    if before_id is not None:
        query = query.where(Source.id < before_id)
    rows = list(db.session.scalars(query.order_by(Source.id.desc()).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def get_source_by_name(org: Organization, name: str) -> Source | None:
    """The organization's source with this display name, compared by name key (case, width,
    Unicode form and invisible characters ignored), or None."""
    return db.session.scalar(select(Source).where(
        Source.organization_id == org.id, Source.name_key == name_key(name)).limit(1))


def get_source(org: Organization, source_id: int) -> Source | None:
    """One source of the organization, or None (also for another organization's source)."""
    source = db.session.get(Source, source_id)
    return source if source is not None and source.organization_id == org.id else None


def snapshot_tables(source: Source, search: str = "", limit: int = 200,
                    offset: int = 0) -> tuple[list[SchemaTable], int]:
    """Tables of the source's last good snapshot, filtered by name, with the total count."""
    if source.current_snapshot_id is None:
        return [], 0
    query = select(SchemaTable).where(SchemaTable.snapshot_id == source.current_snapshot_id)
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(func.lower(SchemaTable.schema_name + "." + SchemaTable.name)
                            .like(pattern))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(query.order_by(SchemaTable.schema_name, SchemaTable.name)
                              .limit(limit).offset(offset))
    return list(rows), total


def sync_history(source: Source, limit: int = 20, offset: int = 0
                 ) -> tuple[list[SyncRun], int]:
    """The source's sync runs (queued, running, finished), newest first, with the total.

    A run's `changes` lists what changed since the previous sync (jobs/diff.py's shape; at
    most MAX_LISTED names per kind of change).
    """
    return runs.sync_history(source.id, limit, offset)


def health_uptime(source: Source, window: str = "24h") -> Uptime:
    """The source's health over `window` ("24h", "7d", "30d") in buckets, for display."""
    return health.uptime(source.id, window)


def health_history(source: Source, since: datetime | None = None,
                   limit: int = 1000) -> list[HealthCheck]:
    """The source's health checks since `since` (default: a day ago), oldest first."""
    return health.health_history(source.id, since, limit)
