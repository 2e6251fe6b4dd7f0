"""Flask extensions, created unbound and initialised in create_app."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

import orjson
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import Table, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase


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
    """WAL and a busy timeout, so jobs and requests don't fail with "database is locked"."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
