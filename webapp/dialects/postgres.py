"""PostgreSQL: fields, psycopg connection, pg_catalog introspection, error classification."""

from __future__ import annotations

import contextlib
import logging
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
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
from .stored import BETWEEN, StoredTable, columns_digest, names_types_digest
from .urls import SERVER_URL

log = logging.getLogger(__name__)

KINDS = {"r": "table", "p": "table", "v": "view", "m": "materialized view", "f": "foreign table"}

NO_FILE = "/dev/null/no-root-certificate.pem"  # never a file: /dev/null is not a folder
SYNC_STATEMENT_TIMEOUT_MS = 300_000  # a sync's catalog read may take longer than a verify

# The catalog in two queries, built for a sync that stores what it reads as it came. The first
# reads every foreign key of the allowed schemas, a row per key as the JSON object the store
# keeps, held by table oid (a single-column key, the usual case, looks its two column names up
# by index; a composite one unnests its pairs). The second streams a row per table, in (schema,
# name) order: the tables are sorted first (a few bytes each, behind an OFFSET 0 fence), then
# each table's columns are aggregated by a LATERAL subquery over pg_attribute's index (read in
# attnum order by a fenced sorted subquery, so the aggregate needs no sort of its own), so the
# server sends the first tables while it still reads the rest (no sort of every column before
# the first row) and Datadock makes no Python object per column. Each row carries the columns
# as the store's JSON text, `name + \x1e + type` of every column (the diff's digest is computed
# from them here, stored_table) and the column count. A default and a column comment are
# looked up by index only where the column has one (`atthasdef`; a table with any column
# comment), so neither costs a join per column. {filters} takes the schema patterns
# (SchemaFilter) as parameters (str.format: the JSON's braces are doubled).
FOREIGN_KEYS_QUERY = r"""
SELECT fk.conrelid,
       '{{"name":' || to_json(fk.conname) || ',"columns":' || array_to_json(k.cols)
       || ',"referredSchema":' || to_json(fn.nspname) || ',"referredTable":' || to_json(fc.relname)
       || ',"referredColumns":' || array_to_json(k.refcols) || '}}'
FROM pg_catalog.pg_constraint fk
JOIN pg_catalog.pg_namespace n ON n.oid = fk.connamespace
JOIN pg_catalog.pg_class fc ON fc.oid = fk.confrelid
JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
CROSS JOIN LATERAL (
  SELECT CASE WHEN cardinality(fk.conkey) = 1
              THEN ARRAY[(SELECT a.attname FROM pg_catalog.pg_attribute a
                          WHERE a.attrelid = fk.conrelid AND a.attnum = fk.conkey[1])]
              ELSE ARRAY(SELECT a.attname
                         FROM unnest(fk.conkey) WITH ORDINALITY u(num, i)
                         JOIN pg_catalog.pg_attribute a
                           ON a.attrelid = fk.conrelid AND a.attnum = u.num
                         ORDER BY u.i) END AS cols,
         CASE WHEN cardinality(fk.confkey) = 1
              THEN ARRAY[(SELECT a.attname FROM pg_catalog.pg_attribute a
                          WHERE a.attrelid = fk.confrelid AND a.attnum = fk.confkey[1])]
              ELSE ARRAY(SELECT a.attname
                         FROM unnest(fk.confkey) WITH ORDINALITY u(num, i)
                         JOIN pg_catalog.pg_attribute a
                           ON a.attrelid = fk.confrelid AND a.attnum = u.num
                         ORDER BY u.i) END AS refcols
) k
WHERE fk.contype = 'f'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  {filters}
ORDER BY fk.conrelid, fk.conname
"""

CATALOG_QUERY = r"""
SELECT c.nspname, c.relname, c.relkind,
       CASE WHEN c.relkind IN ('r', 'm', 'f') AND c.reltuples >= 0
            THEN c.reltuples::bigint END,
       c.oid, c.note, COALESCE(cols.j, '[]'), cols.p, cols.k
FROM (
  SELECT c.oid, n.nspname, c.relname, c.relkind, c.reltuples, pk.conkey AS pkey,
         td.description AS note,
         EXISTS (SELECT FROM pg_catalog.pg_description cd
                 WHERE cd.objoid = c.oid AND cd.classoid = 'pg_catalog.pg_class'::regclass
                   AND cd.objsubid > 0) AS noted
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_constraint pk ON pk.conrelid = c.oid AND pk.contype = 'p'
  LEFT JOIN pg_catalog.pg_description td
         ON td.objoid = c.oid AND td.classoid = 'pg_catalog.pg_class'::regclass
        AND td.objsubid = 0
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
    AND NOT c.relispartition
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_toast%%' AND n.nspname NOT LIKE 'pg\_temp\_%%'
    {filters}
  ORDER BY n.nspname, c.relname
  OFFSET 0
) c
CROSS JOIN LATERAL (
  SELECT '[' || string_agg(
           '{{"name":' || to_json(a.attname)
           || ',"type":' || COALESCE(to_json(a.typ)::text, 'null')
           || CASE WHEN a.attnotnull THEN ',"nullable":false' ELSE ',"nullable":true' END
           || ',"default":' || CASE WHEN a.atthasdef THEN COALESCE(to_json((
                                  SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid)
                                  FROM pg_catalog.pg_attrdef d
                                  WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum
                                ))::text, 'null') ELSE 'null' END
           || CASE WHEN a.attnum = ANY (c.pkey) THEN ',"primaryKey":true'
                   ELSE ',"primaryKey":false' END
           || ',"ordinal":' || a.attnum
           || CASE WHEN c.noted THEN COALESCE(',"comment":' || to_json((
                                  SELECT cd.description FROM pg_catalog.pg_description cd
                                  WHERE cd.objoid = a.attrelid
                                    AND cd.classoid = 'pg_catalog.pg_class'::regclass
                                    AND cd.objsubid = a.attnum
                                )), '') ELSE '' END
           || '}}', ',') || ']' AS j,
         string_agg(a.attname || E'\x1e' || a.typ, E'\x1f') AS p,
         count(*) AS k
  FROM (
    SELECT a.attrelid, a.attname, a.attnum, a.attnotnull, a.atthasdef,
           pg_catalog.format_type(a.atttypid, a.atttypmod) AS typ
    FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY a.attnum
    OFFSET 0
  ) a
) cols
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
        """Read the foreign keys (one query), then stream the tables through a server-side
        cursor, a table per row in the store's shape (StoredTable), each with its keys."""
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
                cur.itersize = 2000
                cur.execute(CATALOG_QUERY.format(filters=conditions), params)
                yield from _tables(cur, schemas, foreign_keys)


def _tables(
    rows: Iterator[tuple], schemas: SchemaFilter, foreign_keys: dict[int, list[str]]
) -> Iterator[StoredTable]:
    """The catalog's rows (a row per table, columns as JSON text) as StoredTables."""
    for schema, table, relkind, estimate, oid, note, columns, pieces, count in rows:
        keys = foreign_keys.pop(oid, None)
        if not schemas.allows(schema):
            continue
        yield StoredTable(
            schema,
            table,
            KINDS.get(relkind, "table"),
            columns,
            "[" + ",".join(keys) + "]" if keys else "[]",
            _digest(pieces, count, columns),
            count,
            estimate,
            note,
        )


def _digest(pieces: str | None, count: int, columns: str) -> str:
    """The columns' digest from the server's `name \x1e type` pieces; from the parsed columns
    where a name holds the separator (the pieces do not split into one per column)."""
    parts = pieces.split(BETWEEN) if pieces is not None else []
    if len(parts) != count:
        return columns_digest(orjson.loads(columns))
    return names_types_digest(parts)


def _foreign_keys(
    connection: psycopg.Connection, conditions: str, params: dict[str, Any]
) -> dict[int, list[str]]:
    """Every foreign key of the allowed schemas as JSON text, by the oid of its table, ordered
    by name."""
    keys: dict[int, list[str]] = {}
    with connection.cursor() as cur:
        cur.execute(FOREIGN_KEYS_QUERY.format(filters=conditions), params)
        for oid, key in cur:
            keys.setdefault(oid, []).append(key)
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
