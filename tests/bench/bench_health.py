"""A health sweep of 1,000 sources, 100 of which point at loopback listeners that accept and
never answer: wall time of the whole sweep through the real scheduler (claims in the SQLite
store, the health worker pool) against one timeout.

Run with `make bench`. Prints figures; asserts only that every source was checked with the
right outcome. Goal: the sweep takes at most the timeout + 5 s on 2 cores.
"""

from __future__ import annotations

import contextlib
import os
import time

from tests.servers import silent_listener
from webapp.extensions import db
from webapp.jobs import scheduler
from webapp.models import HealthCheck, Organization, Source
from webapp.records import vault

SOURCES, SILENT, LISTENERS = 1000, 100, 10
TIMEOUT = 10.0  # DATADOCK_VERIFY_TIMEOUT's default


def test_bench_health_sweep(app, admin, pg):
    app.config.update(VERIFY_TIMEOUT=TIMEOUT, SCHEDULER_TICK_SECONDS=1.0)
    with contextlib.ExitStack() as stack:
        silent_ports = [stack.enter_context(silent_listener())[1] for _ in range(LISTENERS)]
        with app.app_context():
            org = db.session.scalar(db.select(Organization))
            blob = vault().encrypt({"password": pg.password})
            silent_ids = set()
            for i in range(SOURCES):
                silent = i % (SOURCES // SILENT) == 0
                source = Source(organization_id=org.id, display_name=f"Source {i:04d}",
                                dialect="POSTGRES", host=pg.host,
                                port=silent_ports[i % LISTENERS] if silent else pg.port,
                                database_name=pg.database, username=pg.user,
                                ssl_enabled=False, settings={}, secrets_blob=blob)
                db.session.add(source)
                db.session.flush()
                if silent:
                    silent_ids.add(source.id)
            db.session.commit()
            assert len(silent_ids) == SILENT

            started = time.monotonic()
            runner = scheduler.start(app)
            healthy_done = None
            while (done := db.session.scalar(
                    db.select(db.func.count()).select_from(HealthCheck))) < SOURCES:
                if healthy_done is None and db.session.scalar(
                        db.select(db.func.count()).select_from(HealthCheck)
                        .where(HealthCheck.healthy)) == SOURCES - SILENT:
                    healthy_done = time.monotonic() - started
                assert time.monotonic() - started < 300, f"only {done} checks after 300 s"
                time.sleep(0.05)
            wall = time.monotonic() - started
            runner.stop(wait=True)

            rows = db.session.execute(db.select(HealthCheck.source_id, HealthCheck.healthy,
                                                HealthCheck.latency_ms)).all()
            assert len(rows) == SOURCES
            assert {r.source_id for r in rows if not r.healthy} == silent_ids
            latencies = sorted(r.latency_ms for r in rows if r.healthy)

    workers = app.config["HEALTH_WORKERS"]
    print(f"\nhealth sweep: {SOURCES} sources, {SILENT} unresponsive, timeout {TIMEOUT:.0f} s, "
          f"{workers} health workers, {os.cpu_count()} CPUs:")
    print(f"  every healthy source checked after {healthy_done or wall:.1f} s; whole sweep "
          f"{wall:.1f} s = timeout + {wall - TIMEOUT:.1f} s (goal <= timeout + 5 s)")
    print(f"  latency of healthy checks: median {latencies[len(latencies) // 2]} ms, "
          f"p95 {latencies[int(len(latencies) * 0.95)]} ms")
