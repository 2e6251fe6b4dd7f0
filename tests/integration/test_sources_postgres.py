"""Save, edit, delete and schema sync against a real throwaway PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest

from tests.fixtures_app import csrf_token
from tests.integration.test_verify_postgres import values
from webapp import sources as uc
from webapp.extensions import db
from webapp.jobs.claims import claim_due_syncs
from webapp.jobs.sync import run_sync
from webapp.models import Organization, SchemaTable, Source, utcnow


def org(app) -> Organization:
    return db.session.scalar(db.select(Organization))


def sync_once(source_id: int) -> Source:
    """Claim and run the due sync the way the scheduler's tick does."""
    assert claim_due_syncs("test-owner", utcnow(), 60, 10) == [source_id]
    run_sync(source_id, "test-owner")
    db.session.expire_all()
    return db.session.get(Source, source_id)


def tables_of(source: Source) -> dict[str, SchemaTable]:
    rows, _ = uc.snapshot_tables(source, limit=1000)
    return {f"{t.schema_name}.{t.name}": t for t in rows}


def test_save_encrypts_the_password_and_sync_reads_the_catalog(app, admin, pg):
    token = csrf_token(admin, "/sources/new")
    raw = {**values(pg), "sslEnabled": "y", "csrf_token": token}
    response = admin.post("/sources/new", data=raw)
    assert response.status_code == 302, response.get_data(as_text=True)
    store = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    with app.app_context():
        db.session.execute(db.text("PRAGMA wal_checkpoint(FULL)"))
        source = db.session.scalar(db.select(Source))
        assert source.last_sync_status == "PENDING"
        assert source.host == pg.host and source.port == pg.port
    for path in store.parent.glob(store.name + "*"):  # the file, its WAL and shared memory
        assert pg.password.encode() not in path.read_bytes(), path

    detail = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "PENDING" in detail and 'hx-trigger="every 1s"' in detail
    assert pg.password not in detail

    with app.app_context():
        source = sync_once(source.id)
        assert source.last_sync_status == "SUCCESS"
        assert source.has_completed_first_sync and source.last_successful_sync_at
        tables = tables_of(source)
        assert {
            "public.customers",
            "public.orders",
            "public.big_orders",
            "analytics.events",
        } <= set(tables)
        assert tables["public.big_orders"].kind == "view"
        columns = {c["name"]: c for c in tables["public.orders"].columns}
        assert columns["id"]["primaryKey"] is True and columns["id"]["nullable"] is False
        assert columns["total"]["type"] == "numeric(10,2)"
        assert columns["created_at"]["nullable"] is True
        assert [c["name"] for c in tables["public.customers"].columns] == ["id", "name", "email"]

    panel = admin.get(f"/sources/{source.id}/sync-panel").get_data(as_text=True)
    assert "SUCCESS" in panel and "every 1s" not in panel
    assert "public.customers" in panel and "numeric(10,2)" in panel
    found = admin.get(f"/sources/{source.id}/sync-panel?q=events").get_data(as_text=True)
    assert "analytics.events" in found and "public.customers" not in found


def test_failed_sync_keeps_the_last_good_snapshot(app, admin, pg):
    with app.app_context():
        source = uc.create_source(org(app), values(pg))
        source = sync_once(source.id)
        good = source.current_snapshot_id
        # The password changes on the server: the next sync fails to log in.
        with psycopg.connect(pg.superuser_dsn()) as conn:
            conn.execute("ALTER ROLE datadock_test PASSWORD 'rotated-password-1'")
        try:
            uc.request_sync(source)
            source = sync_once(source.id)
            assert source.last_sync_status == "FAILED"
            assert "rejected the username or password" in source.sync_error_message
            assert "rotated-password-1" not in source.sync_error_message
            assert source.current_snapshot_id == good
            assert "public.customers" in tables_of(source)
            assert source.next_sync_at > utcnow()  # backs off instead of retrying at once
        finally:
            with psycopg.connect(pg.superuser_dsn()) as conn:
                conn.execute(f"ALTER ROLE datadock_test PASSWORD '{pg.password}'")
    page = admin.get(f"/sources/{source.id}").get_data(as_text=True)
    assert "The last sync failed." in page and "public.customers" in page


def test_edit_keeps_a_blank_password_unless_the_host_moves(app, admin, pg):
    with app.app_context():
        source = uc.create_source(org(app), values(pg))
        source_id = source.id
    form = admin.get(f"/sources/{source_id}/edit").get_data(as_text=True)
    assert "Saved — leave blank to keep." in form and pg.password not in form
    token = csrf_token(admin, f"/sources/{source_id}/edit")
    raw = {**values(pg, displayName="Renamed", password=""), "sslEnabled": "y", "csrf_token": token}
    assert admin.post(f"/sources/{source_id}/edit", data=raw).status_code == 302
    moved = {**raw, "host": "localhost"}
    response = admin.post(f"/sources/{source_id}/edit", data=moved)
    assert response.status_code == 422
    assert "Enter the password again" in response.get_data(as_text=True)
    with app.app_context():
        source = db.session.get(Source, source_id)
        assert source.display_name == "Renamed" and source.host == pg.host


def test_duplicate_names_are_refused_on_the_name_field(app, admin, pg):
    with app.app_context():
        uc.create_source(org(app), values(pg))
        with pytest.raises(uc.DuplicateName) as caught:
            uc.create_source(org(app), values(pg, displayName="test db"))
        assert caught.value.field_errors == {"displayName": "This name is already used"}


def test_delete_removes_source_secrets_and_snapshots(app, admin, pg):
    with app.app_context():
        source = uc.create_source(org(app), values(pg))
        sync_once(source.id)
        source_id = source.id
    token = csrf_token(admin, f"/sources/{source_id}")
    assert admin.post(f"/sources/{source_id}/delete", data={"csrf_token": token}).status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Source)) == 0
        assert db.session.scalar(db.select(db.func.count()).select_from(SchemaTable)) == 0


def test_the_scheduler_runs_the_first_sync_in_the_background(app, admin, pg):
    from webapp.jobs import scheduler

    app.config["SCHEDULER_TICK_SECONDS"] = 30  # only the wake-up on save can run it in time
    scheduler.start(app)
    with app.app_context():
        source = uc.create_source(org(app), values(pg))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            db.session.expire_all()
            source = db.session.get(Source, source.id)
            # the run's result commits first, the lease is released just after it
            if source.last_sync_status != "PENDING" and source.sync_lease_owner is None:
                break
            time.sleep(0.1)
        assert source.last_sync_status == "SUCCESS"
        assert source.sync_lease_owner is None
