"""Queries the pages and the API read sources through: lists and pages, one source, its
schema, sync history and progress, health and uptime. Nothing here writes."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import load_only

from ..extensions import db
from ..jobs import health, runs
from ..jobs.diff import MAX_LISTED
from ..jobs.health import Bucket, Uptime
from ..jobs.sync import sync_progress
from ..models import HealthCheck, Organization, Project, SchemaTable, Source, SyncRun, utcnow
from ..names import name_key

__all__ = [
    "MAX_LISTED",
    "Bucket",
    "ListFilter",
    "SourceListing",
    "Uptime",
    "browse_sources",
    "get_organization",
    "get_source",
    "get_source_by_name",
    "health_history",
    "health_uptime",
    "list_sources",
    "list_sources_page",
    "snapshot_tables",
    "sync_history",
    "sync_progress",
    "utcnow",
]
# `utcnow` is the clock stored times are written with, for pages that compare with them.


def get_organization(org_id: int) -> Organization | None:
    """The organization with this id, or None."""
    return db.session.get(Organization, org_id)


def list_sources(org: Organization) -> list[Source]:
    """The organization's sources, by name (their name keys: case and width ignored)."""
    return list(
        db.session.scalars(
            select(Source)
            .where(Source.organization_id == org.id)
            .order_by(Source.name_key, Source.id)
        )
    )


def list_sources_page(
    org: Organization, limit: int, before_id: int | None = None
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
    return db.session.scalar(
        select(Source)
        .where(Source.organization_id == org.id, Source.name_key == name_key(name))
        .limit(1)
    )


def get_source(org: Organization, source_id: int | str) -> Source | None:
    """One source of the organization by its id or its public UUID, or None (also for another
    organization's source, and for text that is neither)."""
    if isinstance(source_id, str):
        public = parse_public_id(source_id)
        if public is not None:
            return db.session.scalar(
                select(Source).where(Source.organization_id == org.id, Source.public_id == public)
            )
        if not (source_id.isascii() and source_id.isdigit() and len(source_id) <= 18):
            return None
        source_id = int(source_id)
    source = db.session.get(Source, source_id)
    return source if source is not None and source.organization_id == org.id else None


def parse_public_id(text: str) -> str | None:
    """The canonical (lower-case, hyphenated) form of a UUID, or None when `text` is none."""
    if len(text) not in (32, 36) or not text.isascii():
        return None
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


def snapshot_tables(
    source: Source, search: str = "", limit: int = 200, offset: int = 0
) -> tuple[list[SchemaTable], int]:
    """Tables of the source's last good snapshot, filtered by name, with the total count."""
    if source.current_snapshot_id is None:
        return [], 0
    query = select(SchemaTable).where(SchemaTable.snapshot_id == source.current_snapshot_id)
    if search:
        pattern = f"%{_like_escaped(search.lower())}%"
        query = query.where(
            func.lower(SchemaTable.schema_name + "." + SchemaTable.name).like(pattern, escape="\\")
        )
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(SchemaTable.schema_name, SchemaTable.name).limit(limit).offset(offset)
    )
    return list(rows), total


def sync_history(source: Source, limit: int = 20, offset: int = 0) -> tuple[list[SyncRun], int]:
    """The source's sync runs (queued, running, finished), newest first, with the total.

    A run's `changes` lists what changed since the previous sync (jobs/diff.py's shape; at
    most MAX_LISTED names per kind of change).
    """
    return runs.sync_history(source.id, limit, offset)


def health_uptime(source: Source, window: str = "24h") -> Uptime:
    """The source's health over `window` ("24h", "7d", "30d") in buckets, for display."""
    return health.uptime(source.id, window)


def health_history(
    source: Source, since: datetime | None = None, limit: int = 1000
) -> list[HealthCheck]:
    """The source's health checks since `since` (default: a day ago), oldest first."""
    return health.health_history(source.id, since, limit)


# --- The sources list page: filtered, sorted, paged on the server ---------------------------

PER_PAGE = 50
SORTS = {  # the page's sort options: label, and the ORDER BY (ties broken by id)
    "name": ("Name", (Source.name_key.asc(),)),
    "recent": (
        "Recently synced",
        (Source.last_sync_attempt_at.is_(None), Source.last_sync_attempt_at.desc()),
    ),
    "unhealthy": (
        "Unhealthy first",
        (
            case(
                (Source.last_health_status == "UNHEALTHY", 0),
                (Source.last_health_status.is_(None), 1),
                else_=2,
            ),
            Source.name_key.asc(),
        ),
    ),
    "newest": ("Newest", (Source.id.desc(),)),
}
HEALTH_FILTERS = {"HEALTHY": "Healthy", "UNHEALTHY": "Unhealthy", "NONE": "Not checked"}
SYNC_FILTERS = {
    "SUCCESS": "Synced",
    "FAILED": "Failed",
    "PENDING": "Pending",
    "NEVER_SYNCED": "Never synced",
}
_LIST_COLUMNS = (
    Source.id,
    Source.organization_id,
    Source.display_name,
    Source.dialect,
    Source.host,
    Source.port,
    Source.is_demo,
    Source.last_health_status,
    Source.last_health_check_attempt_at,
    Source.last_sync_status,
    Source.last_sync_attempt_at,
    Source.last_successful_sync_at,
    Source.project_id,
)


@dataclass(frozen=True)
class ListFilter:
    """What the list shows: a name search, filters, a sort and a page (1-based)."""

    search: str = ""
    dialect: str = ""
    health: str = ""
    sync: str = ""
    sort: str = "name"
    page: int = 1
    project: str = ""  # a project's exact name (sources/projects.py)

    @classmethod
    def read(cls, args: Mapping[str, str]) -> ListFilter:
        """From a query string; unknown values fall back to showing everything."""
        try:
            page = max(1, int(args.get("page") or 1))
        except ValueError:
            page = 1
        sort = args.get("sort") or "name"
        health, sync = args.get("health") or "", args.get("sync") or ""
        return cls(
            (args.get("q") or "").strip()[:200],
            (args.get("dialect") or "")[:32],
            health if health in HEALTH_FILTERS else "",
            sync if sync in SYNC_FILTERS else "",
            sort if sort in SORTS else "name",
            page,
            project=(args.get("project") or "")[:120],
        )

    @property
    def active(self) -> bool:
        """Whether anything narrows the list."""
        return bool(self.search or self.dialect or self.health or self.sync or self.project)


@dataclass
class SourceListing:
    """A page of the list, how many match, how many the organization has, and the counts per
    health and sync status (of every source, for the filters' labels)."""

    rows: list[Source]
    matching: int
    total: int
    page: int
    pages: int
    health_counts: dict[str, int] = field(default_factory=dict)
    sync_counts: dict[str, int] = field(default_factory=dict)


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def browse_sources(
    org: Organization, wanted: ListFilter, per_page: int = PER_PAGE
) -> SourceListing:
    """One page of the organization's sources: searched by name key (case, width and
    invisible characters ignored, as duplicates are), filtered by dialect, health and sync
    status, sorted, `per_page` rows at most. Reads only the columns the list shows."""
    mine = Source.organization_id == org.id
    where = [mine]
    if wanted.search:
        where.append(
            Source.name_key.like(f"%{_like_escaped(name_key(wanted.search))}%", escape="\\")
        )
    if wanted.dialect:
        where.append(Source.dialect == wanted.dialect)
    if wanted.health == "NONE":
        where.append(Source.last_health_status.is_(None))
    elif wanted.health:
        where.append(Source.last_health_status == wanted.health)
    if wanted.sync:
        where.append(Source.last_sync_status == wanted.sync)
    if wanted.project:
        where.append(
            Source.project_id.in_(
                select(Project.id).where(
                    Project.organization_id == org.id, Project.name == wanted.project
                )
            )
        )
    health_counts: dict[str, int] = {}
    for status, count in db.session.execute(
        select(Source.last_health_status, func.count())
        .where(mine)
        .group_by(Source.last_health_status)
    ):
        health_counts[status or "NONE"] = health_counts.get(status or "NONE", 0) + count
    sync_counts = {
        status: count
        for status, count in db.session.execute(
            select(Source.last_sync_status, func.count())
            .where(mine)
            .group_by(Source.last_sync_status)
        )
    }
    total = sum(health_counts.values())
    matching = (
        total
        if len(where) == 1
        else db.session.scalar(select(func.count()).select_from(Source).where(*where)) or 0
    )
    pages = max(1, -(-matching // per_page))
    page = min(wanted.page, pages)
    rows = list(
        db.session.scalars(
            select(Source)
            .options(load_only(*_LIST_COLUMNS))
            .where(*where)
            .order_by(*SORTS[wanted.sort][1], Source.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    return SourceListing(rows, matching, total, page, pages, health_counts, sync_counts)
