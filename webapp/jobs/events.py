"""Events: recorded once, in the transaction of the state change that causes them, with one
pending delivery per subscribed channel (jobs/deliveries.py sends them).

`source.unhealthy` opens an incident after N consecutive failed checks (the source's
`alert_after_failures`, default 2) and `source.recovered` closes it, so a flapping source that
never fails N times in a row raises nothing and an incident raises one alert. `sync.failed`
is raised by the first failure of a run of failures, `schema.changed` by a sync that found
changes against the previous snapshot.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select

from ..extensions import db
from ..models import Delivery, Event, HealthCheck, NotificationChannel, Source, utcnow

SOURCE_UNHEALTHY = "source.unhealthy"
SOURCE_RECOVERED = "source.recovered"
SYNC_FAILED = "sync.failed"
SCHEMA_CHANGED = "schema.changed"
SOURCE_CONNECTED = "source.connected"  # an onboarding link completed (webapp/onboarding/)
TEST = "test"
# What a channel may subscribe to (`test` is sent by "Send test" only).
EVENT_TYPES = (SOURCE_UNHEALTHY, SOURCE_RECOVERED, SYNC_FAILED, SCHEMA_CHANGED, SOURCE_CONNECTED)
DEFAULT_ALERT_AFTER = 2
NAMES_LISTED = 5  # first names of tables/columns in a schema.changed payload


def iso(moment: datetime | None) -> str | None:
    """Naive UTC as RFC 3339 with a Z."""
    return None if moment is None else moment.replace(microsecond=0).isoformat() + "Z"


def link(path: str) -> str:
    """An absolute link into Datadock (DATADOCK_BASE_URL, else a local default)."""
    base = current_app.config.get("BASE_URL") or "http://localhost:5000"
    return str(base).rstrip("/") + path


def record(
    organization_id: int,
    kind: str,
    source: Any | None,
    data: dict[str, Any],
    url: str | None = None,
    channel: NotificationChannel | None = None,
    now: datetime | None = None,
) -> Event:
    """Add the event and its deliveries to the session (the caller commits). `source` is
    anything with id, display_name and dialect; `channel` limits delivery to that one."""
    now = now or utcnow()
    uid = str(uuid.uuid4())
    summary = (
        None
        if source is None
        else {"id": str(source.id), "displayName": source.display_name, "dialect": source.dialect}
    )
    payload = {
        "id": uid,
        "type": kind,
        "occurredAt": iso(now),
        "organizationId": str(organization_id),
        "source": summary,
        "data": data,
        "url": url or (link(f"/sources/{source.id}") if source is not None else link("/activity")),
    }
    event = Event(
        uid=uid,
        organization_id=organization_id,
        type=kind,
        occurred_at=now,
        source_id=None if source is None else source.id,
        payload=payload,
    )
    db.session.add(event)
    db.session.flush()
    targets = (
        [channel]
        if channel is not None
        else subscribed(organization_id, kind, None if source is None else source.id)
    )
    for target in targets:
        db.session.add(
            Delivery(
                uid=str(uuid.uuid4()),
                channel_id=target.id,
                event_id=event.id,
                status="pending",
                attempts=0,
                created_at=now,
                next_attempt_at=now,
            )
        )
    return event


def subscribed(organization_id: int, kind: str, source_id: int | None) -> list[NotificationChannel]:
    """The organization's channels that take this event type for this source."""
    channels = db.session.scalars(
        select(NotificationChannel).where(NotificationChannel.organization_id == organization_id)
    ).all()
    return [
        c
        for c in channels
        if (c.events is None or kind in c.events)
        and (c.source_ids is None or source_id is None or source_id in c.source_ids)
    ]


# Columns the health job reads back (UPDATE … RETURNING) to decide on an event; the
# threshold column comes with the schedules change (default 2 until it is there).
HEALTH_COLUMNS = tuple(
    name
    for name in (
        "organization_id",
        "display_name",
        "dialect",
        "health_failures",
        "health_incident_at",
        "alert_after_failures",
    )
    if name in Source.__table__.c
)


def after_health_check(
    source_id: int, healthy: bool, now: datetime, error: str | None, row: Any
) -> None:
    """Open or close the source's incident (in the caller's transaction) from the row the
    check's UPDATE returned."""
    threshold = max(1, int(getattr(row, "alert_after_failures", None) or DEFAULT_ALERT_AFTER))
    source = _Summary(source_id, row.display_name, row.dialect)
    if not healthy and row.health_incident_at is None and row.health_failures >= threshold:
        since = _streak_start(source_id, threshold) or now
        _set_incident(source_id, since)
        record(
            row.organization_id,
            SOURCE_UNHEALTHY,
            source,
            {
                "consecutiveFailures": row.health_failures,
                "unhealthySince": iso(since),
                "reason": error,
            },
            now=now,
        )
    elif healthy and row.health_incident_at is not None:
        _set_incident(source_id, None)
        seconds = max(0, int((now - row.health_incident_at).total_seconds()))
        record(
            row.organization_id,
            SOURCE_RECOVERED,
            source,
            {
                "unhealthySince": iso(row.health_incident_at),
                "recoveredAt": iso(now),
                "durationSeconds": seconds,
            },
            now=now,
        )


class _Summary:
    """The source fields a payload names."""

    def __init__(self, source_id: int, display_name: str, dialect: str) -> None:
        self.id, self.display_name, self.dialect = source_id, display_name, dialect


def _streak_start(source_id: int, count: int) -> datetime | None:
    """When the current run of `count` failed checks began."""
    newest = (
        select(HealthCheck.checked_at)
        .where(HealthCheck.source_id == source_id)
        .order_by(HealthCheck.checked_at.desc())
        .limit(count)
        .subquery()
    )
    return db.session.scalar(select(func.min(newest.c.checked_at)))


def _set_incident(source_id: int, since: datetime | None) -> None:
    sources = Source.__table__
    db.session.execute(
        sources.update().where(sources.c.id == source_id).values(health_incident_at=since)
    )


def sync_failed(source: Source, run_id: int, message: str) -> None:
    """A sync failed: raised for the first failure of a run of failures (the caller has
    counted this one in `sync_failures`)."""
    if (source.sync_failures or 0) != 1:
        return
    record(
        source.organization_id,
        SYNC_FAILED,
        source,
        {"syncId": str(run_id), "reason": message},
        url=link(f"/sources/{source.id}#run-{run_id}"),
    )


def schema_changed(source: Source, run_id: int, changes: dict[str, Any]) -> None:
    """A sync found changes against the previous snapshot: counts and the first names."""
    if not changes or not changes.get("total"):
        return
    first: dict[str, list[str]] = {}
    for category, entries in changes.items():
        if isinstance(entries, list):
            first[category] = [_name(e) for e in entries[:NAMES_LISTED]]
    record(
        source.organization_id,
        SCHEMA_CHANGED,
        source,
        {
            "syncId": str(run_id),
            "counts": changes.get("counts", {}),
            "total": changes.get("total", 0),
            "first": first,
        },
        url=link(f"/sources/{source.id}#run-{run_id}"),
    )


def _name(entry: dict[str, Any]) -> str:
    table = entry.get("table") or entry.get("name")
    name = f"{entry.get('schema')}.{table}"
    return f"{name}.{entry['column']}" if entry.get("column") else name


EVENT_RETENTION_DAYS = 90
PRUNE_BATCH = 1000


def prune_events(before: datetime) -> int:
    """Delete events older than `before` with their deliveries, in batches; how many."""
    removed = 0
    while True:
        ids = list(
            db.session.scalars(
                select(Event.id)
                .where(Event.occurred_at < before)
                .order_by(Event.id)
                .limit(PRUNE_BATCH)
            )
        )
        if not ids:
            return removed
        db.session.execute(delete(Delivery).where(Delivery.event_id.in_(ids)))
        db.session.execute(delete(Event).where(Event.id.in_(ids)))
        db.session.commit()
        removed += len(ids)
