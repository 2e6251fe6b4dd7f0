"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL.

`flask db upgrade` then `flask db check` run as an operator would (subprocesses of the real
CLI) on a fresh store: a SQLite file in the instance folder, and a fresh database on the
throwaway PostgreSQL. Alembic compares tables, columns, indexes, constraints, column types and
server defaults (migrations/env.py), so a model changed without its migration fails here.

A second test writes rows that point at `sources` before today's migrations and upgrades:
on SQLite a batch migration rebuilds `sources`, and with foreign keys on that rebuild would
delete every sync run, snapshot and health check through ON DELETE CASCADE.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from tests.integration.jobs_helpers import fresh_database
from webapp import create_app
from webapp.extensions import db

ROOT = Path(__file__).resolve().parents[2]
CLEAN = "No new upgrade operations detected"
BEFORE_TODAY = "5b1c0e2a9d41"  # the head of main before the session and name-key changes


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """A fresh, empty store: a SQLite file, or a new database on the throwaway PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'instance' / 'datadock.sqlite3'}"
    pg = request.getfixturevalue("pg")
    name = fresh_database(pg, "migcheck")
    return f"postgresql://{pg.user}:{pg.password}@{pg.host}:{pg.port}/{name}"


def _flask_db(*args: str, url: str, instance: Path) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("DATADOCK_") and k not in ("DATABASE_URL", "SECRET_KEY")
    }
    env.update(
        {
            "DATABASE_URL": url,
            "DATADOCK_INSTANCE_PATH": str(instance),
            "SECRET_KEY": "migrations-check-secret-key-0123456789",
            "DATADOCK_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "DATADOCK_SCHEDULER": "off",
            "DATADOCK_LOG_FORMAT": "text",
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "webapp", "db", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_fresh_store_migrated_to_head_matches_the_models(store_url, tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    migrated = _flask_db("upgrade", url=store_url, instance=instance)
    assert migrated.returncode == 0, migrated.stderr[-4000:]

    checked = _flask_db("check", url=store_url, instance=instance)
    output = checked.stdout + checked.stderr
    assert checked.returncode == 0, output[-4000:]
    assert CLEAN in output


SOURCE = (
    "INSERT INTO sources (id, organization_id, display_name, dialect, host, port,"
    " database_name, username, ssl_enabled, settings, is_demo, created_at, updated_at,"
    " last_sync_status, has_completed_first_sync, sync_failures)"
    " VALUES (:id, 1, :name, 'POSTGRES', 'db.invalid', 5432, 'app', 'reader', :no, '{}',"
    " :no, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'SUCCESS', :yes, 0)"
)
CHILDREN = [
    "INSERT INTO schema_snapshots (id, source_id, created_at, table_count, column_count,"
    " complete) VALUES (1, 1, CURRENT_TIMESTAMP, 1, 1, :yes)",
    "INSERT INTO schema_tables (snapshot_id, schema_name, name, kind, columns)"
    " VALUES (1, 'public', 'orders', 'TABLE', '[]')",
    "INSERT INTO sync_runs (source_id, started_at, status, trigger, table_count, column_count,"
    " change_count) VALUES (1, CURRENT_TIMESTAMP, 'SUCCESS', 'MANUAL', 1, 1, 0)",
    "INSERT INTO health_checks (source_id, checked_at, healthy) VALUES (1, CURRENT_TIMESTAMP,"
    " :yes)",
]
COUNTED = ("sources", "schema_snapshots", "schema_tables", "sync_runs", "health_checks")


def _counts() -> dict[str, int]:
    """Rows per table; ends the read so no lock keeps the next migration waiting."""
    counts = {t: db.session.scalar(text(f"SELECT count(*) FROM {t}")) for t in COUNTED}
    db.session.commit()
    return counts


def test_rows_pointing_at_sources_survive_the_migrations(store_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATADOCK_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    url = store_url.replace("postgresql://", "postgresql+psycopg://", 1)
    application = create_app(
        {"TESTING": True, "SCHEDULER_ENABLED": False, "SQLALCHEMY_DATABASE_URI": url}
    )
    flags = {"no": False, "yes": True}
    with application.app_context():
        upgrade(revision=BEFORE_TODAY)
        db.session.execute(
            text(
                "INSERT INTO organizations (id, name, created_at)"
                " VALUES (1, 'Acme', CURRENT_TIMESTAMP)"
            )
        )
        db.session.execute(text(SOURCE), {"id": 1, "name": "Warehouse", **flags})
        for statement in CHILDREN:
            db.session.execute(text(statement), flags)
        db.session.commit()
        before = _counts()
        assert before == dict.fromkeys(COUNTED, 1)

        upgrade()
        assert _counts() == before
        downgrade(revision="-1")  # the newest migration steps back and forth without loss
        upgrade()
        assert _counts() == before
        if db.engine.dialect.name == "sqlite":  # foreign keys are back on for the app
            assert db.session.scalar(text("PRAGMA foreign_keys")) == 1
            assert db.session.execute(text("PRAGMA foreign_key_check")).all() == []
        db.session.remove()
        db.engine.dispose()
