"""Claiming due work through the store, so several processes never run one job twice.

A source carries one lease per kind of job (sync, health): `next_*_at` says when the job is
due, `*_lease_owner`/`*_lease_until` who holds it and until when. A claim is one conditional
UPDATE … RETURNING over a `FOR UPDATE SKIP LOCKED` subquery on PostgreSQL (SQLite serialises
writers, so the same statement is atomic there); only the process whose UPDATE matched the row
runs the job. A lease is short (DATADOCK_JOB_LEASE_SECONDS, 30 s): while the job runs, its
process renews it every DATADOCK_JOB_HEARTBEAT_SECONDS (`heartbeat`, from the scheduler), so a
long sync keeps it and a process killed mid-job leaves one that expires within the lease, and
the job is due again.

Each source's own schedule sets its `next_*_at` (jobs/schedules.py, when the schedule is saved
and after each run), so the claim compares stored times and parses no schedule. A paused
source has no due time of its own (NULL); asking by hand sets one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute

from ..extensions import db, rows_changed
from ..models import Source


@dataclass(frozen=True)
class JobKind:
    """The columns of one kind of job on `sources`."""

    name: str
    next_at: InstrumentedAttribute
    owner: InstrumentedAttribute
    until: InstrumentedAttribute
    # A source that never had this job is due at once (health) or only when asked (sync).
    null_is_due: bool = False
    # Claimed first among due sources: those this is true of (health: the unhealthy ones, so
    # hosts that may time out start waiting early and overlap the quick checks).
    first: Any = None

    def due(self, now: datetime) -> Any:
        """The SQL condition: due, and no live lease."""
        when = self.next_at <= now
        if self.null_is_due:  # never run: due at once, unless paused
            when = or_(self.next_at.is_(None) & Source.paused.is_(False), when)
        return when & or_(self.until.is_(None), self.until < now)


SYNC = JobKind("sync", Source.next_sync_at, Source.sync_lease_owner, Source.sync_lease_until)
HEALTH = JobKind(
    "health",
    Source.next_health_at,
    Source.health_lease_owner,
    Source.health_lease_until,
    null_is_due=True,
    first=Source.last_health_status == "UNHEALTHY",
)


def claim_due(
    kind: JobKind, owner: str, now: datetime, lease_seconds: float, limit: int
) -> list[int]:
    """Lease up to `limit` due sources to `owner`, returning the ids won: `kind.first` ones
    first, then the most overdue."""
    if limit <= 0:
        return []
    until = now + timedelta(seconds=lease_seconds)
    order: list[Any] = [
        kind.next_at.asc().nulls_first() if kind.null_is_due else kind.next_at.asc()
    ]
    if kind.first is not None:
        order.insert(0, case((kind.first, 0), else_=1))
    candidates = select(Source.id).where(kind.due(now)).order_by(*order).limit(limit)
    store = db.engine.dialect.name
    if store == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    if store in ("postgresql", "sqlite"):
        # The due condition is repeated in the UPDATE: it is the real guard.
        claimed = list(
            db.session.scalars(
                update(Source)
                .where(Source.id.in_(candidates.scalar_subquery()), kind.due(now))
                .values({kind.owner: owner, kind.until: until})
                .returning(Source.id)
                .execution_options(synchronize_session=False)
            )
        )
    else:  # a store without UPDATE … RETURNING: one conditional UPDATE per candidate
        claimed = []
        for source_id in db.session.scalars(candidates).all():
            result = db.session.execute(
                update(Source)
                .where(Source.id == source_id, kind.due(now))
                .values({kind.owner: owner, kind.until: until})
                .execution_options(synchronize_session=False)
            )
            if rows_changed(result) == 1:
                claimed.append(source_id)
    db.session.commit()
    return claimed


def renew(kind: JobKind, source_id: int, owner: str, now: datetime, lease_seconds: float) -> bool:
    """Extend `owner`'s lease in the caller's transaction (a long job calls this as it goes);
    False if the lease was lost."""
    result = db.session.execute(
        update(Source)
        .where(Source.id == source_id, kind.owner == owner)
        .values({kind.until: now + timedelta(seconds=lease_seconds)})
        .execution_options(synchronize_session=False)
    )
    return rows_changed(result) == 1


def heartbeat(
    kind: JobKind, source_ids: list[int], owner: str, now: datetime, lease_seconds: float
) -> int:
    """Extend `owner`'s leases on the sources whose jobs it is running (one UPDATE, its own
    commit); a lease already lost stays lost. Returns how many were renewed."""
    if not source_ids:
        return 0
    result = db.session.execute(
        update(Source)
        .where(Source.id.in_(source_ids), kind.owner == owner)
        .values({kind.until: now + timedelta(seconds=lease_seconds)})
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return rows_changed(result)


def release(kind: JobKind, source_id: int, owner: str) -> None:
    """Drop the lease if `owner` still holds it."""
    db.session.execute(
        update(Source)
        .where(Source.id == source_id, kind.owner == owner)
        .values({kind.owner: None, kind.until: None})
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def claim_due_syncs(owner: str, now: datetime, lease_seconds: float, limit: int) -> list[int]:
    """Lease up to `limit` due schema syncs to `owner`."""
    return claim_due(SYNC, owner, now, lease_seconds, limit)


def release_sync(source_id: int, owner: str) -> None:
    """Drop `owner`'s sync lease."""
    release(SYNC, source_id, owner)
