"""Sync history: a SyncRun per request and per attempt (QUEUED → RUNNING → SUCCESS | FAILED).

A request ("Sync now", the API, a webhook, a save) queues one run; the sync job takes the oldest
queued run of its source, or starts a "schedule" run when none was asked for. A request made
while a sync runs stays queued, and the source is due again as soon as that sync ends.
"""

from __future__ import annotations

import enum

from sqlalchemy import delete, func, select, update

from ..extensions import db
from ..models import SyncRun, utcnow

KEEP_RUNS = 100  # newest runs kept per source
INTERRUPTED = (
    "Interrupted: the Datadock process running this sync stopped before it "
    "finished. The sync ran again."
)


class RunStatus(enum.StrEnum):
    """Where a SyncRun stands."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"


def queued_run(source_id: int) -> SyncRun | None:
    """The oldest run waiting for the source's next sync, if any."""
    return db.session.scalar(
        select(SyncRun)
        .where(SyncRun.source_id == source_id, SyncRun.status == RunStatus.QUEUED.value)
        .order_by(SyncRun.id)
        .limit(1)
    )


def queue_run(source_id: int, trigger: str) -> SyncRun:
    """Queue a run (added to the session, not committed); a request while one waits joins it."""
    run = queued_run(source_id)
    if run is None:
        run = SyncRun(
            source_id=source_id,
            trigger=trigger[:16],
            status=RunStatus.QUEUED.value,
            started_at=utcnow(),
        )
        db.session.add(run)
    return run


def start_run(source_id: int) -> SyncRun:
    """Mark runs a dead process left RUNNING as failed; take the queued run or start one.

    Called by the lease holder only, so no other sync of this source is running.
    """
    now = utcnow()
    db.session.execute(
        update(SyncRun)
        .where(SyncRun.source_id == source_id, SyncRun.status == RunStatus.RUNNING.value)
        .values(status=RunStatus.FAILED.value, finished_at=now, error_message=INTERRUPTED)
        .execution_options(synchronize_session=False)
    )
    run = queued_run(source_id) or SyncRun(source_id=source_id, trigger="schedule")
    run.status = RunStatus.RUNNING.value
    run.started_at = now
    db.session.add(run)
    return run


def prune_runs(source_id: int, keep: int = KEEP_RUNS) -> None:
    """Delete the source's finished runs beyond the newest `keep`."""
    cutoff = db.session.scalar(
        select(SyncRun.id)
        .where(SyncRun.source_id == source_id)
        .order_by(SyncRun.id.desc())
        .offset(keep)
        .limit(1)
    )
    if cutoff is not None:
        db.session.execute(
            delete(SyncRun).where(
                SyncRun.source_id == source_id,
                SyncRun.id <= cutoff,
                SyncRun.status.in_([RunStatus.SUCCESS.value, RunStatus.FAILED.value]),
            )
        )


def sync_history(source_id: int, limit: int = 20, offset: int = 0) -> tuple[list[SyncRun], int]:
    """The source's runs, newest first, and how many there are."""
    total = (
        db.session.scalar(
            select(func.count()).select_from(SyncRun).where(SyncRun.source_id == source_id)
        )
        or 0
    )
    runs = db.session.scalars(
        select(SyncRun)
        .where(SyncRun.source_id == source_id)
        .order_by(SyncRun.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(runs), total
