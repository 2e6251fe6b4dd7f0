"""What a PostgreSQL sync stores: kinds (tables, views, materialized views), columns, primary and
foreign keys, row estimates, odd names; schema patterns applied in the catalog query itself.
Against a fresh database on the throwaway PostgreSQL."""

from __future__ import annotations

import psycopg
import pytest

from tests.integration.jobs_helpers import (
    add_source,
    fresh_database,
    run_sql,
    sync_once,
    tables_of,
)
from webapp.dialects import SchemaFilter, get_dialect
from webapp.dialects.postgres import CATALOG_QUERY, schema_conditions

SCHEMA = '''
CREATE SCHEMA "Sales Data";
CREATE TABLE "Sales Data"."Customers ""VIP""" (
    id int PRIMARY KEY,
    "full name" text NOT NULL DEFAULT 'n/a',
    "ünïcödé" numeric(8,3),
    code varchar(20));
CREATE TABLE "Sales Data".orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer int REFERENCES "Sales Data"."Customers ""VIP"""(id));
CREATE TABLE public.parent (a int, b int, label text, PRIMARY KEY (a, b));
CREATE TABLE public.child (
    id int PRIMARY KEY, pa int, pb int,
    CONSTRAINT child_parent_fk FOREIGN KEY (pb, pa) REFERENCES public.parent (b, a));
CREATE VIEW public.parent_labels AS SELECT label FROM public.parent;
CREATE MATERIALIZED VIEW public.parent_count AS SELECT count(*) AS n FROM public.parent;
CREATE TABLE public.measurements (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE public.measurements_2024 PARTITION OF public.measurements
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO public.parent SELECT i, i, 'x' FROM generate_series(1, 2000) i;
ANALYZE public.parent;
CREATE SCHEMA analytics_raw;
CREATE TABLE analytics_raw.events (id int);
CREATE SCHEMA analytics_mart;
CREATE TABLE analytics_mart.daily (day date PRIMARY KEY);
CREATE SCHEMA scratch;
CREATE TABLE scratch.tmp (x int);
'''


@pytest.fixture(scope="module")
def catalog_db(pg):
    name = fresh_database(pg, "catalog")
    run_sql(pg, name, SCHEMA)
    return name


def test_sync_stores_kinds_keys_estimates_and_odd_names(app, admin, pg, catalog_db):
    with app.app_context():
        source = sync_once(add_source(pg, catalog_db).id)
        assert source.last_sync_status == "SUCCESS", source.sync_error_message
        tables = tables_of(source)

        vip = tables[("Sales Data", 'Customers "VIP"')]
        assert vip.kind == "table"
        assert [c["name"] for c in vip.columns] == ["id", "full name", "ünïcödé", "code"]
        cols = {c["name"]: c for c in vip.columns}
        assert cols["id"] == {
            "name": "id",
            "type": "integer",
            "nullable": False,
            "default": None,
            "primaryKey": True,
            "ordinal": 1,
        }
        assert cols["full name"]["default"] == "'n/a'::text"
        assert cols["full name"]["nullable"] is False
        assert cols["ünïcödé"]["type"] == "numeric(8,3)"
        assert cols["code"]["type"] == "character varying(20)"

        orders = tables[("Sales Data", "orders")]
        assert orders.foreign_keys == [
            {
                "name": "orders_customer_fkey",
                "columns": ["customer"],
                "referredSchema": "Sales Data",
                "referredTable": 'Customers "VIP"',
                "referredColumns": ["id"],
            }
        ]

        # A composite key keeps the declared column order on both sides.
        child = tables[("public", "child")]
        assert child.foreign_keys == [
            {
                "name": "child_parent_fk",
                "columns": ["pb", "pa"],
                "referredSchema": "public",
                "referredTable": "parent",
                "referredColumns": ["b", "a"],
            }
        ]
        parent = tables[("public", "parent")]
        assert [c["name"] for c in parent.columns if c["primaryKey"]] == ["a", "b"]
        assert parent.row_estimate == 2000
        assert tables[("public", "child")].row_estimate is None  # never analyzed

        assert tables[("public", "parent_labels")].kind == "view"
        assert tables[("public", "parent_labels")].row_estimate is None
        assert tables[("public", "parent_count")].kind == "materialized view"
        # A partitioned table shows once; its partitions do not.
        assert tables[("public", "measurements")].kind == "table"
        assert ("public", "measurements_2024") not in tables
        assert source.sync_error_message is None


def test_schema_patterns_are_applied_in_the_catalog_query(app, admin, pg, catalog_db):
    with app.app_context():
        created = add_source(
            pg,
            catalog_db,
            includeSchemas="public, analytics_*, SALES*",
            excludeSchemas="analytics_raw",
        )
        tables = tables_of(sync_once(created.id))
    schemas = {schema for schema, _ in tables}
    assert schemas == {"public", "analytics_mart", "Sales Data"}

    # The filter is in the SQL: the server returns no row of an excluded schema.
    conditions, params = schema_conditions(
        "n.nspname", SchemaFilter.parse("public, analytics_*", "analytics_raw")
    )
    with psycopg.connect(pg.superuser_dsn(catalog_db)) as conn:
        rows = conn.execute(CATALOG_QUERY.format(filters=conditions), params).fetchall()
    assert {r[0] for r in rows} == {"public", "analytics_mart"}


def test_a_pattern_with_sql_wildcards_matches_literally(app, admin, pg):
    name = fresh_database(pg, "likes")
    run_sql(
        pg,
        name,
        "CREATE SCHEMA a_b; CREATE TABLE a_b.t (x int);"
        "CREATE SCHEMA axb; CREATE TABLE axb.t (x int);",
    )
    with app.app_context():
        tables = tables_of(sync_once(add_source(pg, name, includeSchemas="a_b").id))
    assert set(tables) == {("a_b", "t")}  # "_" is a character here, not LIKE's wildcard


def test_redshift_information_schema_variant_reads_keys_too(app, admin, pg, catalog_db):
    """Redshift's catalog query runs on information_schema, which PostgreSQL has as well."""
    with app.app_context():
        source = sync_once(
            add_source(
                pg,
                catalog_db,
                dialect="REDSHIFT",
                displayName="As Redshift",
                excludeSchemas="analytics_*, scratch",
            ).id
        )
        assert source.last_sync_status == "SUCCESS", source.sync_error_message
        tables = tables_of(source)
    assert {s for s, _ in tables} == {"public", "Sales Data"}
    child = tables[("public", "child")]
    assert child.foreign_keys == [
        {
            "name": "child_parent_fk",
            "columns": ["pb", "pa"],
            "referredSchema": "public",
            "referredTable": "parent",
            "referredColumns": ["b", "a"],
        }
    ]
    cols = {c["name"]: c for c in tables[("Sales Data", 'Customers "VIP"')].columns}
    assert cols["ünïcödé"]["type"] == "numeric(8,3)"
    assert cols["code"]["type"] == "character varying(20)"
    assert cols["id"]["primaryKey"] and not cols["id"]["nullable"]
    assert tables[("public", "parent_labels")].kind == "view"
    assert tables[("public", "parent")].row_estimate is None


def test_introspect_streams_one_table_at_a_time(pg, catalog_db):
    """The dialect yields TableInfo objects lazily from a server-side cursor."""
    dialect = get_dialect("POSTGRES")
    with psycopg.connect(pg.superuser_dsn(catalog_db)) as conn:
        stream = dialect.introspect(conn, SchemaFilter.parse("public", None))
        first = next(stream)
        # While the stream is open, the named cursor exists on the server.
        cursors = conn.execute("SELECT name FROM pg_cursors").fetchall()
        rest = list(stream)
    assert ("datadock_catalog",) in cursors
    assert [first.name, *[t.name for t in rest]] == sorted(
        ["child", "measurements", "parent", "parent_count", "parent_labels"]
    )
