"""Helpers for the jobs tests: a fresh database on a throwaway PostgreSQL, DDL as the test user,
a source pointing at it, and one sync run the way the scheduler runs it."""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from flask_migrate import upgrade

from tests.integration.test_verify_postgres import values
from webapp import create_app
from webapp import sources as uc
from webapp.extensions import db
from webapp.jobs.claims import claim_due_syncs
from webapp.jobs.sync import run_sync
from webapp.models import Organization, SchemaTable, Source, SyncRun, utcnow


def fresh_database(pg, prefix: str = "jobs") -> str:
    """A new, empty database owned by the test user; returns its name."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(pg.superuser_dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} OWNER {pg.user}")
    return name


@contextlib.contextmanager
def postgres_store_app(
    pg, prefix: str, instance: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Flask]:
    """An app (scheduler off) whose store is a fresh, migrated database on the throwaway
    PostgreSQL; its instance folder at `instance`."""
    name = fresh_database(pg, prefix)
    monkeypatch.setenv("DATADOCK_INSTANCE_PATH", str(instance))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    url = f"postgresql+psycopg://{pg.user}:{pg.password}@{pg.host}:{pg.port}/{name}"
    application = create_app(
        {"TESTING": True, "SCHEDULER_ENABLED": False, "SQLALCHEMY_DATABASE_URI": url}
    )
    with application.app_context():
        upgrade()
    try:
        yield application
    finally:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def run_sql(pg, database: str, sql: str) -> None:
    """Run DDL/DML as the test user (what a source's owner would do)."""
    with psycopg.connect(pg.superuser_dsn(database), autocommit=True) as conn:
        conn.execute(f"SET ROLE {pg.user}")
        conn.execute(sql)


def org() -> Organization:
    return db.session.scalar(db.select(Organization))


def add_source(pg, database: str, **changes) -> Source:
    """Create (verify + save) a source for `database`; its first sync is queued."""
    raw = values(pg, databaseName=database, sslEnabled=False, **changes)
    return uc.create_source(org(), raw)


def sync_once(source_id: int, owner: str = "test-owner") -> Source:
    """Claim and run the due sync the way a scheduler tick does."""
    assert claim_due_syncs(owner, utcnow(), 60, 10) == [source_id]
    run_sync(source_id, owner)
    db.session.expire_all()
    return db.session.get(Source, source_id)


def tables_of(source: Source) -> dict[tuple[str, str], SchemaTable]:
    rows, _ = uc.snapshot_tables(source, limit=10_000)
    return {(t.schema_name, t.name): t for t in rows}


def last_run(source: Source) -> SyncRun:
    runs, _ = uc.sync_history(source, limit=1)
    return runs[0]


class GatedProxy:
    """A loopback TCP proxy to `upstream` with a gate: while closed, connections are accepted
    and held without an answer (an unresponsive host); once opened, held and new connections
    are piped through. Lets a test hold a real sync mid-connect, deterministically."""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.gate = threading.Event()
        self.gate.set()
        self.waiting = threading.Semaphore(0)  # released once per connection held at the gate
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def close_gate(self) -> None:
        self.gate.clear()

    def open_gate(self) -> None:
        self.gate.set()

    def _accept(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            self.sockets.append(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        if not self.gate.is_set():
            self.waiting.release()
            self.gate.wait()
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        self.sockets.append(upstream)
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self.stopped.set()
        self.gate.set()
        for s in [self.listener, *self.sockets]:
            with contextlib.suppress(OSError):
                s.close()
