"""The scheduler's prune job purges spent rate-limit counters on its own (every
DATADOCK_PRUNE_INTERVAL), keeping the counters of windows still running."""

from __future__ import annotations

import time
from datetime import timedelta

from webapp import ratelimit
from webapp.extensions import db
from webapp.jobs import scheduler
from webapp.models import ThrottleCounter, utcnow


def _keys() -> set[tuple[str, str]]:
    db.session.rollback()
    return {(r.scope, r.key) for r in db.session.scalars(db.select(ThrottleCounter))}


def test_the_scheduler_purges_spent_counters(app):
    day = 86400
    app.config.update(
        PRUNE_INTERVAL=0.3, SCHEDULER_TICK_SECONDS=60, HEALTH_INTERVAL=0, LOGIN_RATE_LIMIT=(10, day)
    )  # the longest window: kept a day
    now = time.time()
    with app.app_context():
        # Addresses that came once and never again, long ago, and callers active now.
        ratelimit.hit("login-address", "192.0.2.1", 50, 900, now=now - 2 * day)
        ratelimit.hit("api", "203.0.113.9", 120, 60, now=now - day - 120)
        # Windows are fixed (a day's starts at 00:00 UTC): a hit halfway into today's window.
        today = now - now % day
        ratelimit.hit("login-account", "old@example.com", 10, day, now=today + (now - today) / 2)
        ratelimit.hit("api", "198.51.100.7", 120, 60, now=now)
        assert len(_keys()) == 4
        scheduler.start(app)
        deadline = time.monotonic() + 30
        while len(_keys()) > 2:
            assert time.monotonic() < deadline, f"not purged: {_keys()}"
            time.sleep(0.1)
        # The day-long window that began at 00:00 UTC today is still counting.
        assert _keys() == {("login-account", "old@example.com"), ("api", "198.51.100.7")}


def test_purge_spent_keeps_every_window_that_may_still_run(app):
    """Without configured windows longer than an hour, an hour is kept (the webhook's limit,
    30/minute, is written in the code)."""
    app.config.update(
        API_RATE_LIMIT=(120, 60), LOGIN_RATE_LIMIT=(10, 900), LOGIN_ADDRESS_RATE_LIMIT=(50, 900)
    )
    now = time.time()
    with app.app_context():
        ratelimit.hit("webhook", "1", 30, 60, now=now - 1800)
        ratelimit.hit("webhook", "2", 30, 60, now=now - 7200)
        assert ratelimit.purge_spent(app.config, utcnow()) == 1
        assert _keys() == {("webhook", "1")}
        assert ratelimit.purge_spent(app.config, utcnow() + timedelta(hours=2)) == 1
