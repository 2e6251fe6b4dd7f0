"""Claiming due work through the store, so several processes never run one job twice."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from ..extensions import db
from ..models import Source


def _due(now: datetime):  # noqa: ANN202 - a SQLAlchemy clause
    return (Source.next_sync_at <= now) & or_(
        Source.sync_lease_until.is_(None), Source.sync_lease_until < now)


def claim_due_syncs(owner: str, now: datetime, lease_seconds: float, limit: int) -> list[int]:
    """Lease up to `limit` due sources to `owner`; returns the ids this call won."""
    if limit <= 0:
        return []
    candidates = select(Source.id).where(_due(now)).order_by(Source.next_sync_at).limit(limit)
    if db.engine.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    claimed = []
    until = now + timedelta(seconds=lease_seconds)
    for source_id in db.session.scalars(candidates).all():
        # The conditional UPDATE is the real guard: only one process sees rowcount 1.
        result = db.session.execute(
            update(Source).where(Source.id == source_id, _due(now))
            .values(sync_lease_owner=owner, sync_lease_until=until)
            .execution_options(synchronize_session=False))
        if result.rowcount == 1:
            claimed.append(source_id)
    db.session.commit()
    return claimed


def release_sync(source_id: int, owner: str) -> None:
    """Drop the lease if `owner` still holds it."""
    db.session.execute(
        update(Source).where(Source.id == source_id, Source.sync_lease_owner == owner)
        .values(sync_lease_owner=None, sync_lease_until=None)
        .execution_options(synchronize_session=False))
    db.session.commit()
