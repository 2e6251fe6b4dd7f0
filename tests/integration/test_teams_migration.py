"""Migration a1b2c3d4e5f6 on SQLite and PostgreSQL: today's `member` becomes `editor`, existing
API keys become `admin` keys (so scripts keep working), and the step back restores `member`."""

from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from tests.integration.jobs_helpers import fresh_database
from webapp import create_app
from webapp.extensions import db

BEFORE = "9f4a5b6c7d84"
TEAMS = "a1b2c3d4e5f6"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'teams.sqlite3'}"
    pg = request.getfixturevalue("pg")
    name = fresh_database(pg, "teams")
    return f"postgresql+psycopg://{pg.user}:{pg.password}@{pg.host}:{pg.port}/{name}"


def test_members_become_editors_and_keys_become_admin_keys(store_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATADOCK_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app(
        {"TESTING": True, "SCHEDULER_ENABLED": False, "SQLALCHEMY_DATABASE_URI": store_url}
    )
    with app.app_context():
        upgrade(revision=BEFORE)
        for sql in (
            "INSERT INTO organizations (id, name, created_at) VALUES (1, 'Acme', "
            "CURRENT_TIMESTAMP)",
            "INSERT INTO users (id, email, password_hash, created_at, session_generation) "
            "VALUES (1, 'a@corp.local', 'x', CURRENT_TIMESTAMP, 'g1'), "
            "(2, 'm@corp.local', 'x', CURRENT_TIMESTAMP, 'g2')",
            "INSERT INTO memberships (id, user_id, organization_id, role) VALUES "
            "(1, 1, 1, 'admin'), (2, 2, 1, 'member')",
            "INSERT INTO api_keys (id, organization_id, created_by_id, name, prefix, key_hash, "
            "created_at) VALUES (1, 1, 1, 'script', 'ddk_abcdefgh', 'h1', CURRENT_TIMESTAMP)",
        ):
            db.session.execute(text(sql))
        db.session.commit()
        upgrade(revision=TEAMS)
        roles = dict(db.session.execute(text("SELECT user_id, role FROM memberships")).all())
        assert roles == {1: "admin", 2: "editor"}
        assert db.session.scalar(text("SELECT scope FROM api_keys")) == "admin"
        assert db.session.scalar(text("SELECT expires_at FROM api_keys")) is None
        assert db.session.scalar(text("SELECT count(*) FROM invitations")) == 0
        db.session.commit()
        downgrade(revision=BEFORE)
        roles = dict(db.session.execute(text("SELECT user_id, role FROM memberships")).all())
        assert roles == {1: "admin", 2: "member"}
        db.session.commit()
        upgrade()
        db.session.remove()
        db.engine.dispose()
