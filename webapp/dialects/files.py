"""SQLite and DuckDB: database files read from inside the data folder, opened read-only.

No network, no secrets. The file is named relative to the data folder (connect/files.py holds
the policy and hands it over in the Target); the driver only ever sees the resolved real
path. SQLite opens with `mode=ro`, no ATTACH, `query_only` and an untrusted schema; DuckDB
opens `read_only` with external access off, so no SQL on that connection can read another
file or load an extension (a DuckDB source with attached databases loads their extensions and
attaches them read-only first, then turns external access off: dialects/duckdb_attach.py).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from ..core.failures import OUTSIDE_DATA_FOLDER as OUTSIDE
from ..core.steps import FILE_STEPS
from .base import Dialect, SchemaFilter, TableInfo, Target
from .duckdb_attach import FIELD as ATTACHMENTS
from .duckdb_attach import attach_all, attachments_field
from .duckdb_attach import parse as parse_attachments
from .errors_table import ErrorRule, Failure
from .fields import FieldInvalid, FieldSpec

log = logging.getLogger(__name__)

BATCH = 1000
FIELD = "databaseName"


def check_relative_path(value: str) -> None:
    """Refuse absolute paths, `..` and backslashes before anything is opened."""
    path = PurePosixPath(value)
    if path.is_absolute() or value.startswith("~") or ".." in path.parts or "\\" in value:
        raise FieldInvalid(f"{OUTSIDE}: a relative path such as sales/orders.db, without '..'")


def file_field(example: str) -> FieldSpec:
    """The database file, relative to the data folder."""
    return FieldSpec(
        name="databaseName",
        label="Database file",
        required=True,
        max_length=1024,
        placeholder=example,
        checks=(check_relative_path,),
        help="Path of the file relative to Datadock's data folder (DATADOCK_DATA_DIR), "
        f"e.g. {example}. Opened read-only.",
    )


def unreadable(message: str, detail: str) -> Failure:
    """The file opened but is not what its dialect reads: the error is on the path field."""
    return Failure("database", detail, {FIELD: message})


def _batches(cursor: Any) -> Iterator[tuple]:
    """Rows of an executed cursor, fetched BATCH at a time."""
    while rows := cursor.fetchmany(BATCH):
        yield from rows


class FileDialect(Dialect):
    """A database in a file: the ladder checks the file, then opens it as a database."""

    steps = FILE_STEPS
    driver_steps = ("file", "database")

    def uses_tls(self, values: dict[str, Any]) -> bool:
        """A file has no transport to encrypt."""
        return False

    def connect(self, target: Target) -> Any:
        """Check the path against the data folder's policy (connect/files.py, handed over in
        the target), then open the real path."""
        return self.open_file(target.resolve_data_file(target.values[FIELD]), target.timeout)

    def open_file(self, path: Path, timeout: float) -> Any:
        """Open `path` (already checked) read-only; driver exceptions propagate."""
        raise NotImplementedError


# Every column of every table and view in one query, in the schema table's order (no sort):
# each table's foreign keys (as JSON) and row estimate ride on its first column's row. The
# pragmas are table-valued functions taking the table's name as a value (nothing is pasted).
SQLITE_QUERY = """
SELECT m.name, m.type, p.cid, p.name, p.type, p."notnull", p.dflt_value, p.pk,
       CASE WHEN p.cid = 0 THEN {estimate} END,
       CASE WHEN p.cid = 0 AND m.type = 'table' THEN (
         SELECT json_group_array(json_array(
                  f.id, f.seq, f."table", f."from",
                  COALESCE(f."to", (SELECT t.name FROM pragma_table_info(f."table") AS t
                                    WHERE t.pk = f.seq + 1))))
         FROM pragma_foreign_key_list(m.name) AS f) END
FROM sqlite_schema AS m JOIN pragma_table_info(m.name) AS p
WHERE m.type IN ({types}) AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
ORDER BY m.rowid
"""
# ANALYZE leaves each table's row count as the first number of its sqlite_stat1 rows.
SQLITE_ESTIMATE = (
    "(SELECT CAST(s.stat AS INTEGER) FROM sqlite_stat1 AS s WHERE s.tbl = m.name "
    "ORDER BY s.idx IS NOT NULL LIMIT 1)"
)


class SQLite(FileDialect):
    """A SQLite database file."""

    key = "SQLITE"
    label = "SQLite"
    category = "Files"
    docs_url = "https://www.sqlite.org/docs.html"
    read_only_note = "A file in Datadock's data folder, opened read-only: no login to create."
    fields = (file_field("sales/orders.sqlite"),)
    # sqlite3 only has messages to tell its failures apart.
    errors = (
        ErrorRule(
            unreadable("Not a SQLite database", "The file exists but is not a SQLite database."),
            text="file is not a database",
        ),
        ErrorRule(
            unreadable(
                "The SQLite file is damaged", "SQLite reports the file as damaged (malformed)."
            ),
            text="malformed",
        ),
        ErrorRule(
            unreadable(
                "The file is locked by another program",
                "Another program holds a lock on the file; try again when it has finished writing.",
            ),
            text="locked|busy",
        ),
        ErrorRule(
            unreadable(
                "Datadock cannot open this file",
                "SQLite could not open the file read-only (a WAL database also "
                "needs its -shm file to be readable).",
            ),
            text="unable to open",
        ),
    )
    fallback = unreadable(
        "Could not read this file as a SQLite database",
        "The file could not be read as a SQLite database.",
    )

    def open_file(self, path: Path, timeout: float) -> sqlite3.Connection:
        """Open read-only through a URI built from the path (nothing typed is pasted into it)."""
        # The sync reads the catalog in a read-ahead thread (jobs/batches.py), one user at a time.
        connection = sqlite3.connect(
            path.as_uri() + "?mode=ro", uri=True, timeout=timeout, check_same_thread=False
        )
        try:
            connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)  # no ATTACH of other files
            connection.execute("PRAGMA query_only = ON")
            connection.execute("PRAGMA trusted_schema = OFF")
            connection.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        except BaseException:
            connection.close()
            raise
        return connection

    def check_catalog(self, connection: sqlite3.Connection) -> None:
        """The schema table is readable."""
        connection.execute("SELECT 1 FROM sqlite_schema LIMIT 1").fetchall()

    def server_version(self, connection: sqlite3.Connection) -> str:
        """The SQLite library's version (the file has none of its own)."""
        return f"SQLite {connection.execute('SELECT sqlite_version()').fetchone()[0]}"

    def introspect(
        self, connection: sqlite3.Connection, schemas: SchemaFilter | None = None
    ) -> Iterator[TableInfo]:
        """sqlite_schema joined with the table-info and foreign-key pragmas: one streamed query
        for the tables, one for the views.

        A view over a dropped table makes the views' query fail: views are then read one by
        one, a broken view keeping no columns.
        """
        if schemas is not None and not schemas.allows("main"):
            return
        has_stats = (
            connection.execute("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat1'").fetchone()
            is not None
        )
        query = SQLITE_QUERY.format(
            types="{types}", estimate=SQLITE_ESTIMATE if has_stats else "NULL"
        )
        yield from _sqlite_merge(_batches(connection.execute(query.format(types="'table'"))))
        try:
            views = connection.execute(query.format(types="'view'")).fetchall()
        except sqlite3.OperationalError as exc:
            log.info("SQLite views cannot be read in one query (%s); reading them one by one", exc)
            yield from _sqlite_views(connection)
            return
        yield from _sqlite_merge(views)


def _sqlite_merge(rows: Iterable[tuple]) -> Iterator[TableInfo]:
    current: TableInfo | None = None
    for name, kind, cid, column, typ, notnull, default, pk, estimate, keys in rows:
        if current is None or current.name != name:
            if current is not None:
                yield _ordered(current)
            current = TableInfo("main", name, "view" if kind == "view" else "table")
        current.columns.append(
            {
                "name": column,
                "type": typ or "",
                "nullable": not notnull,
                "default": default,
                "primaryKey": bool(pk),
                "ordinal": cid + 1,
            }
        )
        if cid == 0:
            current.row_estimate = estimate
            current.foreign_keys = _sqlite_keys(keys)
    if current is not None:
        yield _ordered(current)


def _ordered(table: TableInfo) -> TableInfo:
    table.columns.sort(key=lambda c: c["ordinal"])
    return table


def _sqlite_keys(text: str | None) -> list[dict[str, Any]]:
    """Foreign keys from the JSON rows (id, seq, table, from, to). SQLite keeps no key names."""
    keys: list[dict[str, Any]] = []
    for _, seq, table, column, referred in sorted(
        json.loads(text or "[]"), key=lambda r: (r[0], r[1])
    ):
        if seq == 0 or not keys:
            keys.append(
                {
                    "name": None,
                    "columns": [],
                    "referredSchema": "main",
                    "referredTable": table,
                    "referredColumns": [],
                }
            )
        keys[-1]["columns"].append(column)
        keys[-1]["referredColumns"].append(referred)
    return keys


def _sqlite_views(connection: sqlite3.Connection) -> Iterator[TableInfo]:
    names = [
        r[0]
        for r in connection.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'view' ORDER BY name"
        )
    ]
    for name in names:
        view = TableInfo("main", name, "view")
        try:
            rows = connection.execute(
                'SELECT cid, name, type, "notnull", dflt_value FROM pragma_table_info(?)', (name,)
            ).fetchall()
        except sqlite3.OperationalError as exc:
            log.info("SQLite view %r cannot be read: %s", name, exc)
            rows = []
        view.columns = [
            {
                "name": n,
                "type": t or "",
                "nullable": not nn,
                "default": d,
                "primaryKey": False,
                "ordinal": cid + 1,
            }
            for cid, n, t, nn, d in rows
        ]
        yield view


# Columns of every table and view of the open file (and of its attached databases) with kind,
# primary key and estimated size; each table's foreign keys and comment (COMMENT ON, DuckDB
# 0.10+) ride along on its first column row, each column's comment on its own. One query.
# {databases} is the main file only, or every attached database too.
DUCKDB_QUERY = """
WITH pk AS (
  SELECT table_oid, unnest(constraint_column_names) AS column_name
  FROM duckdb_constraints()
  WHERE constraint_type = 'PRIMARY KEY' AND {databases}
), fk AS (
  SELECT table_oid, list({'name': constraint_name, 'columns': constraint_column_names,
                          'table': referenced_table, 'referred': referenced_column_names}
                         ORDER BY constraint_index) AS keys
  FROM duckdb_constraints()
  WHERE constraint_type = 'FOREIGN KEY' AND {databases}
  GROUP BY table_oid
)
SELECT c.database_name = current_database(), c.database_name, c.schema_name, c.table_name,
       t.table_oid IS NULL, t.estimated_size, c.column_name,
       c.data_type, c.is_nullable, c.column_default, pk.column_name IS NOT NULL,
       c.column_index, CASE WHEN c.column_index = 1 THEN fk.keys END,
       CASE WHEN c.column_index = 1 THEN coalesce(t.comment, v.comment) END, c.comment
FROM duckdb_columns() AS c
LEFT JOIN duckdb_tables() AS t
  ON t.database_oid = c.database_oid AND t.table_oid = c.table_oid
LEFT JOIN duckdb_views() AS v
  ON v.database_oid = c.database_oid AND v.view_oid = c.table_oid
LEFT JOIN pk ON pk.table_oid = c.table_oid AND pk.column_name = c.column_name
LEFT JOIN fk ON fk.table_oid = c.table_oid
WHERE c.{databases} AND NOT c.internal
ORDER BY c.database_name, c.schema_name, c.table_name, c.column_index
"""


class DuckDB(FileDialect):
    """A DuckDB database file."""

    key = "DUCKDB"
    label = "DuckDB"
    category = "Files"
    docs_url = "https://duckdb.org/docs/stable/connect/overview"
    read_only_note = "A file in Datadock's data folder, opened read-only: no login to create."
    fields = (file_field("analytics/warehouse.duckdb"), attachments_field())
    # DuckDB's exception classes are broad; their messages tell the cases apart.
    errors = (
        ErrorRule(
            unreadable("Not a DuckDB database", "The file exists but is not a DuckDB database."),
            text="not a valid DuckDB database|external extensions",
        ),
        ErrorRule(
            unreadable(
                "The file is in use by another program",
                "Another program has the file open for writing; DuckDB lets no "
                "one else open it meanwhile.",
            ),
            text="lock|different configuration",
        ),
        ErrorRule(
            unreadable(
                "Written by an incompatible DuckDB version",
                "The file was written by a DuckDB version this server cannot read.",
            ),
            text="version",
        ),
    )
    fallback = unreadable(
        "Could not read this file as a DuckDB database",
        "The file could not be opened as a DuckDB database.",
    )

    def connect(self, target: Target) -> Any:
        """The file alone (external access off), or with its attached databases
        (dialects/duckdb_attach.py: each address checked first, all read-only, external
        access then off except for the attached files)."""
        path = target.resolve_data_file(target.values[FIELD])
        attachments = parse_attachments(target.values.get(ATTACHMENTS))
        if not attachments:
            return self.open_file(path, target.timeout)
        return attach_all(path, attachments, target)

    def open_file(self, path: Path, timeout: float) -> Any:
        """Open read-only with external access off: SQL cannot reach other files or extensions.

        The path is the resolved absolute path, so DuckDB's special names (`:memory:`, `md:`)
        can never be reached through it.
        """
        import duckdb

        return duckdb.connect(
            str(path),
            read_only=True,
            config={
                "enable_external_access": False,
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
                "lock_configuration": True,
                "threads": 1,
            },
        )

    def check_catalog(self, connection: Any) -> None:
        """The catalog functions answer."""
        connection.execute("SELECT 1 FROM duckdb_tables() LIMIT 1").fetchall()

    def server_version(self, connection: Any) -> str:
        """The DuckDB library's version, which reads the file."""
        return f"DuckDB {connection.execute('SELECT version()').fetchone()[0]}"

    def introspect(
        self, connection: Any, schemas: SchemaFilter | None = None
    ) -> Iterator[TableInfo]:
        """One catalog query, fetched in batches and merged into tables as rows arrive."""
        schemas = schemas or SchemaFilter()
        current: TableInfo | None = None
        # Attached databases are catalogs of their own: their schemas read "catalog.schema".
        query = DUCKDB_QUERY.replace("{databases}", "database_name NOT IN ('system', 'temp')")
        for (
            main,
            database,
            schema,
            table,
            is_view,
            size,
            column,
            typ,
            nullable,
            default,
            is_pk,
            ordinal,
            keys,
            note,
            column_note,
        ) in _batches(connection.execute(query)):
            schema = schema if main else f"{database}.{schema}"
            if not schemas.allows(schema):
                continue
            if current is None or (current.schema, current.name) != (schema, table):
                if current is not None:
                    yield current
                current = TableInfo(
                    schema,
                    table,
                    "view" if is_view else "table",
                    row_estimate=None if is_view else size,
                    comment=note or None,
                )
                for key in keys or ():
                    current.foreign_keys.append(
                        {
                            "name": key["name"],
                            "columns": list(key["columns"]),
                            "referredSchema": schema,
                            "referredTable": key["table"],
                            "referredColumns": list(key["referred"]),
                        }
                    )
            entry = {
                "name": column,
                "type": typ,
                "nullable": bool(nullable),
                "default": default,
                "primaryKey": bool(is_pk),
                "ordinal": int(ordinal),
            }
            if column_note:
                entry["comment"] = column_note
            current.columns.append(entry)
        if current is not None:
            yield current


REGISTER = (SQLite(), DuckDB())
