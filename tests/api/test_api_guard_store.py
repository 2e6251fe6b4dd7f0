"""What the API guard asks the store per request: the key, its creator's role and its
organization in one query, and the rate-limit count in one statement (autocommit); the
operation then finds the organization without a query. A revoked key or a creator's lost role
counts at once (no cache)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import event

from tests.api.conftest import Api
from tests.api.test_api_postgres import body
from webapp.extensions import db
from webapp.models import ApiKey, Membership, User


@pytest.fixture
def statements(app) -> Iterator[list[str]]:
    """The SQL the test's own thread sends to the store (the background audit insert is
    another thread's)."""
    seen: list[str] = []
    me = threading.get_ident()

    def note(_conn, _cursor, statement, *_args) -> None:
        if threading.get_ident() == me:
            seen.append(" ".join(statement.split())[:60])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    yield seen
    event.remove(engine, "before_cursor_execute", note)


def test_an_api_verify_reads_the_key_once_and_counts_in_one_statement(
    api: Api, pg, statements: list[str]
):
    assert api.post("/verify", json=body(pg)).status_code == 200  # notes last_used_at
    statements.clear()
    response = api.post("/verify", json=body(pg))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["X-RateLimit-Remaining"] == str(
        int(response.headers["X-RateLimit-Limit"]) - 2
    )
    assert len(statements) == 2, statements
    assert statements[0].startswith("SELECT api_keys.id")
    assert statements[1].startswith("INSERT INTO throttle_counters")


def test_a_creators_lost_role_narrows_or_ends_the_key_at_once(app, api: Api):
    with app.app_context():
        key = db.session.scalar(db.select(ApiKey).filter_by(organization_id=api.org_id))
        admin_id = db.session.scalar(db.select(User.id))
        key.created_by_id = admin_id
        db.session.commit()
    assert api.get().status_code == 200
    with app.app_context():
        member = db.session.scalar(db.select(Membership).filter_by(user_id=admin_id))
        member.role = "viewer"
        db.session.commit()
    assert api.get().status_code == 200  # read scope: listing still allowed
    narrowed = api.post(json={})
    assert narrowed.status_code == 403, narrowed.get_data(as_text=True)
    assert "scope is read" in narrowed.get_json()["error"]["detail"]
    with app.app_context():
        db.session.delete(db.session.scalar(db.select(Membership).filter_by(user_id=admin_id)))
        db.session.commit()
    assert api.get().status_code == 401
