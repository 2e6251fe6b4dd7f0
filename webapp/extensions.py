"""Flask extensions, created unbound and initialised in create_app."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, ClassVar

import orjson
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import Table, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import QueuePool


def json_text(value: Any) -> str:
    """The store's JSON serializer: orjson (schema snapshots are megabytes of JSON), compact;
    the standard library for what orjson refuses (integers beyond 64 bits)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"))


def rows_changed(result: Any) -> int:
    """How many rows an UPDATE or DELETE changed (`Session.execute` is typed as returning a
    plain Result, which has no rowcount; for DML it is a CursorResult, which does)."""
    return int(getattr(result, "rowcount", 0) or 0)


class Base(DeclarativeBase):
    """Declarative base shared by every model."""

    if TYPE_CHECKING:  # every model here is mapped to a Table (for insert/update/delete)
        __table__: ClassVar[Table]


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL and a busy timeout, so jobs and requests don't fail with "database is locked".

    With WAL, synchronous=NORMAL (SQLite's advice for WAL; Rails' default too) fsyncs at
    checkpoints instead of at every commit: the store cannot be corrupted, a crash of Datadock
    loses nothing, and only a power cut or OS crash can lose the last commits."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


# A pooled store connection back from use less than this many seconds ago is handed out
# without a ping; one that sat idle longer is pinged first (see StorePool).
PING_AFTER_IDLE_SECONDS = 5.0


class StorePool(QueuePool):
    """The PostgreSQL store's pool: last in, first out (the connections in use stay the
    warm few), and a connection is pinged at checkout only when it sat idle for
    PING_AFTER_IDLE_SECONDS or more, instead of `pool_pre_ping`'s round trip on every checkout
    (three a verify: the request's session, the rate-limit count, the audit insert).

    A connection that fails its ping is replaced before anyone uses it. The trade-off: when
    the store restarts, a connection used in the seconds before is handed out unpinged, so a
    request in flight then fails once; SQLAlchemy then drops every older connection of the
    pool (a disconnect invalidates the pool), so the next requests reconnect."""


@event.listens_for(StorePool, "checkin")
def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["datadock_checked_in"] = time.monotonic()


@event.listens_for(StorePool, "checkout")
def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Ping (in autocommit: no BEGIN) a connection idle for PING_AFTER_IDLE_SECONDS; a new
    connection (no check-in yet) has just answered its login."""
    checked_in = record.info.get("datadock_checked_in")
    if checked_in is None or time.monotonic() - checked_in < PING_AFTER_IDLE_SECONDS:
        return
    try:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        dbapi_connection.execute("SELECT 1")
        dbapi_connection.autocommit = autocommit
    except Exception as exc:  # any failure: the pool replaces the connection
        raise DisconnectionError("the store connection did not answer its ping") from exc
