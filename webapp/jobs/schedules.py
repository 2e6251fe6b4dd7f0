"""When a source's next sync and health check are due, computed when its schedule is saved and
after each run, so the claim stays one indexed comparison (`next_*_at <= now`, claims.py).

A sync schedule is a word or a 5-field cron expression (evaluated by cronsim in the source's
IANA time zone, so daylight-saving gaps and repeats are cronsim's, not ours):

    interval  every DATADOCK_SYNC_INTERVAL seconds after the previous sync (the default)
    manual    only when asked (Sync now, the API, a webhook)
    hourly    every hour at syncTime's minute
    daily     every day at syncTime (HH:MM) in syncTimezone
    weekly    every Monday at syncTime in syncTimezone
    <cron>    e.g. "0 3 * * 1-5", in syncTimezone

Times are stored naive UTC (models.utcnow). A paused source has no next due time of its own;
a request made by hand still sets one. `clock` is the one "now" of the scheduler's ticks and
of the next-due computation, so tests can drive schedules with a controllable clock.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from ..core.fields import FieldInvalid
from ..models import Source, utcnow

log = logging.getLogger(__name__)

WORDS = ("interval", "manual", "hourly", "daily", "weekly")
DEFAULT_SCHEDULE = "interval"
DEFAULT_TIME = "00:00"
DEFAULT_TIMEZONE = "UTC"
HEALTH_JITTER = 0.1  # a check comes after its interval plus up to 10 %, so checks spread out
_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")

clock: Callable[[], datetime] = utcnow


def now() -> datetime:
    """The scheduler's now (naive UTC): `clock()`, replaceable in tests."""
    return clock()


def check_schedule(value: str | None) -> None:
    """A schedule word, or a 5-field cron expression cronsim accepts."""
    if not value or value in WORDS:
        return
    if len(value.split()) != 5:
        raise FieldInvalid(
            "Use manual, interval, hourly, daily, weekly or a 5-field cron "
            "expression such as 0 3 * * 1-5"
        )
    try:
        CronSim(value, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        raise FieldInvalid(f"Not a valid cron expression: {exc}") from None


def check_time(value: str | None) -> None:
    """HH:MM on a 24-hour clock."""
    if value and not _TIME.match(value):
        raise FieldInvalid("Use HH:MM on a 24-hour clock, e.g. 03:30")


def check_timezone(value: str | None) -> None:
    """An IANA time zone name this server knows (Europe/Berlin, America/New_York, UTC)."""
    if value:
        zone(value)


def zone(name: str) -> ZoneInfo:
    """The named time zone, or FieldInvalid."""
    if "\x00" in name or name.startswith(("/", ".")) or ".." in name:
        raise FieldInvalid("Use an IANA time zone name, e.g. Europe/Berlin")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FieldInvalid(
            f"{name!r} is not a time zone this server knows: use an IANA name such as Europe/Berlin"
        ) from None


@dataclass(frozen=True)
class Schedule:
    """A source's sync schedule: the word or cron expression, the time and the time zone."""

    expression: str = DEFAULT_SCHEDULE
    time: str = DEFAULT_TIME
    timezone: str = DEFAULT_TIMEZONE

    @classmethod
    def of(cls, source: Source) -> Schedule:
        """The stored schedule of a source."""
        return cls(
            source.sync_schedule or DEFAULT_SCHEDULE,
            source.sync_time or DEFAULT_TIME,
            source.sync_timezone or DEFAULT_TIMEZONE,
        )

    def cron(self) -> str | None:
        """The cron expression this schedule means (None: interval or manual)."""
        hour, minute = (int(p) for p in (self.time or DEFAULT_TIME).split(":"))
        return {
            "interval": None,
            "manual": None,
            "hourly": f"{minute} * * * *",
            "daily": f"{minute} {hour} * * *",
            "weekly": f"{minute} {hour} * * 1",
        }.get(self.expression, self.expression)

    def runs_after(self, moment: datetime, count: int, interval: float) -> list[datetime]:
        """The next `count` runs strictly after `moment` (naive UTC in, naive UTC out)."""
        if self.expression == "manual":
            return []
        try:
            expression = self.cron()
            if expression is not None:
                start = moment.replace(tzinfo=UTC).astimezone(zone(self.timezone))
                times = CronSim(expression, start)
                return [next(times).astimezone(UTC).replace(tzinfo=None) for _ in range(count)]
        except (CronSimError, FieldInvalid, ValueError, StopIteration):
            # Only a row written around the field checks gets here: run it as an interval
            # rather than never (or in a loop).
            log.warning(
                "unreadable sync schedule %r in %r: using the interval",
                self.expression,
                self.timezone,
            )
        return [moment + timedelta(seconds=interval * (i + 1)) for i in range(count)]

    def next_after(self, moment: datetime, interval: float) -> datetime | None:
        """The next run after `moment`, None for a manual schedule."""
        runs = self.runs_after(moment, 1, interval)
        return runs[0] if runs else None


def next_sync_at(source: Source, interval: float, after: datetime | None = None) -> datetime | None:
    """When the source's next scheduled sync is due (None: paused or manual)."""
    if source.paused:
        return None
    return Schedule.of(source).next_after(after or now(), interval)


def retry_at(source: Source, backoff: float, interval: float) -> datetime | None:
    """After a failed sync: the backoff's end, or the next scheduled run if sooner."""
    if source.paused:
        return None
    moment = now()
    scheduled = Schedule.of(source).next_after(moment, interval)
    if scheduled is None:  # manual: no retry on its own
        return None
    return min(moment + timedelta(seconds=backoff), scheduled)


def health_interval_seconds(source: Source) -> float:
    """The source's health-check interval (healthCheckIntervalMinutes, 5 by default)."""
    return 60.0 * (source.health_check_interval_minutes or 5)


def next_health_at(minutes: int | None, after: datetime | None = None) -> datetime:
    """The next health check after `after`: the interval plus a little jitter."""
    seconds = 60.0 * (minutes or 5)
    return (after or now()) + timedelta(seconds=seconds * (1 + random.random() * HEALTH_JITTER))


def reschedule_health(source: Source) -> None:
    """After the schedule fields were saved (in the caller's transaction): a paused source has
    no due health check; an active one is checked no later than its new interval."""
    if source.paused:
        source.next_health_at = None
        return
    latest = next_health_at(source.health_check_interval_minutes)
    if source.next_health_at is not None and source.next_health_at > latest:
        source.next_health_at = latest
