"""On a PostgreSQL store, two admins demoting each other at the same moment leave one admin:
the last-admin count locks the admins' rows until the change commits."""

from __future__ import annotations

import threading

from flask_migrate import upgrade
from sqlalchemy import select

from tests.integration.jobs_helpers import fresh_database
from webapp import create_app
from webapp.accounts import create_admin
from webapp.core.refusal import Refusal
from webapp.extensions import db
from webapp.members import members
from webapp.models import Membership, Role


def test_two_admins_demoting_each_other_at_once_leave_one_admin(pg, tmp_path, monkeypatch):
    monkeypatch.setenv("DATADOCK_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    name = fresh_database(pg, "members")
    app = create_app(
        {
            "TESTING": True,
            "SCHEDULER_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://{pg.user}:{pg.password}@{pg.host}:{pg.port}/{name}",
        }
    )
    with app.app_context():
        upgrade()
        ids = [
            create_admin("Acme", f"{who}@corp.local", "a long admin password").id
            for who in ("ana", "bob")
        ]
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def demote(user_id: int) -> None:
        with app.app_context():
            row = db.session.scalar(select(Membership).where(Membership.user_id == user_id))
            start.wait(timeout=30)
            try:
                members.change_role(row, Role.EDITOR.value)
                outcomes.append("changed")
            except Refusal:
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=demote, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["changed", "refused"]
    with app.app_context():
        roles = db.session.scalars(select(Membership.role)).all()
        assert sorted(roles) == ["admin", "editor"]
        db.session.remove()
        db.engine.dispose()
