"""Migration e5f6a7b8c9d0 on SQLite and PostgreSQL: every existing source gets its own public
UUID (required and unique afterwards, the rows' children kept), and the step back drops it."""

from __future__ import annotations

import uuid

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.integration.jobs_helpers import fresh_database
from webapp import create_app
from webapp.extensions import db

BEFORE = "d4e5f6a7b8c9"
PUBLIC_IDS = "e5f6a7b8c9d0"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ids.sqlite3'}"
    pg = request.getfixturevalue("pg")
    name = fresh_database(pg, "publicids")
    return f"postgresql+psycopg://{pg.user}:{pg.password}@{pg.host}:{pg.port}/{name}"


def test_existing_sources_get_distinct_public_ids(store_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATADOCK_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app(
        {"TESTING": True, "SCHEDULER_ENABLED": False, "SQLALCHEMY_DATABASE_URI": store_url}
    )
    with app.app_context():
        upgrade(revision=BEFORE)
        db.session.execute(
            text(
                "INSERT INTO organizations (id, name, created_at) VALUES "
                "(1, 'Acme', CURRENT_TIMESTAMP)"
            )
        )
        for n in (1, 2, 3):
            db.session.execute(
                text(
                    "INSERT INTO sources (id, organization_id, display_name, name_key, dialect, "
                    "ssl_enabled, settings, is_demo, created_at, updated_at, last_sync_status, "
                    "has_completed_first_sync, sync_failures, mutating_queries_enabled) VALUES "
                    f"({n}, 1, 'S{n}', 's{n}', 'POSTGRES', true, '{{}}', false, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'NEVER_SYNCED', false, 0, false)"
                )
            )
        db.session.execute(
            text(
                "INSERT INTO sync_runs (id, source_id, started_at, status, "
                "trigger, table_count, column_count, change_count) VALUES "
                "(1, 1, CURRENT_TIMESTAMP, 'SUCCESS', 'create', 0, 0, 0)"
            )
        )
        db.session.commit()
        upgrade(revision=PUBLIC_IDS)
        ids = [
            row[0] for row in db.session.execute(text("SELECT public_id FROM sources ORDER BY id"))
        ]
        assert len(set(ids)) == 3 and all(str(uuid.UUID(i)) == i for i in ids)
        assert db.session.scalar(text("SELECT count(*) FROM sync_runs")) == 1
        with pytest.raises(IntegrityError):
            db.session.execute(text(f"UPDATE sources SET public_id = '{ids[0]}' WHERE id = 2"))
        db.session.rollback()
        downgrade(revision=BEFORE)
        assert db.session.scalar(text("SELECT count(*) FROM sources")) == 3
        db.session.commit()
        upgrade()
        db.session.remove()
        db.engine.dispose()
