"""Health checks: connect the way verify does (same ladder, same deadline), one round trip,
latency; a HealthCheck row per check, the source's health fields, and pruning of old rows.

A check holds no store connection while it waits on the network, so a pool of many health
workers (mostly waiting on silent hosts) never starves page requests or sync jobs of the store.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import case, delete, select

from ..connect.errors import ConnectionFailed
from ..connect.verify import open_connection
from ..dialects import get_dialect
from ..extensions import db, rows_changed
from ..models import HealthCheck, HealthStatus, Source, utcnow
from ..records import connection_values
from . import events, schedules
from .claims import HEALTH, release

log = logging.getLogger(__name__)

CHECK_FAILED = (
    "The health check failed after connecting: the server did not answer the test "
    "query. Details are in Datadock's server log."
)
JITTER = schedules.HEALTH_JITTER  # kept for callers; the interval is per source now
PRUNE_BATCH = 5000


def run_health(source_id: int, owner: str) -> None:
    """Check the source if `owner` holds its health lease; record the result and free the
    lease in one transaction (or free it alone when the check could not run)."""
    recorded = False
    try:
        leased = _leased(source_id, owner)
        if leased is None:
            return
        dialect, values, minutes, gate = leased
        with server_slot(values, gate):  # the deadline and the latency start once it is ours
            healthy, latency_ms, error = _check(
                dialect, values, current_app.config["VERIFY_TIMEOUT"]
            )
        _record(source_id, owner, healthy, latency_ms, error, minutes)
        recorded = True
    finally:
        with _AHEAD_LOCK:
            _RUNNING.discard((owner, source_id))
        db.session.rollback()
        if not recorded:
            release(HEALTH, source_id, owner)


# What a check needs of its source, read for every source leased to this process at once
# (one query) by the first check that finds its own missing: a sweep of a thousand checks
# reads the store a few times, not a thousand times behind the other checks' writes. The
# checks read together also start together (a Gate): handing a thousand tasks to a thousand
# threads takes a moment while the process is quiet, but seconds once logins run (their
# password hashing holds the GIL), and a host that never answers should start its one
# timeout at the start of the sweep, not after the quick checks picked up before it.
GATE = 1.0  # seconds a check waits at most for the checks read with it


class Gate:
    """Lets its checks go once all `count` have arrived, or GATE seconds after it opened."""

    def __init__(self, count: int) -> None:
        self.count, self.arrived = count, 0
        self.until = time.monotonic() + GATE
        self.changed = threading.Condition()

    def arrive(self, wait: bool = True) -> None:
        """Count this check in; with `wait`, wait for the others (GATE at most)."""
        with self.changed:
            self.arrived += 1
            if self.arrived >= self.count:
                self.changed.notify_all()
            while (
                wait and self.arrived < self.count and (left := self.until - time.monotonic()) > 0
            ):
                self.changed.wait(left)


NO_GATE = Gate(0)


_AHEAD: dict[tuple[str, int], tuple[Any, dict[str, Any], int | None, Gate]] = {}
_RUNNING: set[tuple[str, int]] = set()
_AHEAD_LOCK = threading.Lock()


def _leased(source_id: int, owner: str) -> tuple[Any, dict[str, Any], int | None, Gate] | None:
    """(dialect, connection values, interval minutes, gate) of a source `owner` holds the
    health lease of, or None when it does not (any more)."""
    key = (owner, source_id)
    with _AHEAD_LOCK:
        if key not in _AHEAD:
            for entry in [k for k in _AHEAD if k[0] == owner]:
                del _AHEAD[entry]  # read again below with the rest, if still leased
            sources = [
                s
                for s in db.session.scalars(
                    select(Source).where(Source.health_lease_owner == owner)
                )
                if (owner, s.id) not in _RUNNING
            ]
            gate = Gate(len(sources))
            for source in sources:
                dialect = get_dialect(source.dialect)
                _AHEAD[(owner, source.id)] = (
                    dialect,
                    connection_values(source) if dialect is not None else {},
                    source.health_check_interval_minutes,
                    gate,
                )
            db.session.commit()  # give the store connection back while the network is awaited
        found = _AHEAD.pop(key, None)
        if found is None:
            return None
        _RUNNING.add(key)
    return found


# A sweep starts every due check at once (the health pool is large: checks mostly wait), so
# a host that never answers starts its one timeout at the start of the sweep, not after the
# quick checks ahead of it. What keeps that from flooding one server (the sources of one
# cluster share its max_connections and its CPU for logins) is a cap per server: at most
# PER_SERVER checks of one host and port connect at once while the server is answering.
# When none of them has finished for STALL seconds, the server is not working for us (it is
# silent, or very slow): the checks waiting for it go ahead, each costing one timeout, all at
# once rather than PER_SERVER at a time.
PER_SERVER = 16
STALL = 0.5  # seconds


class ServerSlots:
    """The check slots of one server (see PER_SERVER and STALL). One waiter at a time
    watches for a stall (a timed wait); the others sleep until a slot frees or it says so,
    so a thousand waiting checks do not keep waking up."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.busy = 0
        self.progress = time.monotonic()  # the last check that finished, or started free
        self.watched = False
        self.gated = 0  # holders waiting at their gate

    def _stalled(self) -> bool:
        """Full, and no check of it finished for STALL seconds since they began (a check
        waiting at its gate has not begun)."""
        return self.gated == 0 and time.monotonic() - self.progress >= STALL

    @contextlib.contextmanager
    def held(self, gate: Gate = NO_GATE) -> Iterator[None]:
        """Take a slot (or go as the server looks stalled) and hold it during the block; a
        check that got one at once waits at its gate first, one that waits counts in."""
        with self.changed:
            free = self.busy < PER_SERVER or self._stalled()
            if free:
                self.busy += 1
                self.gated += 1
        if free:
            gate.arrive()
            with self.changed:
                self.gated -= 1
                self.progress = max(self.progress, time.monotonic())  # begins now
        else:
            gate.arrive(wait=False)
            self._wait()
        try:
            yield
        finally:
            with self.changed:
                self.busy -= 1
                self.progress = time.monotonic()
                self.changed.notify()

    def _wait(self) -> None:
        with self.changed:
            watcher = False
            while self.busy >= PER_SERVER:
                if self._stalled():  # every waiter goes, woken at once
                    self.changed.notify_all()
                    break
                if not self.watched:
                    self.watched = watcher = True
                if watcher:
                    self.changed.wait(max(STALL - (time.monotonic() - self.progress), 0.02))
                else:
                    self.changed.wait()
            if watcher:
                self.watched = False
                self.changed.notify()  # another waiter takes over the watch
            self.busy += 1


_SLOTS: dict[tuple[str, Any], ServerSlots] = {}
_SLOTS_LOCK = threading.Lock()


@contextlib.contextmanager
def server_slot(values: dict[str, Any], gate: Gate = NO_GATE) -> Iterator[None]:
    """Hold a check slot of the server `values` point at (the SSH host for a tunnel: that is
    whom Datadock connects to); sources without a host (files, vendor APIs) need none."""
    tunnel = bool(values.get("sshEnabled"))
    host = values.get("sshHost") if tunnel else values.get("host")
    if not host:
        gate.arrive()
        yield
        return
    key = (str(host).lower(), values.get("sshPort") if tunnel else values.get("port"))
    with _SLOTS_LOCK:
        slots = _SLOTS.setdefault(key, ServerSlots())
    with slots.held(gate):
        yield


def _check(dialect: Any, values: dict[str, Any], timeout: float) -> tuple[bool, int, str | None]:
    """Connect, one round trip, close: (healthy, milliseconds, what went wrong)."""
    started = time.monotonic()
    try:
        if dialect is None:
            raise ConnectionFailed("fields", "This dialect is not available on this server.")
        opened = open_connection(dialect, values, timeout)
        try:
            dialect.ping(opened.connection)
        finally:
            opened.close()
    except ConnectionFailed as failure:
        return False, _ms(started), failure.detail
    except Exception:
        log.exception("health check query failed")
        return False, _ms(started), CHECK_FAILED
    return True, _ms(started), None


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _record(
    source_id: int,
    owner: str,
    healthy: bool,
    latency_ms: int,
    error: str | None,
    minutes: int | None = None,
) -> None:
    """The check's row, the source's health fields and the lease's release, in one
    transaction, if the lease is still ours. The next check comes after the source's own
    interval (schedules.py), none while it is paused (read in the same UPDATE)."""
    now = utcnow()
    sources = Source.__table__
    fields: dict[str, Any] = {
        "last_health_status": (HealthStatus.HEALTHY if healthy else HealthStatus.UNHEALTHY).value,
        "last_health_check_attempt_at": now,
        "next_health_at": case(
            (sources.c.paused.is_(True), None),
            else_=schedules.next_health_at(minutes, schedules.now()),
        ),
        "health_lease_owner": None,
        "health_lease_until": None,
    }
    if healthy:
        fields["last_healthy_at"] = now
    checks = HealthCheck.__table__  # Core: no ORM work per check
    fields["health_failures"] = 0 if healthy else sources.c.health_failures + 1
    updated = db.session.execute(
        sources.update()
        .where(sources.c.id == source_id, sources.c.health_lease_owner == owner)
        .values(fields)
        .returning(*(sources.c[name] for name in events.HEALTH_COLUMNS))
    ).first()
    if updated is not None:
        db.session.execute(
            checks.insert().values(
                source_id=source_id,
                checked_at=now,
                healthy=healthy,
                latency_ms=latency_ms,
                error_message=error,
            )
        )
        events.after_health_check(source_id, healthy, now, error, updated)  # same transaction
    db.session.commit()


def request_health_check(source: Source) -> None:
    """Make the source's health check due now."""
    source.next_health_at = utcnow()
    db.session.commit()


def prune_health(before: datetime) -> int:
    """Delete health checks older than `before`, in small batches; returns how many."""
    removed = 0
    while True:
        ids = select(HealthCheck.id).where(HealthCheck.checked_at < before).limit(PRUNE_BATCH)
        result = db.session.execute(
            delete(HealthCheck)
            .where(HealthCheck.id.in_(ids.scalar_subquery()))
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        count = rows_changed(result)
        removed += count
        if count < PRUNE_BATCH:
            return removed


def health_history(
    source_id: int, since: datetime | None = None, limit: int = 1000
) -> list[HealthCheck]:
    """The source's checks since `since` (default: a day ago), oldest first, at most `limit`
    (the newest ones when there are more)."""
    since = since or utcnow() - timedelta(days=1)
    newest = (
        select(HealthCheck)
        .where(HealthCheck.source_id == source_id, HealthCheck.checked_at >= since)
        .order_by(HealthCheck.checked_at.desc())
        .limit(limit)
    )
    return sorted(db.session.scalars(newest), key=lambda c: c.checked_at)


# Windows the page offers: how far back, and how many bars.
WINDOWS = {
    "24h": (timedelta(hours=24), 48),
    "7d": (timedelta(days=7), 56),
    "30d": (timedelta(days=30), 60),
}


@dataclass
class Bucket:
    """One bar: the checks that fell in [start, end)."""

    start: datetime
    end: datetime
    checks: int = 0
    healthy: int = 0
    latency_total: int = 0
    latency_max: int = 0

    @property
    def latency_avg(self) -> int | None:
        """Mean latency of the bucket's healthy checks, None without one."""
        return round(self.latency_total / self.healthy) if self.healthy else None

    @property
    def state(self) -> str:
        """ "none", "up", "down" or "partial"."""
        if not self.checks:
            return "none"
        if self.healthy == self.checks:
            return "up"
        return "down" if self.healthy == 0 else "partial"


@dataclass
class Uptime:
    """A window of health history in buckets, with totals."""

    window: str
    start: datetime
    end: datetime
    buckets: list[Bucket] = field(default_factory=list)

    @property
    def checks(self) -> int:
        """Checks in the window."""
        return sum(b.checks for b in self.buckets)

    @property
    def uptime_percent(self) -> float | None:
        """Share of healthy checks, None without checks."""
        healthy = sum(b.healthy for b in self.buckets)
        return round(100.0 * healthy / self.checks, 2) if self.checks else None

    @property
    def latency_avg(self) -> int | None:
        """Mean latency of the window's healthy checks."""
        healthy = sum(b.healthy for b in self.buckets)
        return round(sum(b.latency_total for b in self.buckets) / healthy) if healthy else None

    @property
    def latency_max(self) -> int:
        """Highest latency of a healthy check in the window (0 without one)."""
        return max((b.latency_max for b in self.buckets), default=0)


def uptime(source_id: int, window: str = "24h", now: datetime | None = None) -> Uptime:
    """The window's checks in equal buckets (reads three columns per check, nothing more)."""
    span, count = WINDOWS.get(window, WINDOWS["24h"])
    window = window if window in WINDOWS else "24h"
    end = now or utcnow()
    start = end - span
    step = span / count
    buckets = [Bucket(start + step * i, start + step * (i + 1)) for i in range(count)]
    rows = db.session.execute(
        select(HealthCheck.checked_at, HealthCheck.healthy, HealthCheck.latency_ms).where(
            HealthCheck.source_id == source_id,
            HealthCheck.checked_at >= start,
            HealthCheck.checked_at < end,
        )
    )
    for checked_at, healthy, latency in rows:
        bucket = buckets[min(count - 1, int((checked_at - start) / step))]
        bucket.checks += 1
        if healthy:  # a failed check's time is a timeout or an error, not a latency
            bucket.healthy += 1
            bucket.latency_total += latency or 0
            bucket.latency_max = max(bucket.latency_max, latency or 0)
    return Uptime(window, start, end, buckets)
