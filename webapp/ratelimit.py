"""Fixed-window rate limits counted in the store (ThrottleCounter), so they hold across processes.

`hit(scope, key, limit, window_seconds)` counts one event of `key` in `scope` ("api", "login",
…) and says whether it is within `limit` per window. The count is one atomic upsert
(INSERT … ON CONFLICT DO UPDATE … RETURNING) on its own connection, in autocommit: the statement
is its own transaction, so a hit is one round trip to the store (no BEGIN, no COMMIT), two
processes sharing a PostgreSQL store never both take the last slot, and the caller's session is
left alone. (Counting in memory per process and flushing in batches would save that round trip
but let N processes allow up to N times the limit between flushes; the exact count is kept.)
"""

from __future__ import annotations

import functools
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.expression import Executable

from .extensions import db
from .models import ThrottleCounter

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(
    r"^\s*(\d{1,9})\s*/\s*(?:(\d{1,6})\s*)?(second|minute|hour|day)s?\s*$", re.IGNORECASE
)


@dataclass(frozen=True)
class Decision:
    """The outcome of one hit: allowed or not, what is left, when the window ends."""

    allowed: bool
    limit: int
    remaining: int
    # Milliseconds until the current window ends (when a refused caller may try again).
    retry_after_ms: int

    @property
    def retry_after_seconds(self) -> int:
        """`retry_after_ms` rounded up to whole seconds, for a Retry-After header."""
        return max(1, math.ceil(self.retry_after_ms / 1000))


def parse_rate(text: str) -> tuple[int, int]:
    """ "120/minute", "10/second", "1000/hour", "5000/day", "30/5 minutes" → (limit, seconds).

    Raises ValueError with a message that shows the accepted form.
    """
    match = _RATE.match(text or "")
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"{text!r} is not a rate: use e.g. 120/minute, 10/second, 1000/hour")
    count = int(match.group(2) or 1)
    if count < 1:
        raise ValueError(f"{text!r}: the window must be at least 1 {match.group(3).lower()}")
    return int(match.group(1)), count * _UNITS[match.group(3).lower()]


def _window_start(now: float, window_seconds: int) -> datetime:
    start = math.floor(now / window_seconds) * window_seconds
    return datetime.fromtimestamp(start, UTC).replace(tzinfo=None)


@functools.cache
def _upsert(dialect_name: str) -> Executable:
    """The counting statement for the store's dialect, built once (building and hashing a Core
    statement costs more than running it): scope, key, window_start as bound parameters."""
    table = ThrottleCounter.__table__
    insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    values = insert(table).values(
        scope=bindparam("scope"),
        key=bindparam("key"),
        window_start=bindparam("window_start"),
        count=1,
    )
    return values.on_conflict_do_update(
        index_elements=[table.c.scope, table.c.key, table.c.window_start],
        set_={"count": table.c.count + 1},
    ).returning(table.c.count)


def hit(
    scope: str, key: str, limit: int, window_seconds: int, now: float | None = None
) -> Decision:
    """Count one event of `key` in `scope`; allowed while the window's count is <= `limit`."""
    if limit < 1 or window_seconds < 1:
        raise ValueError("limit and window_seconds must be positive")
    now = time.time() if now is None else now
    start = _window_start(now, window_seconds)
    table = ThrottleCounter.__table__
    engine = db.engine
    params = {"scope": scope, "key": key[:255], "window_start": start}
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        count = int(connection.execute(_upsert(engine.dialect.name), params).scalar_one())
        if count == 1:
            # A new window began for this key: its older windows are of no further use.
            connection.execute(
                delete(table).where(
                    table.c.scope == scope, table.c.key == key[:255], table.c.window_start < start
                )
            )
    window_end = start.replace(tzinfo=UTC).timestamp() + window_seconds
    retry_ms = max(1, math.ceil((window_end - now) * 1000))
    return Decision(
        allowed=count <= limit,
        limit=limit,
        remaining=max(0, limit - count),
        retry_after_ms=retry_ms,
    )


def purge(before: datetime) -> int:
    """Delete counters of windows that started before `before` (naive UTC); returns how many."""
    with db.engine.begin() as connection:
        result = connection.execute(
            delete(ThrottleCounter.__table__).where(
                ThrottleCounter.__table__.c.window_start < before
            )
        )
    return int(result.rowcount or 0)


# Config keys of the configured rates; any other limit in the code (the webhook's 30/minute)
# has a window of at most this many seconds. A new limit with a longer window must be one of
# the configured rates, or the scheduled purge would cut its windows short.
RATE_KEYS = ("API_RATE_LIMIT", "LOGIN_RATE_LIMIT", "LOGIN_ADDRESS_RATE_LIMIT")
LONGEST_FIXED_WINDOW = 3600


def purge_spent(config: Mapping[str, Any], now: datetime) -> int:
    """Delete the counters of windows that ended (run on a schedule by jobs/scheduler.py).

    A window that started more than the longest window ago has ended whatever its scope, so
    the counters of addresses and keys that never came back go; `hit` already drops a key's
    older windows when it comes back."""
    longest = max([LONGEST_FIXED_WINDOW] + [int(config[k][1]) for k in RATE_KEYS if k in config])
    return purge(now - timedelta(seconds=longest))
