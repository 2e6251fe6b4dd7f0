"""Operations on saved sources: pause and resume their scheduled work, test the saved
configuration (with its secrets), and preview a schedule's next runs.

Pausing clears the source's own due times (jobs/schedules.py): the scheduler claims nothing
for it until someone asks by hand (Sync now, Check now, the API, a webhook) or resumes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import current_app

from .. import audit
from ..connect.verify import VerifyResult
from ..core.fields import FieldInvalid
from ..core.refusal import ValidationFailed
from ..jobs import runs, schedules
from ..models import Source
from ..records import public_values
from ..source_fields import SCHEDULE_FIELDS, source_field_values
from .commands import _wake_scheduler, one_transaction
from .inputs import CHECK_FIELDS
from .verification import verify_input

PREVIEW_RUNS = 3
_SCHEDULE_SPECS = {spec.name: spec for spec in SCHEDULE_FIELDS}


def pause_source(source: Source) -> Source:
    """Stop the source's scheduled syncs and health checks (a sync already asked for still
    runs); audited. Pausing a paused source changes nothing."""
    if source.paused:
        return source
    with one_transaction():
        source.paused = True
        source.next_health_at = None
        if runs.queued_run(source.id) is None:
            source.next_sync_at = None
        _audit(source, "source.paused")
    return source


def resume_source(source: Source) -> Source:
    """Schedule the source again: a health check at once, the next sync at its schedule's
    next run (or at once when one was asked for meanwhile); audited."""
    if not source.paused:
        return source
    with one_transaction():
        source.paused = False
        now = schedules.now()
        source.next_health_at = now
        if runs.queued_run(source.id) is None:
            source.next_sync_at = schedules.next_sync_at(
                source, current_app.config["SYNC_INTERVAL"], now
            )
        _audit(source, "source.resumed")
    _wake_scheduler()
    return source


def verify_saved(source: Source) -> VerifyResult:
    """Verify the stored configuration with its stored secrets, like a create-time verify
    (same ladder, steps, slot and audit event). Raises ValidationFailed, VerifyBusy or
    ConnectionFailed with the steps."""
    raw = {"dialect": source.dialect, **source_field_values(source), **public_values(source)}
    return verify_input(raw, existing=source)


def schedule_preview(
    raw: Mapping[str, Any], count: int = PREVIEW_RUNS, after: datetime | None = None
) -> list[datetime]:
    """The next `count` runs (naive UTC) of a schedule typed in the form or sent to the API
    (syncSchedule, syncTime, syncTimezone); ValidationFailed names the field that is wrong.
    A manual schedule has none."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in ("syncSchedule", "syncTime", "syncTimezone"):
        try:
            values[name] = _SCHEDULE_SPECS[name].clean(raw.get(name))
        except FieldInvalid as exc:
            errors[name] = str(exc)
    if errors:
        raise ValidationFailed(CHECK_FIELDS, errors)
    schedule = schedules.Schedule(
        values["syncSchedule"], values["syncTime"], values["syncTimezone"]
    )
    return schedule.runs_after(after or schedules.now(), count, current_app.config["SYNC_INTERVAL"])


def upcoming_syncs(source: Source, count: int = PREVIEW_RUNS) -> list[datetime]:
    """The saved schedule's next `count` runs, from the stored next due time when there is
    one (none while paused or manual)."""
    if source.paused:
        return []
    schedule, now = schedules.Schedule.of(source), schedules.now()
    interval = current_app.config["SYNC_INTERVAL"]
    if source.next_sync_at is not None and source.next_sync_at > now:
        return [source.next_sync_at, *schedule.runs_after(source.next_sync_at, count - 1, interval)]
    return schedule.runs_after(now, count, interval)


def _audit(source: Source, action: str) -> None:
    audit.record(
        source.organization_id,
        action,
        target_type="source",
        target_id=source.id,
        target_name=source.display_name,
    )
