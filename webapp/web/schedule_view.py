"""How the pages show schedule times: stored naive UTC, shown in the schedule's zone and UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from .. import sources as uc


def run_times(runs: list[datetime], timezone: str) -> list[dict[str, str]]:
    """Run times for a page: ISO (UTC), in the schedule's zone, and the UTC clock time."""
    try:
        zone = ZoneInfo(timezone)
    except (ValueError, KeyError):
        zone = ZoneInfo("UTC")
    shown = []
    for moment in runs:
        aware = moment.replace(tzinfo=UTC)
        shown.append(
            {
                "iso": aware.isoformat().replace("+00:00", "Z"),
                "local": aware.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z"),
                "utc": aware.strftime("%H:%M UTC"),
            }
        )
    return shown


def schedule_context(source: Any) -> dict[str, Any]:
    """The source page's schedule facts: its next three runs (none while paused or manual)."""
    return {"upcoming": run_times(uc.upcoming_syncs(source), source.sync_timezone or "UTC")}
