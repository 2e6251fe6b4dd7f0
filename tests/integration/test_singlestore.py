"""SINGLESTORE against the throwaway MariaDB (the MySQL wire protocol SingleStore speaks).

No SingleStore server can run here: its catalog differences (memsql_version, no foreign keys,
primary keys from COLUMNS.COLUMN_KEY, its system databases) are read by queries that run on
MariaDB too, so verify and sync are live; the version naming of a real SingleStore is checked
on the string it would answer.
"""

from __future__ import annotations

from tests.integration.test_mysql import values
from tests.integration.test_sources_postgres import org, sync_once, tables_of
from tests.integration.test_verify_postgres import failure
from tests.servers import free_port
from webapp import sources as uc
from webapp.dialects import SchemaFilter, get_dialect
from webapp.dialects.singlestore import _query, version_name


def store_values(server, **changes):
    return values(server, dialect="SINGLESTORE", displayName="Store", **changes)


def test_verify_walks_every_step_and_says_the_server_is_not_singlestore(app, mariadb):
    with app.app_context():
        result = uc.verify_input(store_values(mariadb))
    assert result.server_version.startswith("MariaDB 10.")
    assert "not SingleStore" in result.server_version
    assert {s["name"]: s["status"] for s in result.steps} == {
        "fields": "ok",
        "dns": "ok",
        "tcp": "ok",
        "ssh": "skipped",
        "response": "ok",
        "tls": "skipped",
        "auth": "ok",
        "database": "ok",
        "catalog": "ok",
    }


def test_wrong_password_and_refused_port_are_field_errors(app, mariadb):
    error = failure(app, store_values(mariadb, password="not-the-password"))
    assert error.field_errors == {
        "username": "Incorrect username or password",
        "password": "Incorrect username or password",
    }
    assert "not-the-password" not in error.detail
    error = failure(app, store_values(mariadb, port=free_port()))
    assert error.field_errors == {"port": "Incorrect port"}


def test_sync_reads_tables_views_and_primary_keys_without_foreign_keys(app, admin, mariadb):
    with app.app_context():
        source = sync_once(uc.create_source(org(app), store_values(mariadb)).id)
        assert source.last_sync_status == "SUCCESS", source.sync_error_message
        tables = tables_of(source)
        assert {t.schema_name for t in tables.values()} == {"appdb"}
        assert tables["appdb.big_orders"].kind == "view"
        assert tables["appdb.big_orders"].row_estimate is None
        assert tables["appdb.customers"].row_estimate == 3
        lines = tables["appdb.order_lines"].columns
        assert [c["name"] for c in lines if c["primaryKey"]] == ["order_id", "line_no"]
        orders = {c["name"]: c for c in tables["appdb.orders"].columns}
        assert orders["id"]["primaryKey"] and orders["total"]["type"] == "decimal(10,2)"
        # SingleStore has no foreign keys: none are read (MariaDB has one here).
        assert tables["appdb.orders"].foreign_keys == []


def test_schema_patterns_never_read_system_databases(app, mariadb):
    from webapp.connect.verify import open_connection

    dialect = get_dialect("SINGLESTORE")
    with app.app_context():
        opened = open_connection(dialect, store_values(mariadb), 5.0)
    try:
        schemas = {
            t.schema
            for t in dialect.introspect(opened.connection, SchemaFilter.parse("*", "scratch"))
        }
    finally:
        opened.close()
    assert schemas == {"appdb", "analytics"}
    text, _ = _query("SELECT 1 FROM t WHERE {where}", SchemaFilter.parse("*", ""))
    assert "'memsql'" in text and "'cluster'" in text


def test_singlestore_version_names_memsql_version():
    assert version_name("5.7.32", "8.5.12") == "SingleStore 8.5.12"
    assert version_name("8.0.36", None) == "MySQL 8.0.36 (not SingleStore: no memsql_version)"


def test_pasted_singlestore_url_fills_the_fields():
    dialect = get_dialect("SINGLESTORE")
    read = dialect.read_url("singlestore://admin@svc-1.singlestore.com:3333/shop")
    assert read["host"] == "svc-1.singlestore.com" and read["databaseName"] == "shop"
    assert read["port"] == 3333
