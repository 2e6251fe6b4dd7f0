"""SingleStore (formerly MemSQL): the MySQL wire protocol, PyMySQL's connect and error table, and
SingleStore's own catalog.

What differs from MySQL: VERSION() answers the MySQL version SingleStore emulates (the real one
is the `memsql_version` variable); SingleStore has no foreign keys and its
KEY_COLUMN_USAGE is not a reliable source of primary keys, so primary keys come from
COLUMNS.COLUMN_KEY; its system databases are `memsql`, `cluster` and `information_schema`.
The same queries run unchanged on MariaDB/MySQL (the tests run them live against MariaDB).
"""

from __future__ import annotations

from collections.abc import Iterator

import pymysql
import pymysql.cursors

from .base import SchemaFilter, TableInfo
from .fields import (
    database_field,
    host_field,
    password_field,
    port_field,
    ssh_fields,
    ssl_field,
    username_field,
)
from .mysql import BATCH, SYNC_READ_TIMEOUT, MySQL, catalog_query, mysql_tls_fields

SYSTEM_SCHEMAS = ("memsql", "cluster", "information_schema", "mysql", "performance_schema", "sys")
KINDS = {"BASE TABLE": "table", "VIEW": "view"}

TABLES_QUERY = """
SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, TABLE_ROWS FROM information_schema.TABLES
WHERE {where} AND TABLE_TYPE IN ('BASE TABLE', 'VIEW')
"""
# COLUMN_KEY 'PRI' marks primary key columns on SingleStore and MySQL alike.
COLUMNS_QUERY = """
SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT,
       ORDINAL_POSITION, COLUMN_KEY
FROM information_schema.COLUMNS
WHERE {where}
ORDER BY CAST(TABLE_SCHEMA AS BINARY), CAST(TABLE_NAME AS BINARY), ORDINAL_POSITION
"""


def version_name(version: str, memsql_version: str | None) -> str:
    """ "SingleStore 8.5.12" from memsql_version; a server without it says what it is."""
    if memsql_version:
        return f"SingleStore {memsql_version}"
    return f"{MySQL.version_name(version)} (not SingleStore: no memsql_version)"


class SingleStore(MySQL):
    """SingleStore (self-hosted or Helios) over PyMySQL."""

    key = "SINGLESTORE"
    label = "SingleStore"
    docs_url = "https://docs.singlestore.com/cloud/connect-to-singlestore/"
    read_only_sql = """\
CREATE USER 'datadock_reader'@'%' IDENTIFIED BY 'choose-a-long-password';
GRANT SELECT ON your_database.* TO 'datadock_reader'@'%';"""
    url_schemes: tuple[str, ...] = ("singlestoredb", "singlestore", "memsql", *MySQL.url_schemes)
    url_hosts = ("singlestore.com",)
    fields = (
        host_field(
            placeholder="svc-1234abcd-dml.aws-virginia-6.svc.singlestore.com",
            help="The workspace's host from the Helios Connect dialog, or your "
            "cluster's aggregator.",
        ),
        port_field(3306),
        database_field(max_length=64),
        username_field(max_length=80),
        password_field(),
        ssl_field(help="Helios only accepts encrypted connections; keep this on for it."),
        *mysql_tls_fields(),
        *ssh_fields(),
    )

    def catalog_version(self, connection: pymysql.connections.Connection) -> str:
        """The catalog is readable, and SingleStore's own version (memsql_version)."""
        with connection.cursor() as cur:
            cur.execute("SELECT VERSION(), (SELECT 1 FROM information_schema.TABLES LIMIT 1)")
            row = cur.fetchone()
            cur.execute("SHOW VARIABLES LIKE 'memsql_version'")
            memsql = cur.fetchone()
        return version_name(str(row[0]) if row else "", str(memsql[1]) if memsql else None)

    def server_version(self, connection: pymysql.connections.Connection) -> str:
        """SingleStore's version from memsql_version."""
        return self.catalog_version(connection)

    def introspect(
        self, connection: pymysql.connections.Connection, schemas: SchemaFilter | None = None
    ) -> Iterator[TableInfo]:
        """Two information_schema queries: tables (kind, row estimate), then every column
        streamed in table order (primary keys from COLUMN_KEY; SingleStore has no foreign
        keys). System databases are never read."""
        schemas = schemas or SchemaFilter()
        timeout = connection._read_timeout
        connection._read_timeout = max(timeout or 0, SYNC_READ_TIMEOUT)
        try:
            tables = _tables(connection, schemas)
            current: TableInfo | None = None
            cursor = connection.cursor(pymysql.cursors.SSCursor)
            try:
                cursor.execute(*_query(COLUMNS_QUERY, schemas))
                while rows := cursor.fetchmany(BATCH):
                    for schema, table, column, typ, nullable, default, ordinal, key in rows:
                        if current is None or (current.schema, current.name) != (schema, table):
                            if current is not None:
                                yield current
                            current = tables.pop((schema, table), None)
                        if current is None:
                            continue
                        current.columns.append(
                            {
                                "name": column,
                                "type": typ,
                                "nullable": nullable == "YES",
                                "default": None if default == "NULL" else default,
                                "primaryKey": key == "PRI",
                                "ordinal": int(ordinal),
                            }
                        )
            finally:
                cursor.close()
            if current is not None:
                yield current
        finally:
            connection._read_timeout = timeout


def _query(query: str, schemas: SchemaFilter) -> tuple[str, list[str] | None]:
    """MySQL's schema filter, with SingleStore's system databases left out too."""
    text, params = catalog_query(query, schemas)
    if params is not None:
        system = ", ".join(f"'{s}'" for s in SYSTEM_SCHEMAS)
        text = text.replace("WHERE (", f"WHERE TABLE_SCHEMA NOT IN ({system}) AND (", 1)
    return text, params


def _tables(
    connection: pymysql.connections.Connection, schemas: SchemaFilter
) -> dict[tuple[str, str], TableInfo]:
    tables: dict[tuple[str, str], TableInfo] = {}
    with connection.cursor(pymysql.cursors.SSCursor) as cur:
        cur.execute(*_query(TABLES_QUERY, schemas))
        for schema, name, kind, rows in cur:
            if schemas.allows(schema) and kind in KINDS:
                kind = KINDS[kind]
                tables[(schema, name)] = TableInfo(
                    schema,
                    name,
                    kind,
                    row_estimate=(None if kind == "view" or rows is None else int(rows)),
                )
    return tables


REGISTER = (SingleStore(),)
