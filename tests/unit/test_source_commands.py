"""Source commands (webapp/sources/commands.py, webhook_tokens.py) are one transaction each,
their audit event inside it: one commit of the request's session, or nothing at all.

Real parts: a SQLite source file in the data folder (verified for real) and the app's SQLite
store; the "concurrent writer" is a second connection to that store."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from webapp import sources as uc
from webapp.accounts import create_admin
from webapp.extensions import db
from webapp.models import AuditEvent, Organization, Source, SyncRun

RAW = {"displayName": "Shop", "dialect": "SQLITE", "databaseName": "shop.sqlite"}


@pytest.fixture
def org(app) -> Iterator[Organization]:
    with app.app_context():
        create_admin("Acme", "admin@example.com", "a long admin password")
        connection = sqlite3.connect(Path(app.config["DATA_DIR"]) / "shop.sqlite")
        connection.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER)")
        connection.commit()
        connection.close()
        yield db.session.scalar(select(Organization))


@contextmanager
def commits() -> Iterator[list[int]]:
    """Counts the commits of this thread's session while the block runs."""
    session = db.session()
    seen: list[int] = []

    def count(committed) -> None:
        if committed is session:
            seen.append(1)

    event.listen(session, "after_commit", count)
    try:
        yield seen
    finally:
        event.remove(session, "after_commit", count)


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_create_and_update_store_the_source_its_event_and_its_sync_in_one_commit(org):
    with commits() as seen:
        source = uc.create_source(org, RAW)
    assert len(seen) == 1
    assert actions() == ["source.created"]
    assert [(r.trigger, r.status) for r in uc.sync_history(source)[0]] == [("create", "QUEUED")]
    assert source.last_sync_status == "PENDING" and org.trial_started_at is not None

    with commits() as seen:
        uc.update_source(source, {"description": "The shop"})
    assert len(seen) == 1 and actions()[-1] == "source.updated"

    with commits() as seen:
        uc.request_sync(source)
    assert len(seen) == 1 and actions()[-1] == "source.sync_requested"


def test_a_webhook_token_change_and_its_event_are_one_commit(org):
    source = uc.create_source(org, RAW)
    with commits() as seen:
        token = uc.create_webhook_token(source)
    assert len(seen) == 1 and actions()[-1] == "source.webhook_created"
    assert uc.webhook_sync(source.id, token)[0].id == source.id
    with commits() as seen:
        uc.revoke_webhook_token(source)
    assert len(seen) == 1 and actions()[-1] == "source.webhook_revoked"
    with pytest.raises(uc.Refusal) as caught:
        uc.webhook_sync(source.id, token)
    assert (caught.value.status, caught.value.title) == (401, "Unauthorized")

    with commits() as seen:
        uc.delete_source(source)
    assert len(seen) == 1 and actions()[-1] == "source.deleted"


def test_a_command_refused_halfway_leaves_nothing_behind(org):
    """Another process takes the name after the name check: the insert is refused by the
    store's unique key, and the source, its audit event and its first sync all go."""

    def rival(session, _context, _instances) -> None:
        if not any(isinstance(o, Source) for o in session.new):
            return
        with db.engine.begin() as other:  # a second connection: another process's write
            other.execute(
                Source.__table__.insert().values(
                    organization_id=org.id,
                    display_name="SHOP",
                    name_key="shop",
                    dialect="SQLITE",
                    database_name="elsewhere.sqlite",
                    settings={},
                )
            )

    event.listen(db.session(), "before_flush", rival)
    try:
        with pytest.raises(uc.DuplicateName) as caught:
            uc.create_source(org, RAW)
    finally:
        event.remove(db.session(), "before_flush", rival)
    assert caught.value.field_errors == {"displayName": "This name is already used"}
    assert actions() == []
    assert db.session.scalar(select(func.count()).select_from(SyncRun)) == 0
    assert [s.display_name for s in uc.list_sources(org)] == ["SHOP"]
    assert db.session.get(Organization, org.id).trial_started_at is None
