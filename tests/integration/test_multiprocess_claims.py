"""Three worker processes (`python -m webapp.jobs.worker`) share one PostgreSQL store with 300
due sources: every source is synced exactly once, no sooner than its own next-due time (a few
seconds apart, some in the future when the workers start; two schedules: the interval and a
cron expression in a time zone), and the work is spread over the processes.

The store is a fresh database on the throwaway PostgreSQL, migrated with `flask db upgrade`;
the 300 sources point at another throwaway server's test database (a real, cheap catalog to
read): Datadock refuses its own store's server as a source."""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from cryptography.fernet import Fernet

from tests.integration.jobs_helpers import fresh_database
from tests.polling import wait_until
from webapp.vault import Vault

SOURCES = 300
WORKERS = 3
# Every other source on a cron schedule whose next run is far away (noon on 29 February).
SCHEDULES = ("interval", "0 12 29 2 *")
IDLE = (
    "SELECT count(*) FROM sources WHERE sync_lease_owner IS NOT NULL OR next_sync_at IS NULL"
    " OR next_sync_at < (now() at time zone 'utc') + interval '10 minutes'"
)


def _env(pg, store: str, instance: Path, keys: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATADOCK_")}
    env.update(
        {
            "DATABASE_URL": f"postgresql://{pg.user}:{pg.password}@{pg.host}:{pg.port}/{store}",
            "SECRET_KEY": "multiprocess-test-secret-key",
            "DATADOCK_ENCRYPTION_KEYS": keys,
            "DATADOCK_INSTANCE_PATH": str(instance),
            "DATADOCK_TICK_SECONDS": "0.2",
            "DATADOCK_WORKERS": "4",
            "DATADOCK_HEALTH_INTERVAL": "0",
            "DATADOCK_LOG_LEVEL": "INFO",
            "DATADOCK_LOG_FORMAT": "text",
        }
    )
    return env


def _insert_sources(pg, store: str, keys: str, source_pg) -> None:
    blob = Vault([keys]).encrypt({"password": source_pg.password})
    with psycopg.connect(
        host=pg.host, port=pg.port, user=pg.user, password=pg.password, dbname=store
    ) as conn:
        org = conn.execute(
            "INSERT INTO organizations (name, created_at) VALUES ('Acme', now()) RETURNING id"
        ).fetchone()[0]
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO sources (organization_id, display_name, name_key, dialect, host,"
                " port, database_name, username, ssl_enabled, settings, secrets_blob, is_demo,"
                " created_at, updated_at, last_sync_status, has_completed_first_sync,"
                " sync_failures, next_sync_at, mutating_queries_enabled, include_schemas,"
                " sync_schedule, sync_timezone, public_id)"
                " VALUES (%s, %s, %s, 'POSTGRES', %s, %s, %s, %s, false, '{}', %s, false, now(),"
                " now(), 'PENDING', false, 0,"
                " (now() at time zone 'utc') + make_interval(secs => %s), false, 'public', %s,"
                " 'Europe/Berlin', gen_random_uuid()::text)",
                [
                    (
                        org,
                        f"Source {i:03d}",
                        f"source {i:03d}",
                        source_pg.host,
                        source_pg.port,
                        source_pg.database,
                        source_pg.user,
                        blob,
                        i % 6 - 2,
                        SCHEDULES[i % 2],
                    )
                    for i in range(SOURCES)
                ],
            )


def _rows(pg, store: str, sql: str) -> list[tuple]:
    with psycopg.connect(
        host=pg.host, port=pg.port, user=pg.user, password=pg.password, dbname=store
    ) as conn:
        return conn.execute(sql).fetchall()


def _count(pg, store: str, sql: str) -> int:
    with psycopg.connect(
        host=pg.host, port=pg.port, user=pg.user, password=pg.password, dbname=store
    ) as conn:
        return conn.execute(sql).fetchone()[0]


def test_three_processes_sync_each_of_300_sources_exactly_once(pg, pg_nossl, tmp_path):
    store = fresh_database(pg, "store")
    keys = Fernet.generate_key().decode()
    env = _env(pg, store, tmp_path / "instance", keys)
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "webapp", "db", "upgrade"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    _insert_sources(pg, store, keys, pg_nossl)
    due = dict(_rows(pg, store, "SELECT id, next_sync_at FROM sources"))

    logs = [tmp_path / f"worker-{i}.log" for i in range(WORKERS)]
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "webapp.jobs.worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
        )
        for log in logs
    ]
    started = time.monotonic()
    try:
        deadline = started + 240
        while (
            _count(
                pg,
                store,
                "SELECT count(*) FROM sources WHERE last_sync_status IN ('SUCCESS', 'FAILED')",
            )
            < SOURCES
        ):
            assert time.monotonic() < deadline, "the workers did not sync every source"
            assert all(w.poll() is None for w in workers), "a worker died"
            time.sleep(0.25)
        took = time.monotonic() - started
        # Then until no lease is held and nothing is due for the next ten minutes: no sync is
        # in flight and none can start, so whatever ran twice has its run row by now.
        wait_until(
            lambda: _count(pg, store, IDLE) == 0,
            60,
            0.25,
            what="the workers to release every lease",
        )
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()

    assert (
        _count(pg, store, "SELECT count(*) FROM sources WHERE last_sync_status = 'SUCCESS'")
        == SOURCES
    )
    runs = _count(pg, store, "SELECT count(*) FROM sync_runs")
    per_source = _count(
        pg, store, "SELECT count(DISTINCT source_id) FROM sync_runs WHERE status = 'SUCCESS'"
    )
    most = _count(
        pg,
        store,
        "SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM "
        "sync_runs GROUP BY source_id) runs",
    )
    assert (runs, per_source, most) == (SOURCES, SOURCES, 1)
    assert (
        _count(
            pg,
            store,
            "SELECT count(*) FROM sources WHERE sync_lease_owner IS NOT NULL"
            " OR current_snapshot_id IS NULL",
        )
        == 0
    )

    synced_by: dict[int, list[int]] = collections.defaultdict(list)
    for number, log in enumerate(logs):
        for source_id in re.findall(r"synced source (\d+):", log.read_text()):
            synced_by[int(source_id)].append(number)
    assert len(synced_by) == SOURCES and all(len(w) == 1 for w in synced_by.values())
    share = collections.Counter(w[0] for w in synced_by.values())
    print(
        f"\n{SOURCES} syncs by {WORKERS} processes in {took:.1f} s; per process: "
        f"{sorted(share.values(), reverse=True)}"
    )
    assert len(share) >= 2, f"only one process did any work: {share}"

    # Each source ran at or after its own due time, and its schedule set the next one.
    started = dict(_rows(pg, store, "SELECT source_id, started_at FROM sync_runs"))
    early = [i for i, moment in started.items() if moment < due[i]]
    assert early == [], f"synced before they were due: {early}"
    nexts = _rows(
        pg,
        store,
        "SELECT sync_schedule, min(next_sync_at - (now() at time zone "
        "'utc')), max(next_sync_at - (now() at time zone 'utc')) FROM "
        "sources GROUP BY sync_schedule ORDER BY sync_schedule",
    )
    (cron, cron_min, _), (interval, interval_min, interval_max) = nexts
    assert (cron, interval) == ("0 12 29 2 *", "interval")
    assert cron_min.days > 30  # the next 29 February, noon in Berlin
    assert 3000 < interval_min.total_seconds() <= interval_max.total_seconds() <= 3600
