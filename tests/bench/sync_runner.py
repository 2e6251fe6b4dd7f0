"""One bench process for `bench_sync.py`: interleaved rounds of the baselines and Datadock's
syncs against one generated source database, so every ratio compares runs of the same moment.

Run as `python -m tests.bench.sync_runner CONFIG_JSON`; prints one JSON line of results. Per
round: the flat catalog reads (a row per column with its comments, the foreign keys' rows;
fetched whole) and, for reference, the columns alone, SQLAlchemy 2's bulk reflection
(get_multi_columns + get_multi_pk_constraint + get_multi_foreign_keys), and for each store a
first sync (no previous snapshot) and a repeated sync (diffed against the first: nothing
changed, so no table is written and the current snapshot stays as it is). The
PostgreSQL store's statistics are made stale on purpose: analysed while `schema_tables` was
empty, with autovacuum off for it, so the planner believes the snapshots are tiny.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import psycopg
from sqlalchemy import create_engine, delete, event, inspect, text

# The physical limit, on equal terms with the sync: the same information in flat reads, fetched
# whole, nothing grouped or stored. The columns query (a row per column) joins pg_description
# for the table's and the column's comments, as the sync's own query did before it streamed a
# row per table; the foreign keys are their pg_constraint rows as they are (column numbers,
# which the columns rows name; referred table by name), the cheapest read of them.
FLAT_QUERY = """
SELECT n.nspname, c.relname, c.relkind, c.reltuples, a.attname,
       pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_catalog.pg_get_expr(d.adbin, d.adrelid), COALESCE(a.attnum = ANY (pk.conkey), false),
       a.attnum, td.description, cd.description
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_catalog.pg_constraint pk ON pk.conrelid = c.oid AND pk.contype = 'p'
LEFT JOIN pg_catalog.pg_description td
       ON td.objoid = c.oid AND td.classoid = 'pg_catalog.pg_class'::regclass AND td.objsubid = 0
LEFT JOIN pg_catalog.pg_description cd
       ON cd.objoid = c.oid AND cd.classoid = 'pg_catalog.pg_class'::regclass
      AND cd.objsubid = a.attnum
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
ORDER BY n.nspname, c.relname, a.attnum
"""

FLAT_FOREIGN_KEYS = """
SELECT fk.conrelid, fk.conname, fk.conkey, fk.confrelid, fk.confkey, fn.nspname, fc.relname
FROM pg_catalog.pg_constraint fk
JOIN pg_catalog.pg_namespace n ON n.oid = fk.connamespace
JOIN pg_catalog.pg_class fc ON fc.oid = fk.confrelid
JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
WHERE fk.contype = 'f' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
"""

# The original baseline: the columns alone, no comments and no foreign keys (printed
# for reference next to the equal-terms one).
COLUMNS_ONLY_QUERY = """
SELECT n.nspname, c.relname, c.relkind, a.attname,
       pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_catalog.pg_get_expr(d.adbin, d.adrelid), COALESCE(a.attnum = ANY (pk.conkey), false),
       a.attnum
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_catalog.pg_constraint pk ON pk.conrelid = c.oid AND pk.contype = 'p'
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
ORDER BY n.nspname, c.relname, a.attnum
"""


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # VmHWM := VmRSS: from here on the peak is what follows


def flat_read(cfg: dict[str, Any]) -> tuple[float, int, float]:
    """The physical limit on equal terms: the flat columns query and the flat foreign-key
    query, fetched whole; also the columns-only query's time (the issue's first baseline)."""
    with psycopg.connect(cfg["dsn"]) as conn:
        conn.execute("SET jit = off")
        started = time.perf_counter()
        rows = conn.execute(FLAT_QUERY).fetchall()
        conn.execute(FLAT_FOREIGN_KEYS).fetchall()
        took = time.perf_counter() - started
        started = time.perf_counter()
        conn.execute(COLUMNS_ONLY_QUERY).fetchall()
        columns_only = time.perf_counter() - started
        return took, len({(r[0], r[1]) for r in rows}), columns_only


def bulk_reflection(cfg: dict[str, Any], schemas: list[str]) -> tuple[float, int]:
    """SQLAlchemy 2's bulk reflection of columns, primary keys and foreign keys."""
    engine = create_engine(cfg["sqlalchemy_url"])
    event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("SET jit = off"))
    tables = 0
    try:
        with engine.connect() as conn:
            started = time.perf_counter()
            inspector = inspect(conn)
            for schema in schemas:
                columns = inspector.get_multi_columns(schema=schema)
                inspector.get_multi_pk_constraint(schema=schema)
                inspector.get_multi_foreign_keys(schema=schema)
                tables += len(columns)
            took = time.perf_counter() - started
    finally:
        engine.dispose()
    return took, tables


def _setup_store(app, cfg: dict[str, Any], stale: bool) -> int:
    from flask_migrate import upgrade

    from webapp.extensions import db
    from webapp.models import Organization, Source
    from webapp.records import vault

    with app.app_context():
        upgrade()
        if stale:
            db.session.execute(text("ANALYZE schema_tables"))
            db.session.execute(text("ALTER TABLE schema_tables SET (autovacuum_enabled = false)"))
            db.session.commit()
        org = Organization(name="Bench")
        db.session.add(org)
        db.session.commit()
        source = Source(
            organization_id=org.id,
            display_name="Big",
            dialect="POSTGRES",
            host=cfg["host"],
            port=cfg["port"],
            database_name=cfg["database"],
            username=cfg["user"],
            ssl_enabled=False,
            settings={},
            secrets_blob=vault().encrypt({"password": cfg["password"]}),
        )
        db.session.add(source)
        db.session.commit()
        return source.id


def _sync(app, source_id: int, first: bool) -> dict[str, Any]:
    from webapp.extensions import db
    from webapp.jobs.claims import claim_due_syncs
    from webapp.jobs.sync import run_sync
    from webapp.models import SchemaSnapshot, SchemaTable, Source, SyncRun, utcnow

    with app.app_context():
        source = db.session.get(Source, source_id)
        if first:  # forget every snapshot: this sync has nothing to diff against
            source.current_snapshot_id = None
            db.session.commit()
            db.session.execute(delete(SchemaTable))
            db.session.execute(delete(SchemaSnapshot))
        source.next_sync_at = utcnow()
        db.session.commit()
        assert claim_due_syncs("bench", utcnow(), 600, 1) == [source_id]
        _reset_peak()
        started = time.perf_counter()
        run_sync(source_id, "bench")
        took = time.perf_counter() - started
        peak = _status("VmHWM") / 1024
        db.session.expire_all()
        source = db.session.get(Source, source_id)
        assert source.last_sync_status == "SUCCESS", source.sync_error_message
        run = db.session.scalars(db.select(SyncRun).order_by(SyncRun.id.desc())).first()
        return {
            "time": took,
            "peak_mb": peak,
            "tables": run.table_count,
            "columns": run.column_count,
            "changes": run.change_count,
        }


def main() -> None:
    cfg = json.loads(sys.argv[1])
    from webapp import create_app

    apps, sources = {}, {}
    for store, url in cfg["stores"].items():
        apps[store] = create_app(
            {"SCHEDULER_ENABLED": False, "VERIFY_TIMEOUT": 30.0, "SQLALCHEMY_DATABASE_URI": url}
        )
        sources[store] = _setup_store(apps[store], cfg, stale=url.startswith("postgresql"))
    results: dict[str, list] = {
        "flat": [],
        "flat_columns": [],
        "reflection": [],
        "rss_mb": [],
        "checks": [],
    }
    for store in apps:
        results[f"{store}_first"], results[f"{store}_repeat"] = [], []
    rss_before = _status("VmRSS") / 1024
    for n in range(cfg["rounds"]):
        for store, app in apps.items():
            for kind in ("first", "repeat"):
                done = _sync(app, sources[store], first=kind == "first")
                results[f"{store}_{kind}"].append(done["time"])
                if n == 0:  # before any baseline ran in this process
                    results["rss_mb"].append(done["peak_mb"])
                results["checks"].append([done["tables"], done["columns"], done["changes"]])
        took, tables, columns_only = flat_read(cfg)
        results["flat"].append(took)
        results["flat_columns"].append(columns_only)
        results["checks"].append([tables, None, 0])
        if n < cfg.get("reflection_rounds", cfg["rounds"]):
            took, tables = bulk_reflection(cfg, cfg["schemas"])
            results["reflection"].append(took)
            results["checks"].append([tables, None, 0])
    results["rss_before_mb"] = rss_before
    print(json.dumps(results))


if __name__ == "__main__":
    main()
