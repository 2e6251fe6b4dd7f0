"""Table and column comments (COMMENT ON, TABLE_COMMENT/COLUMN_COMMENT, DuckDB's COMMENT ON)
are read by the sync and stored: on the table row, and as "comment" in a column's dict (left
out when the column has none). Against the throwaway PostgreSQL and MariaDB and a DuckDB file."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.integration.jobs_helpers import (
    add_source,
    fresh_database,
    org,
    run_sql,
    sync_once,
    tables_of,
)
from tests.integration.test_mysql import values as maria_values
from webapp import sources as uc
from webapp.connect.verify import open_connection
from webapp.dialects import get_dialect
from webapp.jobs.diff import columns_hash

PG_SCHEMA = """
CREATE TABLE public.accounts (id int PRIMARY KEY, email text NOT NULL DEFAULT '');
CREATE VIEW public.active_accounts AS SELECT id FROM public.accounts;
CREATE TABLE public.plain (x int);
COMMENT ON TABLE public.accounts IS 'Everyone who can log in — one row per person';
COMMENT ON COLUMN public.accounts.email IS 'Lower-cased; unique per organisation';
COMMENT ON VIEW public.active_accounts IS 'Accounts not closed';
"""


def test_postgres_table_view_and_column_comments(app, admin, pg):
    name = fresh_database(pg, "comments")
    run_sql(pg, name, PG_SCHEMA)
    with app.app_context():
        source = sync_once(add_source(pg, name).id)
        assert source.last_sync_status == "SUCCESS", source.sync_error_message
        tables = tables_of(source)
        accounts = tables[("public", "accounts")]
        assert accounts.comment == "Everyone who can log in — one row per person"
        columns = {c["name"]: c for c in accounts.columns}
        assert columns["email"]["comment"] == "Lower-cased; unique per organisation"
        assert "comment" not in columns["id"]
        assert tables[("public", "active_accounts")].comment == "Accounts not closed"
        assert tables[("public", "plain")].comment is None
        # A comment is not part of the digest the diff compares (names and types only).
        bare = [{k: v for k, v in c.items() if k != "comment"} for c in accounts.columns]
        assert accounts.columns_hash == columns_hash(bare)


def test_mariadb_table_and_column_comments(app, mariadb):
    """MySQL and MariaDB keep comments in TABLE_COMMENT / COLUMN_COMMENT ('' when none); a
    view's TABLE_COMMENT is the word VIEW, which is not a comment."""
    admin = mariadb.admin("scratch")
    with admin.cursor() as cur:
        cur.execute(
            "CREATE TABLE noted (id INT PRIMARY KEY COMMENT 'Surrogate key',"
            " label VARCHAR(20) DEFAULT 'x') COMMENT 'Labels, one per line'"
        )
        cur.execute("CREATE VIEW noted_view AS SELECT id FROM noted")
    dialect = get_dialect("MARIADB")
    try:
        with app.app_context():
            opened = open_connection(dialect, maria_values(mariadb, databaseName="scratch"), 5.0)
        try:
            tables = {t.name: t for t in dialect.introspect(opened.connection)}
        finally:
            opened.close()
    finally:
        with admin.cursor() as cur:
            cur.execute("DROP VIEW noted_view")
            cur.execute("DROP TABLE noted")
        admin.close()
    assert tables["noted"].comment == "Labels, one per line"
    columns = {c["name"]: c for c in tables["noted"].columns}
    assert columns["id"]["comment"] == "Surrogate key"
    assert "comment" not in columns["label"]
    assert tables["noted_view"].kind == "view" and tables["noted_view"].comment is None
    assert tables["tmp"].comment is None  # a table without one


def test_duckdb_table_view_and_column_comments(app, admin, tmp_path):
    """DuckDB (0.10+) keeps COMMENT ON in duckdb_tables(), duckdb_views(), duckdb_columns()."""
    relative = f"comments_{tmp_path.name}.duckdb"
    path = Path(app.config["DATA_DIR"]) / relative
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, sku VARCHAR);"
            "CREATE VIEW cheap AS SELECT id FROM items;"
            "COMMENT ON TABLE items IS 'What the shop sells';"
            "COMMENT ON COLUMN items.sku IS 'Stock keeping unit';"
            "COMMENT ON VIEW cheap IS 'Items under 10';"
        )
    try:
        with app.app_context():
            raw = {"displayName": "Duck", "dialect": "DUCKDB", "databaseName": relative}
            source = sync_once(uc.create_source(org(), raw).id)
            assert source.last_sync_status == "SUCCESS", source.sync_error_message
            tables = tables_of(source)
    finally:
        path.unlink()
    items = tables[("main", "items")]
    assert items.comment == "What the shop sells"
    columns = {c["name"]: c for c in items.columns}
    assert columns["sku"]["comment"] == "Stock keeping unit" and "comment" not in columns["id"]
    assert tables[("main", "cheap")].comment == "Items under 10"
