"""Schema sync of generated PostgreSQL catalogs (10,000 and 50,000 tables × 10 columns in 20
schemas, a primary key on every table, a foreign key on every second) into both stores, against
two baselines measured in the same process, in interleaved rounds (tests/bench/sync_runner.py):
the flat catalog reads on equal terms with the sync (a row per column with its comments, the
foreign keys' rows; fetched whole: the physical limit) and SQLAlchemy 2's bulk reflection. The
issue's first baseline, the columns alone, is printed for reference. JIT is off for every
reader, as Datadock's own catalog read turns it off. A repeated sync finds nothing changed: it
writes no table, and the current snapshot stays as it is.

Run with `make bench`. Asserts only that every sync is correct, never how fast it is. Goals
(issue 11): full sync ≤ 1.5× the flat read on either store, first or repeated (the PostgreSQL
store with stale statistics), at 10k and 50k; peak RSS of a 50k-table sync < 250 MB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import psycopg
import pytest

from tests.bench.figures import Figure
from tests.integration.jobs_helpers import fresh_database
from tests.servers import PgServer, server_dir, throwaway_postgres

SIZES = tuple(int(n) for n in os.environ.get("BENCH_SYNC_SIZES", "10000,50000").split(","))
SCHEMAS, COLUMNS = 20, 10
# Interleaved rounds, the minimum of each kind kept: more where a round is short (the fixed
# costs of a 10k sync are a larger share of it, so the machine's noise is too).
ROUNDS = {10_000: 5}
DEFAULT_ROUNDS = 3
GOAL = 1.5


def build_catalog(pg, tables: int) -> str:
    """A database of `tables` tables in SCHEMAS schemas, created 500 tables per transaction
    (one transaction for all would exhaust the lock table), one round trip per batch."""
    name = fresh_database(pg, f"bench{tables // 1000}k")
    columns = ", ".join(
        f"c{j} {('integer', 'text', 'numeric(12,2)')[j % 3]}" for j in range(1, COLUMNS - 1)
    )
    per_schema = tables // SCHEMAS
    started = time.perf_counter()
    with psycopg.connect(pg.superuser_dsn(name), autocommit=True) as conn:
        conn.execute(f"SET ROLE {pg.user}")
        for s in range(SCHEMAS):
            conn.execute(f"CREATE SCHEMA s{s:02d}")
            for start in range(0, per_schema, 500):
                ddl = []
                for i in range(start, min(start + 500, per_schema)):
                    fk = (
                        f", parent bigint REFERENCES s{s:02d}.t{i - 1:05d} (id)"
                        if i % 2
                        else ", parent bigint"
                    )
                    ddl.append(
                        f"CREATE TABLE s{s:02d}.t{i:05d} (id bigint PRIMARY KEY, {columns}{fk});"
                    )
                conn.execute("BEGIN;" + "".join(ddl) + "COMMIT;")
    print(
        f"\n(created {tables} tables × {COLUMNS} columns in {time.perf_counter() - started:.0f} s)"
    )
    return name


@pytest.fixture(scope="module")
def store_pg() -> Iterator[PgServer]:
    """The PostgreSQL store: a server of its own (Datadock refuses to sync its own store)."""
    with server_dir("pgstore") as base, throwaway_postgres(base, ssl=False) as server:
        yield server


@pytest.mark.parametrize("tables", SIZES, ids=[f"{n // 1000}k" for n in SIZES])
def test_bench_sync(pg, store_pg, tables, tmp_path, figures):
    database = build_catalog(pg, tables)
    store = fresh_database(store_pg, "store")
    store_base = f"{store_pg.user}:{store_pg.password}@{store_pg.host}:{store_pg.port}"
    base = f"{pg.user}:{pg.password}@{pg.host}:{pg.port}"
    cfg = {
        "host": pg.host,
        "port": pg.port,
        "user": pg.user,
        "password": pg.password,
        "database": database,
        "rounds": ROUNDS.get(tables, DEFAULT_ROUNDS),
        "dsn": f"postgresql://{base}/{database}?sslmode=disable",
        "sqlalchemy_url": f"postgresql+psycopg://{base}/{database}?sslmode=disable",
        "schemas": [f"s{s:02d}" for s in range(SCHEMAS)],
        "stores": {
            "sqlite": f"sqlite:///{tmp_path / 'store.db'}",
            "postgres": f"postgresql+psycopg://{store_base}/{store}",
        },
    }
    env = {
        **os.environ,
        "DATADOCK_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATADOCK_LOG_LEVEL": "WARNING",
    }
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench.sync_runner", json.dumps(cfg)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    for count, columns, changes in result["checks"]:
        assert count == tables and changes == 0
        assert columns in (None, tables * COLUMNS)

    flat, reflection = min(result["flat"]), min(result["reflection"])
    columns_only = min(result["flat_columns"])
    label = f"{tables // 1000}k"
    rounds = ROUNDS.get(tables, DEFAULT_ROUNDS)
    print(f"\nsync of {tables} tables × {COLUMNS} columns, min of {rounds} interleaved rounds:")
    print(
        f"  flat catalog reads (columns with comments, foreign keys): {flat:.2f} s; the columns "
        f"alone: {columns_only:.2f} s; SQLAlchemy bulk reflection: {reflection:.2f} s"
    )
    for store, name in (("sqlite", "SQLite"), ("postgres", "PostgreSQL (stale stats)")):
        for kind in ("first", "repeat"):
            took = min(result[f"{store}_{kind}"])
            print(
                f"  {name} store, {kind} sync: {took:.2f} s = {took / flat:.2f}× flat "
                f"({took / columns_only:.2f}× the columns alone), "
                f"{took / reflection:.2f}× reflection (all: "
                f"{', '.join(f'{t:.2f}' for t in result[f'{store}_{kind}'])})"
            )
            figures.append(
                Figure(
                    f"sync {label}, {name} store, {kind}",
                    took,
                    flat,
                    "flat reads",
                    f"≤ {GOAL}×",
                    took <= GOAL * flat,
                )
            )
        figures.append(
            Figure(
                f"sync {label}, {name} store, repeated, vs reflection",
                min(result[f"{store}_repeat"]),
                reflection,
                "SQLAlchemy bulk",
                "(reference)",
                None,
            )
        )
    peak = max(result["rss_mb"])
    print(
        f"  peak RSS during a sync: {peak:.0f} MB (held {result['rss_before_mb']:.0f} MB "
        f"before, every driver imported)"
    )
    figures.append(
        Figure(f"sync {label}, peak RSS", peak, None, "", "< 250 MB", peak < 250, unit="MB")
    )
