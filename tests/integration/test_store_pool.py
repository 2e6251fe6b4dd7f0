"""The PostgreSQL store's pool (extensions.StorePool): a connection that sat idle is pinged at
checkout and replaced when its server side is gone; one back from use moments ago is handed
out without that round trip (the documented trade-off: a request then fails once, and the
pool drops its older connections)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from tests.polling import wait_until
from webapp import extensions
from webapp.config import _engine_options


@pytest.fixture
def store_engine(pg) -> Iterator[Engine]:
    """An engine with the options a PostgreSQL store gets (config._engine_options)."""
    url = f"postgresql+psycopg://{pg.user}:{pg.password}@{pg.host}:{pg.port}/{pg.database}"
    options = _engine_options("postgresql://")
    assert options["poolclass"] is extensions.StorePool and "pool_pre_ping" not in options
    engine = create_engine(url, **options)
    yield engine
    engine.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(pg, pid: int) -> None:
    """End the store's server process behind one pooled connection (as a restart would)."""
    with psycopg.connect(pg.superuser_dsn(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        wait_until(
            lambda: (
                not admin.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)
                ).fetchone()
            ),
            what=f"backend {pid} to end",
        )


def test_an_idle_connection_is_pinged_and_a_dead_one_replaced(pg, store_engine, monkeypatch):
    first = _backend_pid(store_engine)
    _terminate(pg, first)
    monkeypatch.setattr(extensions, "PING_AFTER_IDLE_SECONDS", 0.0)  # it has sat idle long
    again = _backend_pid(store_engine)  # the ping failed: a new connection, no error
    assert again != first
    assert _backend_pid(store_engine) == again  # the warm one is reused (last in, first out)


def test_a_connection_used_moments_ago_is_not_pinged(pg, store_engine, monkeypatch):
    monkeypatch.setattr(extensions, "PING_AFTER_IDLE_SECONDS", 3600.0)
    first = _backend_pid(store_engine)
    _terminate(pg, first)
    with pytest.raises(OperationalError):  # no ping: the first use finds it dead
        _backend_pid(store_engine)
    assert _backend_pid(store_engine) != first  # and the pool reconnects for the next one
