"""Migration 7d2e3f4a5b62 on SQLite and on a real throwaway PostgreSQL: rows written before it
get their name keys, names that now collide are renamed (the oldest keeps its name), the
unique index then refuses look-alikes, and the downgrade puts the old constraint back."""

from __future__ import annotations

import unicodedata

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from webapp import create_app
from webapp.extensions import db
from webapp.models import Source

BEFORE = "6c1d2e3f4a51"
NFC = unicodedata.normalize("NFC", "Café")
NFD = unicodedata.normalize("NFD", "Café")
ROW = (
    "INSERT INTO sources (organization_id, display_name, dialect, host, port, database_name,"
    " username, ssl_enabled, settings, is_demo, created_at, updated_at, last_sync_status,"
    " has_completed_first_sync, sync_failures, mutating_queries_enabled)"
    " VALUES (:org, :name, 'POSTGRES', 'db.invalid', 5432, 'app', 'reader', :no, '{}', :no,"
    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'NEVER_SYNCED', :no, 0, :no)"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrate.sqlite3'}"
    from tests.integration.jobs_helpers import fresh_database

    pg = request.getfixturevalue("pg")
    name = fresh_database(pg, "namekeys")
    return f"postgresql+psycopg://{pg.user}:{pg.password}@{pg.host}:{pg.port}/{name}"


def _org(name: str) -> int:
    db.session.execute(
        text("INSERT INTO organizations (name, created_at) VALUES (:n, CURRENT_TIMESTAMP)"),
        {"n": name},
    )
    return db.session.scalar(text("SELECT id FROM organizations WHERE name = :n"), {"n": name})


def _rows() -> list[tuple[int, str, str]]:
    return [
        tuple(r)
        for r in db.session.execute(
            text("SELECT organization_id, display_name, name_key FROM sources ORDER BY id")
        )
    ]


def test_existing_rows_get_keys_and_look_alikes_are_renamed(store_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATADOCK_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    application = create_app(
        {"TESTING": True, "SCHEDULER_ENABLED": False, "SQLALCHEMY_DATABASE_URI": store_url}
    )
    with application.app_context():
        upgrade(revision=BEFORE)
        acme, globex = _org("Acme"), _org("Globex")
        for org, name in (
            (acme, NFC),
            (acme, "Dup"),
            (acme, NFD),
            (acme, "Ｄup"),
            (acme, "Dup (2)"),
            (acme, "Warehouse"),
            (globex, "dup"),
        ):
            db.session.execute(text(ROW), {"org": org, "name": name, "no": False})
        db.session.commit()

        upgrade()
        assert _rows() == [
            (acme, NFC, "café"),
            (acme, "Dup", "dup"),
            (acme, f"{NFD} (2)", "café (2)"),
            (acme, "Ｄup (3)", "dup (3)"),  # "Dup (2)" already stood for itself
            (acme, "Dup (2)", "dup (2)"),
            (acme, "Warehouse", "warehouse"),
            (globex, "dup", "dup"),  # another organization: no clash
        ]
        db.session.add(
            Source(
                organization_id=acme,
                display_name="ＷＡＲＥＨＯＵＳＥ",
                dialect="POSTGRES",
                settings={},
            )
        )
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()

        downgrade(revision=BEFORE)
        columns = {c["name"] for c in db.inspect(db.engine).get_columns("sources")}
        assert "name_key" not in columns
        with pytest.raises(IntegrityError):  # the exact-name constraint is back
            db.session.execute(text(ROW), {"org": globex, "name": "dup", "no": False})
        db.session.rollback()
        upgrade()
        assert len(_rows()) == 7
        db.session.remove()
        db.engine.dispose()
