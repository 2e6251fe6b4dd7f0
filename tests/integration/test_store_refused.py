"""Datadock's own store is never a source.

By address: an app whose DATABASE_URL is a database on the throwaway PostgreSQL refuses that
same server as a source (by 127.0.0.1, localhost, 127.1, ::ffff:127.0.0.1; at verify, save,
sync and health, and behind an SSH tunnel whose SSH server is this machine), and accepts
another server on another port. By identity: the SQLite store reached through a hard link, a
symbolic link, a data folder that holds the instance folder, or a link to its -wal/-shm
file is refused before any driver opens it (a DuckDB open of the store dropped the app's own
SQLite locks), and sources created afterwards survive a restart."""

from __future__ import annotations

import os
import secrets
import sqlite3
from pathlib import Path

import psycopg
import pytest
from flask_migrate import upgrade

from tests.api.conftest import Api, make_org
from tests.integration.test_verify_postgres import values
from webapp import create_app
from webapp import sources as uc
from webapp.connect.errors import ConnectionFailed
from webapp.connect.store_guard import OWN_DATABASE, OWN_FILE
from webapp.extensions import db
from webapp.jobs.claims import HEALTH, SYNC, claim_due
from webapp.jobs.health import run_health
from webapp.jobs.sync import run_sync
from webapp.models import Organization, Source, utcnow
from webapp.records import vault

OWN_SERVER = {"host": OWN_DATABASE, "port": OWN_DATABASE}


@pytest.fixture
def pg_store_app(pg, tmp_path, monkeypatch):
    """An app whose store is a fresh database on the throwaway PostgreSQL `pg`."""
    name = "store_" + secrets.token_hex(4)
    with psycopg.connect(pg.superuser_dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} OWNER {pg.user}")
    monkeypatch.setenv("DATADOCK_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv(
        "DATABASE_URL", f"postgresql://{pg.user}:{pg.password}@{pg.host}:{pg.port}/{name}"
    )
    app = create_app({"TESTING": True, "SCHEDULER_ENABLED": False, "VERIFY_TIMEOUT": 3.0})
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def api_for(app) -> Api:
    org_id, key = make_org(app, "Acme", "admin@example.com")
    return Api(app.test_client(), org_id, key)


def test_the_postgresql_store_is_refused_by_every_local_name(pg_store_app, pg, pg_nossl):
    api = api_for(pg_store_app)
    for host in ("127.0.0.1", "localhost", "127.1", "::ffff:127.0.0.1", "127.0.0.2"):
        raw = {**values(pg, host=host, sslEnabled=False), "databaseName": pg.database}
        verify = api.post("/verify", json=raw)
        error = verify.get_json()["error"]
        assert verify.status_code == 400, host
        assert error["fieldErrors"] == OWN_SERVER, host
        assert "Datadock keeps its own data in (DATABASE_URL)" in error["detail"]
        assert {s["name"]: s["status"] for s in error["steps"]}["tcp"] == "not_run"
        create = api.post(json={"type": "direct", **raw, "displayName": f"Store {host}"})
        assert create.get_json()["error"]["fieldErrors"] == OWN_SERVER
    # Another server on another port is an ordinary source.
    other = api.post(json={"type": "direct", **values(pg_nossl, sslEnabled=False)})
    assert other.status_code == 201, other.get_json()
    assert pg_nossl.port != pg.port


def test_a_saved_source_pointing_at_the_store_fails_sync_and_health(pg_store_app, pg):
    app = pg_store_app
    api_for(app)
    with app.app_context():
        org = db.session.scalar(db.select(Organization))
        source = Source(
            organization_id=org.id,
            display_name="Saved before",
            dialect="POSTGRES",
            host="localhost",
            port=pg.port,
            database_name=pg.database,
            username=pg.user,
            ssl_enabled=False,
            secrets_blob=vault().encrypt({"password": pg.password}),
        )
        db.session.add(source)
        db.session.commit()
        uc.request_sync(source)
        for kind, runner in ((SYNC, run_sync), (HEALTH, run_health)):
            assert claim_due(kind, "t", utcnow(), 60, 10) == [source.id]
            runner(source.id, "t")
        db.session.expire_all()
        source = db.session.get(Source, source.id)
        assert source.last_sync_status == "FAILED"
        assert "Datadock keeps its own data in" in source.sync_error_message
        assert source.current_snapshot_id is None  # nothing of the store was read
        assert uc.health_history(source)[-1].error_message == source.sync_error_message


def test_a_tunnel_through_this_machine_to_the_store_is_refused(pg_store_app, pg, sshd):
    raw = {
        **values(pg, host="127.0.0.1", sslEnabled=False),
        "sshEnabled": True,
        "sshHost": sshd.host,
        "sshPort": sshd.port,
        "sshUsername": sshd.user,
        "sshPassword": sshd.password,
    }
    with pg_store_app.app_context(), pytest.raises(ConnectionFailed) as caught:
        uc.verify_input(raw)
    assert caught.value.field_errors == OWN_SERVER
    assert {s["name"]: s["status"] for s in caught.value.steps}["ssh"] == "not_run"


# --- the SQLite store, by identity ----------------------------------------------------------


def store_path(app) -> Path:
    return Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))


def file_failure(app, dialect: str, relative: str) -> ConnectionFailed:
    with app.app_context(), pytest.raises(ConnectionFailed) as caught:
        uc.verify_input({"displayName": "x", "dialect": dialect, "databaseName": relative})
    return caught.value


@pytest.mark.parametrize("dialect", ["SQLITE", "DUCKDB"])
def test_a_hard_link_to_the_store_is_refused_and_the_store_keeps_its_locks(app, dialect):
    data = Path(app.config["DATA_DIR"])
    os.link(store_path(app), data / "copy.sqlite")
    failure = file_failure(app, dialect, "copy.sqlite")
    assert failure.field_errors == {"databaseName": OWN_FILE}
    assert "reached through a link" in failure.detail
    assert {s["name"]: s["status"] for s in failure.steps}["database"] == "not_run"
    # Sources created afterwards survive a restart (the lost-locks bug lost them).
    org_id, _ = make_org(app, "Acme", "admin@example.com")
    (data / "ok.sqlite").write_bytes(b"")
    sqlite3.connect(data / "ok.sqlite").executescript("CREATE TABLE t (x INTEGER);")
    with app.app_context():
        org = db.session.get(Organization, org_id)
        for index in range(3):
            uc.create_source(
                org,
                {"displayName": f"After {index}", "dialect": "SQLITE", "databaseName": "ok.sqlite"},
            )
        db.session.remove()
        db.engine.dispose()
    with sqlite3.connect(store_path(app)) as check:
        names = {r[0] for r in check.execute("SELECT display_name FROM sources")}
    assert names == {"After 0", "After 1", "After 2"}


def test_a_symbolic_link_to_the_store_is_refused(app, tmp_path):
    data = Path(app.config["DATA_DIR"])
    (data / "link.sqlite").symlink_to(store_path(app))
    assert file_failure(app, "SQLITE", "link.sqlite").field_errors == {
        "databaseName": "Use a path inside the data folder"
    }
    # A data folder above the instance folder: the link's target is inside the data folder.
    app.config["DATA_DIR"] = str(tmp_path)
    for relative in (
        "instance/data/link.sqlite",
        "instance/datadock.sqlite3",
        "instance/secret_key",
    ):
        failure = file_failure(app, "SQLITE", relative)
        assert failure.field_errors == {"databaseName": OWN_FILE}, relative
        assert "instance folder" in failure.detail


def test_a_data_folder_pointing_at_the_instance_folder_opens_nothing_of_it(app):
    app.config["DATA_DIR"] = str(store_path(app).parent)
    for dialect in ("SQLITE", "DUCKDB"):
        for relative in ("datadock.sqlite3", "encryption_keys", "data/anything.sqlite"):
            failure = file_failure(app, dialect, relative)
            assert failure.field_errors == {"databaseName": OWN_FILE}, relative


def test_links_to_the_stores_wal_and_shm_files_are_refused(app):
    data = Path(app.config["DATA_DIR"])
    with app.app_context():
        holder = db.engine.connect()  # an open connection keeps -wal and -shm in place
        try:
            holder.exec_driver_sql("PRAGMA journal_mode=WAL")
            holder.exec_driver_sql("SELECT count(*) FROM sources").fetchall()
            store = store_path(app)
            for suffix in ("-wal", "-shm"):
                assert Path(f"{store}{suffix}").exists()
                os.link(f"{store}{suffix}", data / f"store{suffix}.sqlite")
                for dialect in ("SQLITE", "DUCKDB"):
                    failure = file_failure(app, dialect, f"store{suffix}.sqlite")
                    assert failure.field_errors == {"databaseName": OWN_FILE}
        finally:
            holder.close()


def test_a_saved_file_source_that_became_the_store_fails_sync_and_health(app):
    data = Path(app.config["DATA_DIR"])
    org_id, _ = make_org(app, "Acme", "admin@example.com")
    os.link(store_path(app), data / "later.sqlite")
    with app.app_context():
        source = Source(
            organization_id=org_id,
            display_name="Later",
            dialect="SQLITE",
            database_name="later.sqlite",
            secrets_blob=vault().encrypt({}),
        )
        db.session.add(source)
        db.session.commit()
        uc.request_sync(source)
        for kind, runner in ((SYNC, run_sync), (HEALTH, run_health)):
            assert claim_due(kind, "t", utcnow(), 60, 10) == [source.id]
            runner(source.id, "t")
        db.session.expire_all()
        source = db.session.get(Source, source.id)
        assert source.last_sync_status == "FAILED"
        assert "reached through a link" in source.sync_error_message
        assert uc.health_history(source)[-1].error_message == source.sync_error_message
