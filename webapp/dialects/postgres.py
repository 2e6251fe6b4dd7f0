"""PostgreSQL: fields, psycopg connection, pg_catalog introspection, error classification."""

from __future__ import annotations

import logging
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

from ..connect.errors import (
    BAD_CREDENTIALS,
    HOST_NOT_FOUND,
    INCORRECT_PORT,
    NO_DATABASE,
    ConnectionFailed,
    timeout_failure,
)
from .base import Dialect, SchemaFilter, TableInfo, Target
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

log = logging.getLogger(__name__)

KINDS = {"r": "table", "p": "table", "v": "view", "m": "materialized view", "f": "foreign table"}

SYNC_STATEMENT_TIMEOUT_MS = 300_000  # a sync's catalog read may take longer than a verify

# One catalog query for every column of every table, ordered so rows group by table.
CATALOG_QUERY = """
SELECT n.nspname, c.relname, c.relkind, a.attname,
       pg_catalog.format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       pg_catalog.pg_get_expr(d.adbin, d.adrelid),
       COALESCE(a.attnum = ANY (i.indkey), false), a.attnum
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_attribute a
       ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
LEFT JOIN pg_catalog.pg_index i ON i.indrelid = c.oid AND i.indisprimary
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
ORDER BY n.nspname, c.relname, a.attnum
"""


class Postgres(Dialect):
    """PostgreSQL over psycopg 3."""

    key = "POSTGRES"
    label = "PostgreSQL"
    fields = (
        host_field(),
        port_field(5432),
        database_field(max_length=63, placeholder="postgres"),
        username_field(max_length=63),
        password_field(),
        ssl_field(),
        *tls_fields(),
        *ssh_fields(),
    )

    def connect(self, target: Target) -> psycopg.Connection:
        """Connect with each value as its own parameter, to the already checked address.

        libpq reads certificates from files only: pasted ones are written to a private
        temporary folder for the handshake and removed right after. No path a user typed is
        ever given to libpq.
        """
        v = target.values
        seconds = max(2, math.floor(target.timeout))  # libpq takes whole seconds, 2 at least
        mode = (v.get("sslMode") or "require") if v.get("sslEnabled") else "disable"
        with tempfile.TemporaryDirectory(prefix="datadock-tls-") as folder:
            files = _certificate_files(v, Path(folder)) if mode != "disable" else {}
            if "sslrootcert" not in files:
                # verify-*: the system's trusted CAs (libpq 16+); otherwise a file that does not
                # exist, so libpq never picks up ~/.postgresql/root.crt on Datadock's server.
                files["sslrootcert"] = ("system" if mode.startswith("verify")
                                        else str(Path(folder) / "none.pem"))
            return psycopg.connect(
                host=v["host"],
                hostaddr=target.address,
                port=target.port or v["port"],
                dbname=v["databaseName"],
                user=v["username"],
                password=v.get("password") or "",
                sslmode=mode,
                connect_timeout=seconds,
                application_name="datadock",
                options=f"-c statement_timeout={int(target.timeout * 1000)}",
                # Never read a password, service or certificate file from the server's disk.
                passfile="/dev/null",
                sslrootcert=files["sslrootcert"],
                sslcertmode="allow" if "sslcert" in files else "disable",
                **{k: v for k, v in files.items() if k in ("sslcert", "sslkey")},
            )

    def check_catalog(self, connection: psycopg.Connection) -> None:
        """The catalog query's tables are readable."""
        with connection.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_catalog.pg_class LIMIT 1")
            cur.fetchall()
        connection.rollback()

    def server_version(self, connection: psycopg.Connection) -> str:
        """"PostgreSQL 15.19" from the server's own report."""
        with connection.cursor() as cur:
            cur.execute("SHOW server_version")
            row = cur.fetchone()
        version = str(row[0]).split(" ")[0] if row else "unknown"
        return f"PostgreSQL {version}"

    def classify(self, exc: BaseException, target: Target) -> ConnectionFailed:
        """Map psycopg's messages to fields (its sqlstate is None for connection failures)."""
        v = target.values
        host, port = v.get("host", ""), v.get("port")
        text = str(exc)
        if isinstance(exc, psycopg.errors.ConnectionTimeout) or "timeout expired" in text:
            return timeout_failure(host, port, target.timeout)
        if "failed to resolve host" in text or "could not translate host name" in text:
            return ConnectionFailed("dns", f"The host name {host} could not be found.",
                                    {"host": HOST_NOT_FOUND})
        if "Connection refused" in text:
            return ConnectionFailed(
                "tcp", f"{host} refused the connection on port {port}: nothing listens there.",
                {"port": INCORRECT_PORT})
        if "password authentication failed" in text or (
            "role" in text and "does not exist" in text
        ):
            return ConnectionFailed(
                "auth", "The server rejected the username or password.",
                {"username": BAD_CREDENTIALS, "password": BAD_CREDENTIALS})
        if "database" in text and "does not exist" in text:
            return ConnectionFailed(
                "database", f"The server has no database named {v.get('databaseName')!r}.",
                {"databaseName": NO_DATABASE})
        if "does not support SSL" in text:
            return ConnectionFailed(
                "tls", "The server does not support SSL. Turn SSL off to connect without it.",
                {"sslEnabled": "The server does not support SSL"})
        refused_by_hba = "no pg_hba.conf entry" in text or "pg_hba.conf rejects" in text
        if refused_by_hba and ("no encryption" in text or "SSL off" in text):
            return ConnectionFailed(
                "tls", "The server only accepts encrypted connections. Turn SSL on.",
                {"sslEnabled": "The server requires SSL"})
        if refused_by_hba:
            return ConnectionFailed(
                "auth", "The server does not allow this user to connect from Datadock's "
                "address to this database (pg_hba.conf).",
                {"username": "Not allowed to connect from Datadock's address"})
        if "permission denied for database" in text:
            return ConnectionFailed(
                "database", "The user may not connect to this database (CONNECT privilege).",
                {"databaseName": "No permission to connect to this database"})
        if "certificate verify failed" in text or "unable to get local issuer" in text:
            field = ("sslRootCertificate" if v.get("sslCustomCertificatesEnabled")
                     and v.get("sslRootCertificate") else "sslMode")
            return ConnectionFailed(
                "tls", "The server's certificate is not signed by a CA Datadock trusts. Paste "
                "the CA certificate under custom certificates, or use SSL mode Require.",
                {field: "Certificate not trusted"})
        if "does not match host name" in text:
            return ConnectionFailed(
                "tls", f"The server's certificate is not valid for the name {host}. Connect "
                "with the name on the certificate, or use SSL mode Verify CA.",
                {"sslMode": "Certificate does not match the host name"})
        if "certificate" in text and ("required" in text or "no certificate" in text):
            return ConnectionFailed(
                "tls", "The server asks for a client certificate.",
                {"sslClientCertificate": "The server requires a client certificate"})
        if "SSL" in text or "certificate" in text:
            return ConnectionFailed(
                "tls", "The TLS handshake with the server failed.",
                {"sslEnabled": "TLS handshake failed"})
        return ConnectionFailed(
            "connect", "The server closed the connection or answered in an unexpected way. "
            "Check the host and port point at a PostgreSQL server.", {})

    catalog_query = CATALOG_QUERY

    def introspect(self, connection: psycopg.Connection, schemas: SchemaFilter | None = None
                   ) -> Iterator[TableInfo]:
        """Stream the catalog query through a server-side cursor, one table at a time."""
        schemas = schemas or SchemaFilter()
        current: TableInfo | None = None
        with connection.transaction(), connection.cursor(name="datadock_catalog") as cur:
            connection.execute(f"SET LOCAL statement_timeout = {SYNC_STATEMENT_TIMEOUT_MS}")
            cur.itersize = 5000
            cur.execute(self.catalog_query)
            for schema, table, relkind, col, typ, nullable, default, is_pk, ordinal in cur:
                if not schemas.allows(schema):
                    continue
                if current is None or (current.schema, current.name) != (schema, table):
                    if current is not None:
                        yield current
                    current = TableInfo(schema, table, KINDS.get(relkind, "table"))
                if col is not None:
                    current.columns.append(_column(col, typ, nullable, default, is_pk, ordinal))
        if current is not None:
            yield current


def _certificate_files(values: dict[str, Any], folder: Path) -> dict[str, str]:
    """Write pasted PEM texts into files (mode 0600) that libpq can read."""
    files = {}
    if not values.get("sslCustomCertificatesEnabled"):
        return files
    for option, name in (("sslrootcert", "sslRootCertificate"),
                         ("sslcert", "sslClientCertificate"), ("sslkey", "sslClientKey")):
        if values.get(name):
            path = folder / f"{option}.pem"
            path.touch(mode=0o600)
            path.write_text(values[name])
            files[option] = str(path)
    return files


def _column(name: str, typ: str, nullable: bool, default: Any, pk: bool, ordinal: int) -> dict:
    return {"name": name, "type": typ, "nullable": bool(nullable), "default": default,
            "primaryKey": bool(pk), "ordinal": int(ordinal)}


# Redshift speaks the PostgreSQL wire protocol but its pg_catalog is PostgreSQL 8.0's (no
# relispartition, no pg_get_expr on every cluster): read information_schema there instead,
# still one query for every column of every table.
INFORMATION_SCHEMA_QUERY = """
SELECT c.table_schema, c.table_name,
       CASE t.table_type WHEN 'VIEW' THEN 'v' ELSE 'r' END,
       c.column_name, c.data_type, c.is_nullable = 'YES', c.column_default,
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
  AND c.table_schema NOT LIKE 'pg\\_temp\\_%'
ORDER BY c.table_schema, c.table_name, c.ordinal_position
"""


class Supabase(Postgres):
    """Supabase's managed PostgreSQL (direct or through its connection pooler)."""

    key = "SUPABASE"
    label = "Supabase"
    fields = (
        host_field(placeholder="db.<project-ref>.supabase.co",
                   help="Direct: db.<project-ref>.supabase.co. Pooler: "
                        "aws-0-<region>.pooler.supabase.com (Settings → Database)."),
        port_field(5432, help="5432 (direct or session pooler) or 6543 (transaction pooler)."),
        database_field(max_length=63, default="postgres"),
        username_field(max_length=63, placeholder="postgres",
                       help="With the pooler: postgres.<project-ref>."),
        password_field(),
        ssl_field(help="Supabase accepts encrypted connections; keep this on."),
        *tls_fields(),
        *ssh_fields(),
    )


class Redshift(Postgres):
    """Amazon Redshift over the PostgreSQL wire protocol."""

    key = "REDSHIFT"
    label = "Amazon Redshift"
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
    catalog_query = INFORMATION_SCHEMA_QUERY

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
