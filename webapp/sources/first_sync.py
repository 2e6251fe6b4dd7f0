"""Waiting for a new source's first schema sync, for faces that answer only once the schema
is cached (DataBrain): the store is polled, so the sync may run in any process."""

from __future__ import annotations

import enum
import time

from ..extensions import db
from ..models import Source, SyncStatus

POLL_SECONDS = 0.1


class FirstSync(enum.StrEnum):
    """How the wait ended."""

    DONE = "done"
    FAILED = "failed"
    PENDING = "pending"  # the bound passed; the sync goes on in the background


def wait_for_first_sync(source: Source, seconds: float) -> FirstSync:
    """Poll the source's sync state until its first sync ended or `seconds` passed."""
    deadline = time.monotonic() + max(0.0, seconds)
    while True:
        db.session.refresh(source)
        if source.has_completed_first_sync:
            return FirstSync.DONE
        if source.last_sync_status == SyncStatus.FAILED.value:
            return FirstSync.FAILED
        if time.monotonic() >= deadline:
            return FirstSync.PENDING
        db.session.rollback()  # end the read so the next poll sees other processes' commits
        time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
