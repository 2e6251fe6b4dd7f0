"""PostgreSQL: fields, psycopg connection, pg_catalog introspection, error classification."""

from __future__ import annotations

import contextlib
import logging
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

from .base import Dialect, SchemaFilter, TableInfo, Target
from .errors_table import (
    BAD_LOGIN,
    HOST_UNKNOWN,
    NO_SUCH_DATABASE,
    REFUSED,
    SSL_REQUIRED,
    SSL_UNSUPPORTED,
    TLS_FAILED,
    WRONG_CERTIFICATE_NAME,
    ErrorRule,
    Failure,
    timed_out,
    untrusted_certificate,
)
from .fields import (
    database_field,
    host_field,
    password_field,
    port_field,
    ssh_fields,
    ssl_field,
    tls_fields,
    username_field,
)
from .urls import SERVER_URL

log = logging.getLogger(__name__)

KINDS = {"r": "table", "p": "table", "v": "view", "m": "materialized view", "f": "foreign table"}

NO_FILE = "/dev/null/no-root-certificate.pem"  # never a file: /dev/null is not a folder
SYNC_STATEMENT_TIMEOUT_MS = 300_000  # a sync's catalog read may take longer than a verify

# The catalog in two flat queries, no correlated subquery and no JSON built on the server (the
# server's JSON building cost more than the read itself). The first reads every foreign key of
# the allowed schemas (a row per key, its column pairs aggregated), held by table oid; the
# second streams a row per column, ordered by schema, table and position (a table without
# columns is one row of NULLs), grouped into tables here with their keys merged in; the
# table's and each column's COMMENT ON (pg_description) ride on those rows. {filters} takes the
# schema patterns (SchemaFilter) as parameters.
FOREIGN_KEYS_QUERY = """
SELECT fk.conrelid, fk.conname, fn.nspname, fc.relname,
       array_agg(a.attname ORDER BY k.i), array_agg(ra.attname ORDER BY k.i)
FROM pg_catalog.pg_constraint fk
JOIN pg_catalog.pg_class c ON c.oid = fk.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_class fc ON fc.oid = fk.confrelid
JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
CROSS JOIN LATERAL unnest(fk.conkey, fk.confkey) WITH ORDINALITY k(num, refnum, i)
JOIN pg_catalog.pg_attribute a ON a.attrelid = fk.conrelid AND a.attnum = k.num
JOIN pg_catalog.pg_attribute ra ON ra.attrelid = fk.confrelid AND ra.attnum = k.refnum
WHERE fk.contype = 'f'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  {filters}
GROUP BY fk.oid, fk.conrelid, fk.conname, fn.nspname, fc.relname
ORDER BY fk.conrelid, fk.conname
"""

CATALOG_QUERY = """
SELECT n.nspname, c.relname, c.relkind,
       CASE WHEN c.relkind IN ('r', 'm', 'f') AND c.reltuples >= 0
            THEN c.reltuples::bigint END,
       c.oid, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       pg_catalog.pg_get_expr(d.adbin, d.adrelid), COALESCE(a.attnum = ANY (pk.conkey), false),
       a.attnum, td.description, cd.description
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_attribute a
       ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_catalog.pg_constraint pk ON pk.conrelid = c.oid AND pk.contype = 'p'
LEFT JOIN pg_catalog.pg_description td
       ON td.objoid = c.oid AND td.classoid = 'pg_catalog.pg_class'::regclass AND td.objsubid = 0
LEFT JOIN pg_catalog.pg_description cd
       ON cd.objoid = c.oid AND cd.classoid = 'pg_catalog.pg_class'::regclass
      AND cd.objsubid = a.attnum
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp\\_%%'
  {filters}
ORDER BY n.nspname, c.relname, a.attnum
"""


def connect_within(seconds: float, **params: Any) -> psycopg.Connection:
    """psycopg's connect under a deadline of `seconds` exactly (a float).

    libpq's `connect_timeout` is whole seconds, 2 at least, and psycopg floors it the same way,
    so a 2.5 s deadline would be 2 s and a 0.5 s one 2 s. psycopg runs libpq's non-blocking
    connect in Python (`waiting.wait_conn`, which takes a float timeout): it is called here
    with Datadock's deadline. `connect_timeout` stays as libpq's own backstop (rounded up).
    Those are psycopg internals (3.1–3.3); without them, the floored `connect_timeout`.
    """
    params["connect_timeout"] = max(2, math.ceil(seconds))
    try:
        from psycopg import waiting
        from psycopg.conninfo import make_conninfo

        generator = psycopg.Connection._connect_gen
        wait_timeout = psycopg.errors._WaitTimeout
    except (ImportError, AttributeError):  # pragma: no cover - another psycopg
        params["connect_timeout"] = max(2, math.floor(seconds))
        return psycopg.connect(**params)
    try:
        return waiting.wait_conn(
            generator(make_conninfo("", **params)), interval=0.05, timeout=seconds
        )
    except wait_timeout:
        raise psycopg.errors.ConnectionTimeout("connection timeout expired") from None


def schema_conditions(column: str, schemas: SchemaFilter) -> tuple[str, dict[str, list[str]]]:
    """SQL conditions (and their parameters) that keep only the schemas `schemas` allows."""
    sql, params = "", {}
    if schemas.include:
        sql += f" AND lower({column}) LIKE ANY (%(include_schemas)s)"
        params["include_schemas"] = [SchemaFilter.like(p) for p in schemas.include]
    if schemas.exclude:
        sql += f" AND NOT lower({column}) LIKE ANY (%(exclude_schemas)s)"
        params["exclude_schemas"] = [SchemaFilter.like(p) for p in schemas.exclude]
    return sql, params


_HBA = r"no pg_hba\.conf entry|pg_hba\.conf rejects"

# psycopg's sqlstate is None for connection failures: its messages tell them apart (RECIPES.md).
ERRORS = (
    ErrorRule(timed_out, types=(psycopg.errors.ConnectionTimeout,), text="timeout expired"),
    ErrorRule(HOST_UNKNOWN, text="failed to resolve host|could not translate host name"),
    REFUSED,
    ErrorRule(BAD_LOGIN, text="password authentication failed|no password supplied"),
    ErrorRule(BAD_LOGIN, text="role", also="does not exist"),
    ErrorRule(NO_SUCH_DATABASE, text="database", also="does not exist"),
    ErrorRule(SSL_UNSUPPORTED, text="does not support SSL"),
    ErrorRule(SSL_REQUIRED, text=_HBA, also="no encryption|SSL off"),
    ErrorRule(
        Failure(
            "auth",
            "The server does not allow this user to connect from Datadock's "
            "address to this database (pg_hba.conf).",
            {"username": "Not allowed to connect from Datadock's address"},
        ),
        text=_HBA,
    ),
    ErrorRule(
        Failure(
            "database",
            "The user may not connect to this database (CONNECT privilege).",
            {"databaseName": "No permission to connect to this database"},
        ),
        text="permission denied for database",
    ),
    *untrusted_certificate(text="certificate verify failed|unable to get local issuer"),
    ErrorRule(WRONG_CERTIFICATE_NAME, text="does not match host name"),
    ErrorRule(
        Failure(
            "tls",
            "The server asks for a client certificate.",
            {"sslClientCertificate": "The server requires a client certificate"},
        ),
        text="certificate",
        also="required|no certificate",
    ),
    ErrorRule(TLS_FAILED, text="SSL|certificate"),
)


class Postgres(Dialect):
    """PostgreSQL over psycopg 3."""

    key = "POSTGRES"
    label = "PostgreSQL"
    docs_url = "https://www.postgresql.org/docs/current/libpq-connect.html"
    read_only_sql = """\
CREATE ROLE datadock_reader LOGIN PASSWORD 'choose-a-long-password';
GRANT CONNECT ON DATABASE your_database TO datadock_reader;
-- For each schema to sync (PostgreSQL 14+: GRANT pg_read_all_data TO datadock_reader;)
GRANT USAGE ON SCHEMA public TO datadock_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO datadock_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO datadock_reader;"""
    errors = ERRORS
    fallback = Failure(
        "connect",
        "The server closed the connection or answered in an "
        "unexpected way. Check the host and port point at a PostgreSQL server.",
    )
    url_schemes: tuple[str, ...] = ("postgres", "postgresql", "pgsql")
    url_form = SERVER_URL
    fields = (
        host_field(),
        port_field(5432),
        database_field(max_length=63, placeholder="postgres"),
        username_field(max_length=63),
        password_field(
            required=False, help="Leave blank if the server lets this user in without one."
        ),
        ssl_field(),
        *tls_fields(),
        *ssh_fields(),
    )

    def connect(self, target: Target) -> psycopg.Connection:
        """Connect with each value as its own parameter, to the already checked address.

        libpq reads certificates from files only: pasted ones are written to a private
        temporary folder for the handshake and removed right after (the folder is made only
        when there are pasted certificates: making and removing it costs milliseconds). No
        path a user typed is ever given to libpq.
        """
        v = target.values
        mode = (v.get("sslMode") or "require") if v.get("sslEnabled") else "disable"
        pasted = (
            mode != "disable"
            and bool(v.get("sslCustomCertificatesEnabled"))
            and any(
                v.get(name)
                for name in ("sslRootCertificate", "sslClientCertificate", "sslClientKey")
            )
        )
        with (
            tempfile.TemporaryDirectory(prefix="datadock-tls-")
            if pasted
            else contextlib.nullcontext(None)
        ) as folder:
            files = _certificate_files(v, Path(folder)) if folder else {}
            if "sslrootcert" not in files:
                # verify-*: the system's trusted CAs (libpq 16+); otherwise a file that cannot
                # exist (under a device, not a folder), so libpq never picks up
                # ~/.postgresql/root.crt on Datadock's server.
                files["sslrootcert"] = "system" if mode.startswith("verify") else NO_FILE
            return connect_within(
                target.timeout,
                host=v["host"],
                hostaddr=target.address,
                port=target.port or v["port"],
                dbname=v["databaseName"],
                user=v["username"],
                password=v.get("password") or "",
                sslmode=mode,
                application_name="datadock",
                options=f"-c statement_timeout={int(target.timeout * 1000)}",
                # Never read a password, service or certificate file from the server's disk.
                passfile="/dev/null",
                sslrootcert=files["sslrootcert"],
                sslcertmode="allow" if "sslcert" in files else "disable",
                **{k: v for k, v in files.items() if k in ("sslcert", "sslkey")},
            )

    def ping(self, connection: psycopg.Connection) -> None:
        """The health check's `SELECT 1`, in autocommit (no BEGIN round trip before it)."""
        connection.autocommit = True
        connection.execute("SELECT 1").fetchone()

    def catalog_version(self, connection: psycopg.Connection) -> str:
        """The catalog is readable and the server's version, in one round trip (autocommit:
        no BEGIN or ROLLBACK either; verify closes the connection right after)."""
        connection.autocommit = True
        row = connection.execute(
            "SELECT current_setting('server_version'), "
            "EXISTS (SELECT 1 FROM pg_catalog.pg_class LIMIT 1)"
        ).fetchone()
        return f"PostgreSQL {str(row[0]).split(' ')[0]}" if row else "PostgreSQL unknown"

    def check_catalog(self, connection: psycopg.Connection) -> None:
        """The catalog query's tables are readable."""
        with connection.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_catalog.pg_class LIMIT 1")
            cur.fetchall()
        connection.rollback()

    def server_version(self, connection: psycopg.Connection) -> str:
        """ "PostgreSQL 15.19" from the server's own report."""
        with connection.cursor() as cur:
            cur.execute("SHOW server_version")
            row = cur.fetchone()
        version = str(row[0]).split(" ")[0] if row else "unknown"
        return f"PostgreSQL {version}"

    def introspect(
        self, connection: psycopg.Connection, schemas: SchemaFilter | None = None
    ) -> Iterator[TableInfo]:
        """Read the foreign keys (one flat query), then stream the tables through a server-side
        cursor, a table per row, each with its keys merged in."""
        schemas = schemas or SchemaFilter()
        conditions, params = schema_conditions("n.nspname", schemas)
        with connection.transaction():
            connection.execute(f"SET LOCAL statement_timeout = {SYNC_STATEMENT_TIMEOUT_MS}")
            # JIT compiles for longer than this query runs (on by default since PostgreSQL 12;
            # servers before 11 have no such setting).
            connection.execute(
                "SELECT set_config('jit', 'off', true) FROM (SELECT "
                "current_setting('jit', true) AS jit) s WHERE s.jit IS NOT NULL"
            )
            foreign_keys = _foreign_keys(connection, conditions, params)
            with connection.cursor(name="datadock_catalog") as cur:
                cur.itersize = 5000
                cur.execute(CATALOG_QUERY.format(filters=conditions), params)
                yield from _tables(cur, schemas, foreign_keys)


def _tables(
    rows: Iterator[tuple], schemas: SchemaFilter, foreign_keys: dict[int, list[dict[str, Any]]]
) -> Iterator[TableInfo]:
    """Group the catalog's rows (a row per column, in table order) into tables."""
    current: TableInfo | None = None
    current_oid = None
    for row in rows:
        schema, table, relkind, estimate, oid, col, typ, nullable, default, pk, num = row[:11]
        note, col_note = row[11:13]  # the table's and the column's comment
        if oid != current_oid:
            if current is not None:
                yield current
            current_oid, current = oid, None
            keys = foreign_keys.pop(oid, [])
            if schemas.allows(schema):
                current = TableInfo(
                    schema, table, KINDS.get(relkind, "table"), [], keys, estimate, note
                )
        if current is not None and col is not None:
            column = {
                "name": col,
                "type": typ,
                "nullable": nullable,
                "default": default,
                "primaryKey": pk,
                "ordinal": num,
            }
            if col_note is not None:
                column["comment"] = col_note
            current.columns.append(column)
    if current is not None:
        yield current


def _foreign_keys(
    connection: psycopg.Connection, conditions: str, params: dict[str, Any]
) -> dict[int, list[dict[str, Any]]]:
    """Every foreign key of the allowed schemas, by the oid of its table, ordered by name."""
    keys: dict[int, list[dict[str, Any]]] = {}
    with connection.cursor() as cur:
        cur.execute(FOREIGN_KEYS_QUERY.format(filters=conditions), params)
        for oid, name, ref_schema, ref_table, columns, ref_columns in cur:
            keys.setdefault(oid, []).append(
                {
                    "name": name,
                    "columns": columns,
                    "referredSchema": ref_schema,
                    "referredTable": ref_table,
                    "referredColumns": ref_columns,
                }
            )
    return keys


def _certificate_files(values: dict[str, Any], folder: Path) -> dict[str, str]:
    """Write pasted PEM texts into files (mode 0600) that libpq can read."""
    files: dict[str, str] = {}
    if not values.get("sslCustomCertificatesEnabled"):
        return files
    for option, name in (
        ("sslrootcert", "sslRootCertificate"),
        ("sslcert", "sslClientCertificate"),
        ("sslkey", "sslClientKey"),
    ):
        if values.get(name):
            path = folder / f"{option}.pem"
            path.touch(mode=0o600)
            path.write_text(values[name])
            files[option] = str(path)
    return files


def _column(name: str, typ: str, nullable: bool, default: Any, pk: bool, ordinal: int) -> dict:
    return {
        "name": name,
        "type": typ,
        "nullable": bool(nullable),
        "default": default,
        "primaryKey": bool(pk),
        "ordinal": int(ordinal),
    }


# Redshift speaks the PostgreSQL wire protocol but its pg_catalog is PostgreSQL 8.0's (no
# relispartition, no pg_get_expr or json_agg on every cluster): read information_schema there
# instead, still one query for every column of every table (a row per column, grouped here)
# and one for every foreign key. Redshift keeps no row estimate in information_schema.
INFORMATION_SCHEMA_QUERY = """
SELECT c.table_schema, c.table_name,
       CASE t.table_type WHEN 'VIEW' THEN 'v' ELSE 'r' END,
       c.column_name,
       CASE WHEN c.character_maximum_length IS NOT NULL
              THEN c.data_type || '(' || c.character_maximum_length || ')'
            WHEN c.data_type = 'numeric' AND c.numeric_precision IS NOT NULL
              THEN 'numeric(' || c.numeric_precision || ',' || c.numeric_scale || ')'
            ELSE c.data_type END,
       c.is_nullable = 'YES', c.column_default,
       pk.column_name IS NOT NULL, c.ordinal_position
FROM information_schema.columns c
JOIN information_schema.tables t
  ON t.table_schema = c.table_schema AND t.table_name = c.table_name
LEFT JOIN (
  SELECT k.table_schema, k.table_name, k.column_name
  FROM information_schema.table_constraints tc
  JOIN information_schema.key_column_usage k
    ON k.constraint_name = tc.constraint_name AND k.table_schema = tc.table_schema
   AND k.table_name = tc.table_name
  WHERE tc.constraint_type = 'PRIMARY KEY'
) pk ON pk.table_schema = c.table_schema AND pk.table_name = c.table_name
    AND pk.column_name = c.column_name
WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema', 'pg_internal')
  AND c.table_schema NOT LIKE 'pg\\_temp\\_%%'
  {filters}
ORDER BY c.table_schema, c.table_name, c.ordinal_position
"""

# A foreign key's columns pair with the referred key's columns by position in that key
# (position_in_unique_constraint; where a catalog lacks it, by the FK's own order).
INFORMATION_SCHEMA_FOREIGN_KEYS = """
SELECT fk.table_schema, fk.table_name, fk.constraint_name, fk.column_name,
       ref.table_schema, ref.table_name, ref.column_name
FROM information_schema.referential_constraints rc
JOIN information_schema.key_column_usage fk
  ON fk.constraint_schema = rc.constraint_schema AND fk.constraint_name = rc.constraint_name
JOIN information_schema.key_column_usage ref
  ON ref.constraint_schema = rc.unique_constraint_schema
 AND ref.constraint_name = rc.unique_constraint_name
 AND ref.ordinal_position = {pairing}
WHERE fk.table_schema NOT IN ('pg_catalog', 'information_schema', 'pg_internal')
  {filters}
ORDER BY fk.table_schema, fk.table_name, fk.constraint_name, fk.ordinal_position
"""


def _information_schema_foreign_keys(
    connection: psycopg.Connection, schemas: SchemaFilter
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Every foreign key of the allowed schemas, by (schema, table)."""
    conditions, params = schema_conditions("fk.table_schema", schemas)
    for pairing in ("fk.position_in_unique_constraint", "fk.ordinal_position"):
        keys: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        try:
            # A savepoint: a catalog without the column fails this try only.
            with connection.transaction(), connection.cursor() as cur:
                cur.execute(
                    INFORMATION_SCHEMA_FOREIGN_KEYS.format(filters=conditions, pairing=pairing),
                    params,
                )
                for schema, table, name, column, ref_schema, ref_table, ref_column in cur:
                    key = keys.setdefault((schema, table), {}).setdefault(
                        name,
                        {
                            "name": name,
                            "columns": [],
                            "referredSchema": ref_schema,
                            "referredTable": ref_table,
                            "referredColumns": [],
                        },
                    )
                    key["columns"].append(column)
                    key["referredColumns"].append(ref_column)
        except psycopg.errors.UndefinedColumn:
            continue
        return {table: list(by_name.values()) for table, by_name in keys.items()}
    return {}


class Supabase(Postgres):
    """Supabase's managed PostgreSQL (direct or through its connection pooler)."""

    key = "SUPABASE"
    label = "Supabase"
    docs_url = "https://supabase.com/docs/guides/database/connecting-to-postgres"
    read_only_note = (
        "Run it in the SQL editor; through the pooler, log in as datadock_reader.<project-ref>."
    )
    url_hosts = ("supabase.co", "supabase.com")
    fields = (
        host_field(
            placeholder="db.<project-ref>.supabase.co",
            help="Direct: db.<project-ref>.supabase.co. Pooler: "
            "aws-0-<region>.pooler.supabase.com (Settings → Database).",
        ),
        port_field(5432, help="5432 (direct or session pooler) or 6543 (transaction pooler)."),
        database_field(max_length=63, default="postgres"),
        username_field(
            max_length=63, placeholder="postgres", help="With the pooler: postgres.<project-ref>."
        ),
        password_field(),
        ssl_field(help="Supabase accepts encrypted connections; keep this on."),
        *tls_fields(),
        *ssh_fields(),
    )


class Redshift(Postgres):
    """Amazon Redshift over the PostgreSQL wire protocol."""

    key = "REDSHIFT"
    label = "Amazon Redshift"
    category = "Warehouse"
    docs_url = "https://docs.aws.amazon.com/redshift/latest/mgmt/connecting-to-cluster.html"
    read_only_sql = """\
-- The password needs an upper-case letter, a lower-case letter and a digit.
CREATE USER datadock_reader PASSWORD 'Choose-a-long-passw0rd';
GRANT USAGE ON SCHEMA public TO datadock_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO datadock_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO datadock_reader;"""
    url_schemes = (*Postgres.url_schemes, "redshift")
    url_hosts = ("redshift.amazonaws.com",)
    fields = (
        host_field(placeholder="examplecluster.abc123.us-east-1.redshift.amazonaws.com"),
        port_field(5439),
        database_field(max_length=127, default="dev"),
        username_field(max_length=127),
        password_field(),
        ssl_field(),
        *tls_fields(),
        *ssh_fields(),
    )

    def introspect(
        self, connection: psycopg.Connection, schemas: SchemaFilter | None = None
    ) -> Iterator[TableInfo]:
        """Foreign keys first (few), then every column streamed and grouped by table."""
        schemas = schemas or SchemaFilter()
        conditions, params = schema_conditions("c.table_schema", schemas)
        current: TableInfo | None = None
        with connection.transaction():
            connection.execute(f"SET LOCAL statement_timeout = {SYNC_STATEMENT_TIMEOUT_MS}")
            foreign_keys = _information_schema_foreign_keys(connection, schemas)
            with connection.cursor(name="datadock_catalog") as cur:
                cur.itersize = 5000
                cur.execute(INFORMATION_SCHEMA_QUERY.format(filters=conditions), params)
                for schema, table, relkind, col, typ, nullable, default, is_pk, ordinal in cur:
                    if not schemas.allows(schema):
                        continue
                    if current is None or (current.schema, current.name) != (schema, table):
                        if current is not None:
                            yield current
                        current = TableInfo(
                            schema,
                            table,
                            KINDS.get(relkind, "table"),
                            foreign_keys=foreign_keys.pop((schema, table), []),
                        )
                    current.columns.append(_column(col, typ, nullable, default, is_pk, ordinal))
        if current is not None:
            yield current

    def catalog_version(self, connection: psycopg.Connection) -> str:
        """Its own catalog check and version() (two queries, as the base does)."""
        self.check_catalog(connection)
        return self.server_version(connection)

    def check_catalog(self, connection: psycopg.Connection) -> None:
        """information_schema is what the sync reads here."""
        with connection.cursor() as cur:
            cur.execute("SELECT 1 FROM information_schema.tables LIMIT 1")
            cur.fetchall()
        connection.rollback()

    def server_version(self, connection: psycopg.Connection) -> str:
        """Redshift reports itself in version()."""
        with connection.cursor() as cur:
            cur.execute("SELECT version()")
            row = cur.fetchone()
        text = str(row[0]) if row else ""
        if "Redshift" in text:
            return "Amazon Redshift " + text.split("Redshift", 1)[1].strip().split(" ")[0]
        return super().server_version(connection)


REGISTER = (Postgres(), Supabase(), Redshift())
