"""Leases and heartbeats with real worker processes (`python -m webapp.jobs.worker`) sharing the
test's SQLite store and keys (same instance folder):

- a sync that runs longer than several leases keeps its lease (the heartbeat renews it) and a
  second live process never takes it over;
- a process killed with SIGKILL mid-sync, then a restarted one: the restarted process takes
  the sync over once the dead one's lease has run out (within lease + two ticks + start-up),
  and the last good snapshot reads intact until the new one replaces it. The test runs it
  with a 6 s lease (2 s heartbeat, 1 s tick) to keep the suite short; the shipped 30 s lease,
  10 s heartbeat and 5 s tick follow the same path (takeover within about 40 s).

The sync is made slow by a real slow source: a loopback proxy in front of the throwaway
PostgreSQL that holds the server's answer to the sync's catalog query (the one that names the
`datadock_catalog` cursor) until the test releases it, as a very big catalog would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.jobs_helpers import add_source, sync_once, tables_of
from webapp import sources as uc
from webapp.extensions import db
from webapp.jobs.runs import INTERRUPTED
from webapp.models import SchemaSnapshot, Source

# Short lease settings for the takeover test (same code path as the shipped 30 s / 10 s / 5 s).
TAKEOVER_SETTINGS = {
    "DATADOCK_JOB_LEASE_SECONDS": "6",
    "DATADOCK_JOB_HEARTBEAT_SECONDS": "2",
    "DATADOCK_TICK_SECONDS": "1",
}
# Seconds from the kill: the lease, two ticks and a worker's start-up (imports, migrations).
TAKEOVER_DEADLINE = 6.0 + 2 * 1.0 + 12.0


class CatalogHoldProxy:
    """A loopback TCP proxy to PostgreSQL. While armed, once a client sends the catalog query
    (its bytes name MARK), the server's answer on that connection is held until `release()`."""

    MARK = b"datadock_catalog"

    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.armed = threading.Event()
        self.released = threading.Event()
        self.holding = threading.Semaphore(0)  # released once per connection held
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self) -> None:
        self.released.clear()
        self.armed.set()

    def release(self) -> None:
        self.armed.clear()
        self.released.set()

    def wait_held(self, seconds: float, what: str) -> None:
        assert self.holding.acquire(timeout=seconds), f"timed out waiting for {what}"

    def _accept(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            self.sockets += [client, upstream]
            asked = threading.Event()
            threading.Thread(
                target=self._to_server, args=(client, upstream, asked), daemon=True
            ).start()
            threading.Thread(
                target=self._to_client, args=(upstream, client, asked), daemon=True
            ).start()

    def _to_server(
        self, client: socket.socket, upstream: socket.socket, asked: threading.Event
    ) -> None:
        tail = b""
        with _closing_both(client, upstream):
            while data := client.recv(65536):
                if self.armed.is_set() and self.MARK in tail + data:
                    asked.set()  # before the query goes on: its answer comes after this
                tail = data[-len(self.MARK) :]
                upstream.sendall(data)

    def _to_client(
        self, upstream: socket.socket, client: socket.socket, asked: threading.Event
    ) -> None:
        held = False
        with _closing_both(upstream, client):
            while data := upstream.recv(65536):
                if asked.is_set() and not held and not self.released.is_set():
                    held = True
                    self.holding.release()
                    while not self.released.wait(0.2):
                        if self.stopped.is_set():
                            return
                client.sendall(data)

    def stop(self) -> None:
        self.stopped.set()
        self.released.set()
        for s in [self.listener, *self.sockets]:
            with contextlib.suppress(OSError):
                s.close()


@contextlib.contextmanager
def _closing_both(a: socket.socket, b: socket.socket) -> Iterator[None]:
    try:
        yield
    except OSError:
        pass
    finally:
        for s in (a, b):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


class Workers:
    """Worker processes on the test's instance folder, each logging to its own file."""

    def __init__(self, instance: str, folder: Path, **settings: str) -> None:
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("DATADOCK_") and k not in ("DATABASE_URL", "SECRET_KEY")
        }
        self.env.update(
            {
                "DATADOCK_INSTANCE_PATH": instance,
                "DATADOCK_HEALTH_INTERVAL": "0",
                "DATADOCK_LOG_FORMAT": "text",
                "DATADOCK_LOG_LEVEL": "INFO",
                "TMPDIR": str(folder),
                **settings,
            }
        )
        self.folder = folder
        self.procs: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        log = self.folder / f"worker-{len(self.procs)}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "webapp.jobs.worker"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
            stdin=subprocess.DEVNULL,
        )
        proc.log = log  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _pid_of(owner: str | None) -> int | None:
    """The process id in a lease owner ("host:pid:random")."""
    return int(owner.split(":")[-2]) if owner and owner.count(":") >= 2 else None


def _wait_for(predicate: Callable[[], object], seconds: float, what: str) -> object:
    deadline = time.monotonic() + seconds
    while True:
        db.session.expire_all()
        db.session.rollback()
        if value := predicate():
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _source(source_id: int) -> Source:
    return db.session.get(Source, source_id)


@pytest.fixture
def proxy(pg) -> Iterator[CatalogHoldProxy]:
    server = CatalogHoldProxy(pg.port)
    yield server
    server.stop()


@pytest.fixture
def synced(app, admin, pg, proxy) -> Iterator[tuple[int, int, set]]:
    """A source behind the proxy with one good snapshot: (source id, snapshot id, tables)."""
    with app.app_context():
        source = add_source(pg, pg.database, port=proxy.port)
        source = sync_once(source.id)
        assert source.last_sync_status == "SUCCESS"
        yield source.id, source.current_snapshot_id, set(tables_of(source))


def test_a_long_sync_keeps_its_lease_while_its_process_lives(app, synced, proxy, tmp_path):
    source_id, _, tables = synced
    lease = 2.0
    workers = Workers(
        app.instance_path,
        tmp_path,
        DATADOCK_JOB_LEASE_SECONDS=str(lease),
        DATADOCK_JOB_HEARTBEAT_SECONDS="0.5",
        DATADOCK_TICK_SECONDS="0.2",
    )
    try:
        with app.app_context():
            proxy.arm()
            uc.request_sync(_source(source_id))
            first = workers.start()
            proxy.wait_held(60, "the first worker's catalog query")
            held = _source(source_id)
            assert _pid_of(held.sync_lease_owner) == first.pid
            until = held.sync_lease_until
            second = workers.start()
            _wait_for(
                lambda: "scheduler started" in second.log.read_text(),
                60,
                "the second worker to start",
            )

            def renewed_past_several_leases() -> bool:
                now = _source(source_id)
                assert _pid_of(now.sync_lease_owner) == first.pid, "the lease changed hands"
                return (now.sync_lease_until - until).total_seconds() > 4 * lease

            # Four leases' worth of time stuck in the catalog read: still the first's.
            _wait_for(renewed_past_several_leases, 60, "the heartbeat to renew the lease")
            assert _source(source_id).last_sync_status == "PENDING"
            assert set(tables_of(_source(source_id))) == tables  # the last good snapshot

            proxy.release()
            _wait_for(
                lambda: (
                    _source(source_id).last_sync_status == "SUCCESS"
                    and _source(source_id).sync_lease_owner is None
                ),
                60,
                "the sync to end",
            )
            runs, _ = uc.sync_history(_source(source_id))
            assert [(r.trigger, r.status) for r in runs] == [
                ("manual", "SUCCESS"),
                ("create", "SUCCESS"),
            ]
    finally:
        proxy.release()
        workers.stop()
    assert "synced source" in first.log.read_text()
    assert "synced source" not in second.log.read_text()
    assert "lost its lease" not in first.log.read_text()


def test_a_sync_killed_mid_catalog_is_taken_over_after_a_restart(app, synced, proxy, tmp_path):
    """A 6 s lease, 2 s heartbeat, 1 s tick: taken over within lease + two ticks + start-up."""
    source_id, snapshot_id, tables = synced
    workers = Workers(app.instance_path, tmp_path, **TAKEOVER_SETTINGS)
    try:
        with app.app_context():
            proxy.arm()
            uc.request_sync(_source(source_id))
            doomed = workers.start()
            proxy.wait_held(60, "the doomed worker's catalog query")
            assert _pid_of(_source(source_id).sync_lease_owner) == doomed.pid
            assert (
                db.session.scalar(
                    db.select(db.func.count())
                    .select_from(SchemaSnapshot)
                    .where(SchemaSnapshot.complete.is_(False))
                )
                == 1
            )
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(timeout=10)
            killed_at = time.monotonic()
            restarted = workers.start()

            def taken_over() -> bool:
                source = _source(source_id)
                # Until then, and while the new sync runs: the last good snapshot, whole.
                assert source.current_snapshot_id == snapshot_id
                assert set(tables_of(source)) == tables
                return _pid_of(source.sync_lease_owner) == restarted.pid

            _wait_for(taken_over, TAKEOVER_DEADLINE, "the restarted worker to take over")
            took = time.monotonic() - killed_at
            proxy.wait_held(30, "the restarted worker's catalog query")
            assert set(tables_of(_source(source_id))) == tables
            proxy.release()
            _wait_for(
                lambda: (
                    _source(source_id).last_sync_status == "SUCCESS"
                    and _source(source_id).sync_lease_owner is None
                ),
                60,
                "the sync to end",
            )
            source = _source(source_id)
            runs, _ = uc.sync_history(source)
            assert [(r.trigger, r.status) for r in runs] == [
                ("schedule", "SUCCESS"),
                ("manual", "FAILED"),
                ("create", "SUCCESS"),
            ]
            assert runs[1].error_message == INTERRUPTED
            # Nothing changed: the current snapshot stays; the killed sync's half snapshot and
            # the restarted sync's staging one are gone.
            assert source.current_snapshot_id == snapshot_id
            assert set(tables_of(source)) == tables
            assert db.session.scalars(db.select(SchemaSnapshot.id)).all() == [snapshot_id]
    finally:
        proxy.release()
        workers.stop()
    print(f"\ntaken over {took:.1f} s after the kill (deadline {TAKEOVER_DEADLINE:.0f} s)")
