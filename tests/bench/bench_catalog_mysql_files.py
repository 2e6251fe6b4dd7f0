"""Catalog reads of the MySQL family (MariaDB), SQLite and DuckDB: Datadock's few bulk streamed
queries against the per-table loop they replace, measured in the same run on the same catalog
(MariaDB on loopback, so round trips cost next to nothing and the loop is at its best).

Run with `make bench`. Prints figures and ratios; asserts nothing about speed.
"""

from __future__ import annotations

import sqlite3
import time
import tracemalloc
from pathlib import Path

import duckdb
import pymysql

from webapp.connect.verify import open_connection
from webapp.dialects import SchemaFilter, get_dialect

TABLES = 500


def _ddl(i: int) -> str:
    return (
        f"CREATE TABLE t{i:05d} (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES "
        f"t{max(i - 1, 0):05d}(id), name VARCHAR(40) NOT NULL, amount DECIMAL(10,2), "
        f"note VARCHAR(200) DEFAULT 'x', created DATE)"
    )


def _measure(label: str, ours, baseline) -> None:
    started = time.perf_counter()
    base_count = baseline()
    base_s = time.perf_counter() - started
    started = time.perf_counter()
    count = sum(1 for _ in ours())
    ours_s = time.perf_counter() - started
    tracemalloc.start()  # a second pass: tracing slows Python down
    sum(1 for _ in ours())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == base_count == TABLES, (count, base_count)
    print(
        f"\n{label}: {TABLES} tables; per-table loop {base_s * 1000:.0f} ms; Datadock's bulk "
        f"streamed queries {ours_s * 1000:.0f} ms; ratio {ours_s / base_s:.2f}x; "
        f"Python peak while streaming {peak / 1e6:.1f} MB"
    )


def test_bench_mariadb_catalog(app, mariadb):
    admin = mariadb.admin()
    with admin.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS bench")
        cur.execute("USE bench")
        for i in range(TABLES):
            cur.execute(_ddl(i).replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS"))
        cur.execute(f"GRANT ALL ON bench.* TO '{mariadb.user}'@'%'")
    admin.close()
    dialect = get_dialect("MARIADB")
    raw = {
        "host": mariadb.host,
        "port": mariadb.port,
        "databaseName": "bench",
        "username": mariadb.user,
        "password": mariadb.password,
        "sslEnabled": False,
    }
    with app.app_context():
        opened = open_connection(dialect, raw, 10.0)
    connection = opened.connection

    def per_table() -> int:
        with connection.cursor() as cur:
            cur.execute("SHOW TABLES")
            names = [r[0] for r in cur.fetchall()]
            for name in names:
                cur.execute(
                    "SELECT * FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
                    "DATABASE() AND TABLE_NAME = %s",
                    (name,),
                )
                cur.fetchall()
                cur.execute(
                    "SELECT * FROM information_schema.KEY_COLUMN_USAGE WHERE "
                    "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
                    (name,),
                )
                cur.fetchall()
        return len(names)

    try:
        _measure("MariaDB", lambda: dialect.introspect(connection, SchemaFilter()), per_table)
    finally:
        opened.close()
        with pymysql.connect(unix_socket=str(mariadb.socket_path), user="root") as admin:
            admin.cursor().execute("DROP DATABASE bench")


def test_bench_sqlite_catalog(app):
    path = Path(app.config["DATA_DIR"]) / "bench.sqlite"
    with sqlite3.connect(path) as connection:
        connection.executescript(";\n".join(_ddl(i) for i in range(TABLES)))
    dialect = get_dialect("SQLITE")
    with app.app_context():
        opened = open_connection(dialect, {"databaseName": "bench.sqlite"}, 10.0)
    connection = opened.connection

    def per_table() -> int:
        names = [
            r[0] for r in connection.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")
        ]
        for name in names:
            connection.execute("SELECT * FROM pragma_table_info(?)", (name,)).fetchall()
            connection.execute("SELECT * FROM pragma_foreign_key_list(?)", (name,)).fetchall()
        return len(names)

    try:
        _measure("SQLite", lambda: dialect.introspect(connection, SchemaFilter()), per_table)
    finally:
        opened.close()


def test_bench_duckdb_catalog(app):
    path = Path(app.config["DATA_DIR"]) / "bench.duckdb"
    with duckdb.connect(str(path)) as connection:
        for i in range(TABLES):
            connection.execute(_ddl(i))
    dialect = get_dialect("DUCKDB")
    with app.app_context():
        opened = open_connection(dialect, {"databaseName": "bench.duckdb"}, 10.0)
    connection = opened.connection

    def per_table() -> int:
        names = [
            r[0] for r in connection.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        ]
        for name in names:
            connection.execute(
                "SELECT * FROM duckdb_columns() WHERE table_name = ?", [name]
            ).fetchall()
            connection.execute(
                "SELECT * FROM duckdb_constraints() WHERE table_name = ?", [name]
            ).fetchall()
        return len(names)

    try:
        _measure("DuckDB", lambda: dialect.introspect(connection, SchemaFilter()), per_table)
    finally:
        opened.close()
