"""The fixed-window limiter: windows, what is left, when to retry, and exact limits across
processes sharing a PostgreSQL store."""

from __future__ import annotations

import multiprocessing
import os
import secrets

import psycopg
import pytest
from flask_migrate import upgrade

from webapp import create_app, ratelimit
from webapp.config import ConfigError, load_config
from webapp.extensions import db
from webapp.models import ThrottleCounter

START = 1_700_000_040.0  # a multiple of 60: a minute window starts here


def test_rates_are_parsed_or_refused_clearly(tmp_path, monkeypatch):
    assert ratelimit.parse_rate("120/minute") == (120, 60)
    assert ratelimit.parse_rate("10 / second") == (10, 1)
    assert ratelimit.parse_rate("1000/hours") == (1000, 3600)
    assert ratelimit.parse_rate("30/5 minutes") == (30, 300)
    for bad in ("", "fast", "0/minute", "10/fortnight", "-1/second", "10/0 seconds"):
        with pytest.raises(ValueError):
            ratelimit.parse_rate(bad)
    monkeypatch.setenv("DATADOCK_API_RATE_LIMIT", "lots")
    with pytest.raises(ConfigError, match="DATADOCK_API_RATE_LIMIT"):
        load_config(str(tmp_path))
    monkeypatch.setenv("DATADOCK_API_RATE_LIMIT", "5/second")
    assert load_config(str(tmp_path))["API_RATE_LIMIT"] == (5, 1)


def test_a_window_allows_the_limit_then_refuses_until_it_ends(app):
    with app.app_context():
        seen = [ratelimit.hit("test", "k", 3, 60, now=START + 10 + n) for n in range(4)]
        assert [d.allowed for d in seen] == [True, True, True, False]
        assert [d.remaining for d in seen] == [2, 1, 0, 0]
        assert seen[3].retry_after_ms == 47_000 and seen[3].retry_after_seconds == 47
        other = ratelimit.hit("test", "other", 3, 60, now=START + 20)
        assert other.allowed and other.remaining == 2  # keys count apart
        login = ratelimit.hit("login", "k", 3, 60, now=START + 20)
        assert login.allowed and login.remaining == 2  # and scopes too
        fresh = ratelimit.hit("test", "k", 3, 60, now=START + 60.5)
        assert fresh.allowed and fresh.remaining == 2 and fresh.retry_after_ms == 59_500
        # The new window replaced the old one's row for that key.
        rows = db.session.scalars(db.select(ThrottleCounter).filter_by(scope="test", key="k"))
        assert [r.count for r in rows] == [1]


def test_purge_drops_old_windows(app):
    with app.app_context():
        ratelimit.hit("test", "a", 5, 60, now=START)
        ratelimit.hit("test", "b", 5, 60, now=START + 3600)
        from datetime import UTC, datetime

        cutoff = datetime.fromtimestamp(START + 1800, UTC).replace(tzinfo=None)
        assert ratelimit.purge(cutoff) == 1
        assert [r.key for r in db.session.scalars(db.select(ThrottleCounter))] == ["b"]


def _hammer(env: dict[str, str], hits: int, queue) -> None:
    """In a separate process: an app on the shared store, `hits` hits of one key."""
    os.environ.update(env)
    app = create_app({"SCHEDULER_ENABLED": False})
    allowed = 0
    with app.app_context():
        for _ in range(hits):
            allowed += ratelimit.hit("api", "key:shared", 50, 3600).allowed
        db.engine.dispose()
    queue.put(allowed)


def test_processes_sharing_a_postgresql_store_never_exceed_the_limit(pg, tmp_path):
    name = "store_" + secrets.token_hex(4)
    with psycopg.connect(pg.superuser_dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = (
        f"postgresql://{pg.superuser}:{pg.superpassword}@{pg.host}:{pg.port}/{name}?sslmode=disable"
    )
    env = {
        "DATABASE_URL": url,
        "DATADOCK_INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "shared secret key for the test processes",
        "DATADOCK_ENCRYPTION_KEYS": "A" * 43 + "=",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        app = create_app({"SCHEDULER_ENABLED": False})
        with app.app_context():
            upgrade()
            db.engine.dispose()
        spawn = multiprocessing.get_context("spawn")
        queue = spawn.Queue()
        workers = [spawn.Process(target=_hammer, args=(env, 30, queue)) for _ in range(4)]
        for worker in workers:
            worker.start()
        allowed = [queue.get(timeout=120) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
            assert worker.exitcode == 0
        assert sum(allowed) == 50  # 120 hits from 4 processes, exactly the limit let through
        with app.app_context():
            counter = db.session.scalar(db.select(ThrottleCounter).filter_by(key="key:shared"))
            assert counter.count == 120
            db.engine.dispose()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        with psycopg.connect(pg.superuser_dsn(), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
