"""Table and column comments (COMMENT ON, TABLE_COMMENT/COLUMN_COMMENT, DuckDB's COMMENT ON)
are read by the sync and stored: on the table row, and as "comment" in a column's dict (left
out when the column has none). Against the throwaway PostgreSQL and MariaDB and a DuckDB file."""

from __future__ import annotations

from tests.integration.jobs_helpers import add_source, fresh_database, run_sql, sync_once, tables_of
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
