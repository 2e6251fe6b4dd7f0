"""SQLITE and DUCKDB: real database files written by the tests into the app's data folder,
verified, synced, and every way of reaching outside the folder refused."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import duckdb
import pytest

from tests.integration.test_sources_postgres import org, sync_once, tables_of
from webapp import sources as uc
from webapp.connect.errors import ConnectionFailed
from webapp.connect.verify import open_connection
from webapp.dialects import SchemaFilter, get_dialect

OUTSIDE = "Use a path inside the data folder"
NOT_FOUND = "File not found in the data folder"

SQLITE_SCHEMA = """
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT DEFAULT 'none');
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id),
                     total NUMERIC(10,2));
CREATE TABLE order_lines (order_id INTEGER NOT NULL REFERENCES orders, line_no INTEGER NOT NULL,
                          product TEXT, PRIMARY KEY (order_id, line_no));
CREATE TABLE line_notes (id INTEGER PRIMARY KEY, order_id INTEGER, line_no INTEGER,
                         FOREIGN KEY (order_id, line_no) REFERENCES order_lines);
CREATE TABLE "we""ird 'tåble" ("spa ced col" INTEGER PRIMARY KEY, "ünï""cödé" TEXT);
CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 100;
INSERT INTO customers (name) VALUES ('ann'), ('bob'), ('cy');
ANALYZE;
"""

DUCKDB_SCHEMA = """
CREATE TABLE customers (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL,
                        email VARCHAR DEFAULT 'none');
CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INTEGER REFERENCES customers(id),
                     total DECIMAL(10,2));
CREATE TABLE order_lines (order_id BIGINT REFERENCES orders(id), line_no INTEGER,
                          PRIMARY KEY (order_id, line_no));
CREATE TABLE line_notes (id INTEGER, order_id BIGINT, line_no INTEGER,
                         FOREIGN KEY (order_id, line_no) REFERENCES order_lines(order_id, line_no));
CREATE TABLE "we""ird 'tåble" ("spa ced col" INTEGER PRIMARY KEY, "ünï""cödé" VARCHAR);
CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 100;
CREATE SCHEMA analytics;
CREATE TABLE analytics.events (id BIGINT PRIMARY KEY, payload JSON);
CREATE SCHEMA scratch;
CREATE TABLE scratch.tmp (x INTEGER);
INSERT INTO customers (id, name) VALUES (1, 'ann'), (2, 'bob'), (3, 'cy');
"""


@pytest.fixture
def data_dir(app) -> Path:
    """The app's data folder (DATA_DIR, created at start)."""
    folder = Path(app.config["DATA_DIR"])
    assert folder.is_dir()
    return folder


def make_sqlite(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path)
    connection.executescript(SQLITE_SCHEMA)
    connection.close()
    return path


def make_duckdb(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as connection:
        connection.execute(DUCKDB_SCHEMA)
    return path


MAKERS = {"SQLITE": make_sqlite, "DUCKDB": make_duckdb}


def values(dialect: str, path: str, **changes):
    return {"displayName": f"{dialect} file", "dialect": dialect, "databaseName": path, **changes}


def refusal(app, raw) -> uc.SourceError | ConnectionFailed:
    with app.app_context(), pytest.raises((uc.SourceError, ConnectionFailed)) as caught:
        uc.verify_input(raw)
    return caught.value


@pytest.mark.parametrize("dialect", ["SQLITE", "DUCKDB"])
def test_verify_walks_the_file_ladder(app, data_dir, dialect):
    MAKERS[dialect](data_dir / "sales" / "shop.db")
    with app.app_context():
        result = uc.verify_input(values(dialect, "sales/shop.db"))
    assert result.server_version.startswith("SQLite 3." if dialect == "SQLITE" else "DuckDB v")
    assert [(s["name"], s["status"]) for s in result.steps] == [
        ("fields", "ok"),
        ("file", "ok"),
        ("database", "ok"),
        ("catalog", "ok"),
    ]


@pytest.mark.parametrize("dialect", ["SQLITE", "DUCKDB"])
def test_sync_reads_tables_views_keys_and_odd_names(app, admin, data_dir, dialect):
    MAKERS[dialect](data_dir / "shop.db")
    with app.app_context():
        source = sync_once(uc.create_source(org(app), values(dialect, "shop.db")).id)
        assert source.last_sync_status == "SUCCESS", source.sync_error_message
        tables = tables_of(source)
        assert {
            "main.customers",
            "main.orders",
            "main.order_lines",
            "main.line_notes",
            "main.big_orders",
            "main.we\"ird 'tåble",
        } <= set(tables)
        assert tables["main.big_orders"].kind == "view"
        assert tables["main.customers"].kind == "table"
        customers = tables["main.customers"].columns
        assert [c["name"] for c in customers] == ["id", "name", "email"]
        assert [c["ordinal"] for c in customers] == [1, 2, 3]
        assert customers[0]["primaryKey"] and not customers[1]["nullable"]
        assert customers[2]["nullable"] and customers[2]["default"] == "'none'"
        lines = tables["main.order_lines"].columns
        assert [c["name"] for c in lines if c["primaryKey"]] == ["order_id", "line_no"]
        odd = tables["main.we\"ird 'tåble"].columns
        assert [c["name"] for c in odd] == ["spa ced col", 'ünï"cödé']
        [fk] = tables["main.orders"].foreign_keys
        assert (fk["columns"], fk["referredTable"]) == (["customer_id"], "customers")
        assert tables["main.customers"].row_estimate == 3
    page = admin.get(f"/sources/{source.id}").get_data(as_text=True)
    assert "line_notes" in page


def introspect(app, dialect: str, path: str, schemas: SchemaFilter | None = None) -> dict:
    d = get_dialect(dialect)
    with app.app_context():
        opened = open_connection(d, values(dialect, path), 5.0)
    try:
        return {f"{t.schema}.{t.name}": t for t in d.introspect(opened.connection, schemas)}
    finally:
        opened.close()


@pytest.mark.parametrize("dialect", ["SQLITE", "DUCKDB"])
def test_foreign_keys_and_row_estimates(app, data_dir, dialect):
    MAKERS[dialect](data_dir / "shop.db")
    tables = introspect(app, dialect, "shop.db")
    [orders_fk] = tables["main.orders"].foreign_keys
    assert (
        orders_fk["columns"],
        orders_fk["referredSchema"],
        orders_fk["referredTable"],
        orders_fk["referredColumns"],
    ) == (["customer_id"], "main", "customers", ["id"])
    # A composite key; in SQLite it names no columns and refers to the parent's primary key.
    [notes_fk] = tables["main.line_notes"].foreign_keys
    assert notes_fk["columns"] == ["order_id", "line_no"]
    assert notes_fk["referredTable"] == "order_lines"
    assert notes_fk["referredColumns"] == ["order_id", "line_no"]
    assert tables["main.order_lines"].foreign_keys[0]["referredColumns"] == ["id"]
    assert tables["main.customers"].row_estimate == 3
    assert tables["main.big_orders"].row_estimate is None


def test_duckdb_schemas_follow_the_include_and_exclude_patterns(app, data_dir):
    make_duckdb(data_dir / "wh.duckdb")
    every = {t.split(".")[0] for t in introspect(app, "DUCKDB", "wh.duckdb")}
    assert every == {"main", "analytics", "scratch"}
    picked = introspect(app, "DUCKDB", "wh.duckdb", SchemaFilter.parse("*", "scr*"))
    assert {t.split(".")[0] for t in picked} == {"main", "analytics"}
    assert picked["analytics.events"].columns[1]["type"] == "JSON"


def test_sqlite_excluding_main_reads_nothing(app, data_dir):
    make_sqlite(data_dir / "shop.db")
    assert introspect(app, "SQLITE", "shop.db", SchemaFilter.parse("", "main")) == {}


def test_sqlite_with_a_broken_view_still_syncs(app, data_dir):
    path = make_sqlite(data_dir / "broken.db")
    connection = sqlite3.connect(path)
    connection.executescript(
        "CREATE TABLE gone (x INTEGER); CREATE VIEW stale AS SELECT x FROM gone; DROP TABLE gone;"
    )
    connection.close()
    tables = introspect(app, "SQLITE", "broken.db")
    assert tables["main.stale"].kind == "view" and tables["main.stale"].columns == []
    assert [c["name"] for c in tables["main.big_orders"].columns] == ["id", "total"]
    assert tables["main.orders"].foreign_keys[0]["referredTable"] == "customers"


def test_sqlite_file_names_are_not_read_as_uri_syntax(app, data_dir):
    make_sqlite(data_dir / "odd #1 ?mode=rw&x.db")
    with app.app_context():
        assert uc.verify_input(values("SQLITE", "odd #1 ?mode=rw&x.db")).server_version


@pytest.mark.parametrize("dialect", ["SQLITE", "DUCKDB"])
@pytest.mark.parametrize(
    "path", ["/etc/passwd", "../x.db", "sales/../../x.db", "~/x.db", "..\\x.db"]
)
def test_paths_outside_the_folder_are_refused_before_anything_is_opened(
    app, data_dir, dialect, path
):
    error = refusal(app, values(dialect, path))
    assert isinstance(error, uc.ValidationFailed)
    assert error.field_errors["databaseName"].startswith(OUTSIDE)


@pytest.mark.parametrize("dialect", ["SQLITE", "DUCKDB"])
def test_a_symlink_pointing_outside_is_refused(app, data_dir, tmp_path, dialect):
    outside = MAKERS[dialect](tmp_path / "elsewhere" / "private.db")
    (data_dir / "link.db").symlink_to(outside)
    (data_dir / "linked-folder").symlink_to(outside.parent, target_is_directory=True)
    (data_dir / "passwd").symlink_to("/etc/passwd")
    for path in ("link.db", "linked-folder/private.db", "passwd"):
        error = refusal(app, values(dialect, path))
        assert isinstance(error, ConnectionFailed), path
        assert error.field_errors == {"databaseName": OUTSIDE}
        assert error.step == "file" and "outside the data folder" in error.detail
        assert str(tmp_path) not in error.detail and "/etc" not in error.detail


@pytest.mark.parametrize("dialect", ["SQLITE", "DUCKDB"])
def test_a_symlink_inside_the_folder_is_followed(app, data_dir, dialect):
    MAKERS[dialect](data_dir / "real" / "shop.db")
    (data_dir / "current.db").symlink_to(data_dir / "real" / "shop.db")
    with app.app_context():
        assert uc.verify_input(values(dialect, "current.db")).server_version


@pytest.mark.parametrize("dialect", ["SQLITE", "DUCKDB"])
def test_missing_file_folder_and_non_database_file(app, data_dir, dialect):
    (data_dir / "folder.db").mkdir()
    (data_dir / "notes.txt").write_text("This is not a database, just some text.\n" * 20)
    cases = {
        "missing.db": NOT_FOUND,
        "folder.db": "This is a folder, not a file",
        "notes.txt": "Not a SQLite database" if dialect == "SQLITE" else "Not a DuckDB database",
    }
    for path, message in cases.items():
        error = refusal(app, values(dialect, path))
        assert isinstance(error, ConnectionFailed), path
        assert error.field_errors == {"databaseName": message}, path
    steps = {s["name"]: s["status"] for s in error.steps}
    assert steps == {"fields": "ok", "file": "ok", "database": "failed", "catalog": "not_run"}


def test_a_fifo_is_not_a_regular_file(app, data_dir):
    os.mkfifo(data_dir / "pipe.db")
    error = refusal(app, values("SQLITE", "pipe.db"))
    assert error.field_errors == {"databaseName": "Not a regular file"}


def test_duckdb_sql_cannot_reach_other_files(app, data_dir, tmp_path):
    make_duckdb(data_dir / "wh.duckdb")
    outside = tmp_path / "other.duckdb"
    make_duckdb(outside)
    with app.app_context():
        opened = open_connection(get_dialect("DUCKDB"), values("DUCKDB", "wh.duckdb"), 5.0)
    connection = opened.connection
    try:
        for statement in (
            "SELECT * FROM read_csv('/etc/passwd')",
            "SELECT * FROM read_text('/etc/hostname')",
            f"ATTACH '{outside}' AS other",
            f"COPY customers TO '{tmp_path / 'out.csv'}'",
            "SET enable_external_access = true",
            "INSTALL httpfs",
        ):
            with pytest.raises(duckdb.Error):
                connection.execute(statement).fetchall()
        with pytest.raises(duckdb.Error):  # opened read-only
            connection.execute("CREATE TABLE t (x INTEGER)")
        assert connection.execute("SELECT count(*) FROM customers").fetchone()[0] == 3
    finally:
        opened.close()
    assert not (tmp_path / "out.csv").exists()
    # The same statement on a connection opened without Datadock's settings does read the file.
    with duckdb.connect() as unrestricted:
        assert (
            unrestricted.execute("SELECT count(*) FROM read_text('/etc/hostname')").fetchone()[0]
            == 1
        )


def test_sqlite_sql_cannot_attach_or_write(app, data_dir, tmp_path):
    make_sqlite(data_dir / "shop.db")
    make_sqlite(tmp_path / "other.db")
    with app.app_context():
        opened = open_connection(get_dialect("SQLITE"), values("SQLITE", "shop.db"), 5.0)
    try:
        with pytest.raises(sqlite3.Error, match="too many attached"):
            opened.connection.execute(f"ATTACH DATABASE '{tmp_path / 'other.db'}' AS other")
        with pytest.raises(sqlite3.Error):
            opened.connection.execute("CREATE TABLE t (x INTEGER)")
    finally:
        opened.close()


def test_a_file_swapped_for_an_outside_link_fails_the_next_sync(app, admin, data_dir, tmp_path):
    make_sqlite(data_dir / "shop.db")
    with app.app_context():
        source = sync_once(uc.create_source(org(app), values("SQLITE", "shop.db")).id)
        assert source.last_sync_status == "SUCCESS"
        (data_dir / "shop.db").unlink()
        (data_dir / "shop.db").symlink_to(make_sqlite(tmp_path / "secret.db"))
        uc.request_sync(source)
        source = sync_once(source.id)
        assert source.last_sync_status == "FAILED"
        assert "outside the data folder" in source.sync_error_message
        assert "main.customers" in tables_of(source)  # the last good snapshot stays
