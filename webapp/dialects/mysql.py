"""MySQL, PlanetScale and MariaDB: fields, PyMySQL connection, information_schema introspection.

A MySQL "schema" is a database. A source syncs the database it names (databaseName); when
"Schemas to sync" has patterns, it syncs every database the user can see that matches them
instead (system databases never). LOAD DATA LOCAL INFILE is off: PyMySQL is always given
`local_infile=False`, and no field or connection-string option can turn it on.
"""

from __future__ import annotations

import dataclasses
import logging
import ssl
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
import pymysql.cursors
from pymysql.constants import CLIENT

from ..core.failures import NO_DATABASE
from ..core.refusal import ConnectionFailed
from .base import Dialect, SchemaFilter, TableInfo, Target
from .errors_table import (
    BAD_LOGIN,
    NO_SUCH_DATABASE,
    PORT_REFUSED,
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
    SSL_MODES,
    FieldSpec,
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

BATCH = 1000
SYNC_READ_TIMEOUT = 300.0  # a sync's catalog query may run longer than a verify's deadline
SYSTEM_SCHEMAS = ("mysql", "information_schema", "performance_schema", "sys")
KINDS = {"BASE TABLE": "table", "SYSTEM VERSIONED": "table", "VIEW": "view"}

# MySQL error numbers (client 2xxx, server 1xxx/3xxx).
ACCESS_DENIED, NO_DB_ACCESS, UNKNOWN_DB, HOST_NOT_ALLOWED = 1045, 1044, 1049, 1130
TOO_MANY_CONNECTIONS, INSECURE_TRANSPORT = 1040, 3159
CANNOT_CONNECT, SSL_ERROR = 2003, 2026

_CERTIFICATE: dict[str, Any] = {
    "text": "CERTIFICATE_VERIFY_FAILED",
    "types": (ssl.SSLCertVerificationError,),
}
ERRORS = (
    ErrorRule(timed_out, types=(TimeoutError,), text="timed out"),
    ErrorRule(BAD_LOGIN, code=ACCESS_DENIED),
    ErrorRule(NO_SUCH_DATABASE, code=UNKNOWN_DB),
    ErrorRule(
        Failure(
            "database",
            "The user may not use a database named {databaseName!r} "
            "(MySQL does not say whether it exists). Check its name and the user's "
            "grants.",
            {"databaseName": f"{NO_DATABASE}, or this user may not use it"},
        ),
        code=NO_DB_ACCESS,
    ),
    ErrorRule(
        Failure(
            "auth",
            "The server does not let this user connect from Datadock's address.",
            {"username": "Not allowed to connect from Datadock's address"},
        ),
        code=HOST_NOT_ALLOWED,
    ),
    ErrorRule(SSL_REQUIRED, code=INSECURE_TRANSPORT),
    ErrorRule(SSL_UNSUPPORTED, code=SSL_ERROR, also="support"),
    ErrorRule(WRONG_CERTIFICATE_NAME, also="mismatch|not valid for", **_CERTIFICATE),
    *untrusted_certificate(**_CERTIFICATE),
    ErrorRule(TLS_FAILED, code=SSL_ERROR, text="SSL"),
    ErrorRule(PORT_REFUSED, code=CANNOT_CONNECT, also="refused"),
    ErrorRule(
        Failure(
            "auth",
            "The server has too many connections open; try again later or "
            "raise its max_connections.",
        ),
        code=TOO_MANY_CONNECTIONS,
    ),
)


def mysql_tls_fields() -> tuple[FieldSpec, ...]:
    """The shared TLS fields, with the modes PyMySQL can honour (no prefer/allow)."""
    modes = tuple(m for m in SSL_MODES if m[0] in ("require", "verify-ca", "verify-full"))
    docs = "https://dev.mysql.com/doc/refman/8.0/en/using-encrypted-connections.html"
    return tuple(
        dataclasses.replace(f, choices=modes, docs=docs) if f.name == "sslMode" else f
        for f in tls_fields()
    )


def _with_default(specs: tuple[FieldSpec, ...], name: str, default: Any) -> tuple[FieldSpec, ...]:
    return tuple(dataclasses.replace(f, default=default) if f.name == name else f for f in specs)


class _ServerNameContext(ssl.SSLContext):
    """A TLS context that checks the certificate against the host name the user typed.

    PyMySQL connects to the address Datadock resolved and checked (or a tunnel's local end) and
    would otherwise send that address as the TLS server name.
    """

    server_name: str | None = None

    def wrap_socket(  # type: ignore[override]
        self,
        sock: Any,
        *args: Any,
        server_hostname: str | None = None,
        **kwargs: Any,
    ) -> ssl.SSLSocket:
        """Wrap with the user's host name for SNI and the certificate check."""
        name = self.server_name or server_hostname
        return super().wrap_socket(sock, *args, server_hostname=name, **kwargs)  # type: ignore[misc]


def tls_context(values: dict[str, Any]) -> ssl.SSLContext:
    """require: encrypt only; verify-ca: check the issuer; verify-full: issuer and host name.

    Without a pasted CA certificate the system's trusted CAs are used. A pasted client
    certificate and key are written to a private temporary folder, loaded, and removed.
    """
    mode = values.get("sslMode") or "require"
    context = _ServerNameContext(ssl.PROTOCOL_TLS_CLIENT)
    context.server_name = values.get("host")
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    custom = bool(values.get("sslCustomCertificatesEnabled"))
    if mode == "require":
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context.check_hostname = mode == "verify-full"
        context.verify_mode = ssl.CERT_REQUIRED
        if custom and values.get("sslRootCertificate"):
            context.load_verify_locations(cadata=values["sslRootCertificate"])
        else:
            context.load_default_certs()
    if custom and values.get("sslClientCertificate") and values.get("sslClientKey"):
        with tempfile.TemporaryDirectory(prefix="datadock-tls-") as folder:
            cert, key = Path(folder) / "client.pem", Path(folder) / "client.key"
            for path, name in ((cert, "sslClientCertificate"), (key, "sslClientKey")):
                path.touch(mode=0o600)
                path.write_text(values[name])
            try:
                context.load_cert_chain(str(cert), str(key))
            except ssl.SSLError:
                raise ConnectionFailed(
                    "tls",
                    "The pasted client key does not belong to the client certificate.",
                    {"sslClientKey": "This key does not match the client certificate"},
                ) from None
    return context


class _DeadlineConnection(pymysql.connections.Connection):
    """A PyMySQL connection whose login ends at one deadline: each packet read of the
    handshake waits only for what is left of it (PyMySQL's float timeouts apply per socket
    operation, so a server that answers slowly, packet by packet, could otherwise stretch the
    login to several timeouts). After the login, reads get the whole timeout again."""

    def __init__(self, deadline: float, **kwargs: Any) -> None:
        self._login_deadline: float | None = deadline
        self._full_read_timeout = kwargs.get("read_timeout")
        super().__init__(**kwargs)

    def connect(self, sock: Any = None) -> None:
        """Log in under the deadline."""
        try:
            super().connect(sock)
        finally:
            self._login_deadline = None
            self._read_timeout = self._full_read_timeout

    def _read_packet(self, packet_type: Any = pymysql.connections.MysqlPacket) -> Any:
        if self._login_deadline is not None:
            self._read_timeout = max(self._login_deadline - time.monotonic(), 0.001)
        return super()._read_packet(packet_type)


class MySQL(Dialect):
    """MySQL over PyMySQL."""

    key = "MYSQL"
    label = "MySQL"
    docs_url = "https://dev.mysql.com/doc/refman/8.0/en/connecting.html"
    read_only_sql: str | None = """\
CREATE USER 'datadock_reader'@'%' IDENTIFIED BY 'choose-a-long-password';
GRANT SELECT, SHOW VIEW ON your_database.* TO 'datadock_reader'@'%';"""
    errors = ERRORS
    fallback = Failure(
        "connect",
        "The server closed the connection or answered in an "
        "unexpected way. Check that the host and port point at a {label} server.",
    )
    url_schemes: tuple[str, ...] = ("mysql",)
    url_form = SERVER_URL
    fields = (
        host_field(),
        port_field(3306),
        database_field(max_length=64),
        username_field(max_length=80),
        password_field(
            required=False, help="Leave blank if the server lets this user in without one."
        ),
        ssl_field(),
        *mysql_tls_fields(),
        *ssh_fields(),
    )

    def connect(self, target: Target) -> pymysql.connections.Connection:
        """Log in within `target.timeout`; values go to PyMySQL as separate parameters.

        When a plain login is refused by a server that offers TLS, one TLS login with the same
        values (to the same address) tells whether the server only accepts encrypted
        connections: MariaDB answers those with the same error as a wrong password.
        """
        deadline = time.monotonic() + target.timeout
        tls = bool(target.values.get("sslEnabled"))
        connection = self._connection(target, tls, target.timeout)
        try:
            connection.connect()
        except pymysql.err.OperationalError as exc:
            offers_tls = bool(getattr(connection, "server_capabilities", 0) & CLIENT.SSL)
            if exc.args[0] != ACCESS_DENIED or tls or not offers_tls:
                raise
            if self._tls_login_works(target, deadline - time.monotonic()):
                raise ConnectionFailed(
                    "tls",
                    "The server only accepts encrypted connections from this user. Turn SSL on.",
                    {"sslEnabled": "The server requires SSL"},
                ) from None
            raise
        return connection

    def _connection(
        self, target: Target, tls: bool, seconds: float, probe: bool = False
    ) -> pymysql.connections.Connection:
        v = target.values
        seconds = max(seconds, 0.1)
        deadline = time.monotonic() + seconds
        options: dict[str, Any] = {"ssl_disabled": True}
        if tls:  # the probe only asks whether the server takes the login over TLS at all
            options = {
                "ssl": tls_context({"host": v.get("host"), "sslMode": "require"} if probe else v)
            }
        return _DeadlineConnection(
            deadline,
            host=target.address,
            port=target.port or v["port"],
            user=v["username"],
            password=(v.get("password") or "").encode(),
            database=v["databaseName"],
            charset="utf8mb4",
            # connect_timeout alone does not bound the handshake: a host that accepts and never
            # answers would hang a read forever (RECIPES.md).
            connect_timeout=seconds,
            read_timeout=seconds,
            write_timeout=seconds,
            local_infile=False,
            autocommit=True,
            program_name="datadock",
            defer_connect=True,
            **options,
        )

    def _tls_login_works(self, target: Target, seconds: float) -> bool:
        if seconds <= 0.1:
            return False
        probe = self._connection(target, True, seconds, probe=True)
        try:
            probe.connect()
        except Exception as exc:  # noqa: BLE001 - any failure: the probe tells nothing
            log.info("TLS login probe failed: %s: %s", type(exc).__name__, exc)
            return False
        probe.close()
        return True

    def catalog_version(self, connection: pymysql.connections.Connection) -> str:
        """The catalog is readable and the server's version, in one round trip."""
        with connection.cursor() as cur:
            cur.execute("SELECT VERSION(), (SELECT 1 FROM information_schema.tables LIMIT 1)")
            row = cur.fetchone()
        return self.version_name(str(row[0]) if row else "")

    def server_version(self, connection: pymysql.connections.Connection) -> str:
        """ "MariaDB 10.11.19" or "MySQL 8.0.36" from VERSION()."""
        with connection.cursor() as cur:
            cur.execute("SELECT VERSION()")
            row = cur.fetchone()
        return self.version_name(str(row[0]) if row else "")

    @staticmethod
    def version_name(text: str) -> str:
        """The product and number VERSION() names."""
        number = text.split("-")[0] or "unknown"
        if "mariadb" in text.lower():
            return f"MariaDB {number}"
        if "planetscale" in text.lower() or "vitess" in text.lower():
            return f"PlanetScale (MySQL {number})"
        return f"MySQL {number}"

    def error_codes(self, exc: BaseException) -> tuple[Any, ...]:
        """PyMySQL's error number (the first argument)."""
        args = getattr(exc, "args", ())
        return (args[0],) if args and isinstance(args[0], int) else ()

    def error_text(self, exc: BaseException) -> str:
        """PyMySQL's message (the second argument)."""
        args: tuple[Any, ...] = getattr(exc, "args", ())
        return str(args[1]) if len(args) > 1 else str(exc)

    def introspect(
        self, connection: pymysql.connections.Connection, schemas: SchemaFilter | None = None
    ) -> Iterator[TableInfo]:
        """Three information_schema queries: tables (kind, row estimate, comment) and keys
        (primary and foreign) are read first, then every column (with its comment) streams
        through an unbuffered cursor, ordered by table, and each table is yielded (and
        forgotten) as soon as its columns are in.

        One joined query would be simpler, but MariaDB fills each information_schema table
        it joins for every database and joins them without an index: 10x slower.
        """
        schemas = schemas or SchemaFilter()
        timeout = connection._read_timeout  # PyMySQL has no public setter for this
        connection._read_timeout = max(timeout or 0, SYNC_READ_TIMEOUT)
        try:
            tables, keys = _tables_and_keys(connection, schemas)
            cursor = connection.cursor(pymysql.cursors.SSCursor)
            current: TableInfo | None = None
            try:
                cursor.execute(*catalog_query(COLUMNS_QUERY, schemas))
                while rows := cursor.fetchmany(BATCH):
                    for schema, table, column, typ, nullable, default, ordinal, note in rows:
                        if current is None or (current.schema, current.name) != (schema, table):
                            if current is not None:
                                yield current
                            current = tables.pop((schema, table), None)
                            primary, foreign = keys.pop((schema, table), (set(), []))
                            if current is not None:
                                current.foreign_keys = foreign
                        if current is None:  # a sequence, or a table created meanwhile
                            continue
                        entry = {
                            "name": column,
                            "type": typ,
                            "nullable": nullable == "YES",
                            "default": None if default == "NULL" else default,
                            "primaryKey": column in primary,
                            "ordinal": int(ordinal),
                        }
                        if note:  # COLUMN_COMMENT is '' when the column has none
                            entry["comment"] = note
                        current.columns.append(entry)
            finally:
                cursor.close()
            if current is not None:
                yield current
        finally:
            connection._read_timeout = timeout


def _tables_and_keys(
    connection: pymysql.connections.Connection, schemas: SchemaFilter
) -> tuple[dict[tuple[str, str], TableInfo], dict[tuple[str, str], tuple[set[str], list[dict]]]]:
    """Every allowed table with its kind and row estimate; every table's primary key columns
    and foreign keys."""
    tables: dict[tuple[str, str], TableInfo] = {}
    keys: dict[tuple[str, str], tuple[set[str], list[dict]]] = {}
    with connection.cursor(pymysql.cursors.SSCursor) as cur:
        cur.execute(*catalog_query(TABLES_QUERY, schemas))
        for schema, name, kind, rows, note in cur:
            if schemas.allows(schema):
                kind = KINDS[kind]
                tables[(schema, name)] = TableInfo(
                    schema,
                    name,
                    kind,
                    row_estimate=(None if kind == "view" or rows is None else int(rows)),
                    # A view's TABLE_COMMENT is the word VIEW (views take no comment here);
                    # a table without a comment has ''.
                    comment=(note or None) if kind != "view" else None,
                )
        cur.execute(*catalog_query(KEYS_QUERY, schemas))
        for schema, name, constraint, column, ref_schema, ref_table, ref_column in cur:
            primary, foreign = keys.setdefault((schema, name), (set(), []))
            if ref_table is None:
                primary.add(column)
                continue
            if not foreign or foreign[-1]["name"] != constraint:
                foreign.append(
                    {
                        "name": constraint,
                        "columns": [],
                        "referredSchema": ref_schema,
                        "referredTable": ref_table,
                        "referredColumns": [],
                    }
                )
            foreign[-1]["columns"].append(column)
            foreign[-1]["referredColumns"].append(ref_column)
    return tables, keys


# Each query reads one information_schema table, filtered by schema: MariaDB then opens only
# those databases' tables. {where} is the schema filter (see catalog_query).
TABLES_QUERY = """
SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, TABLE_ROWS, TABLE_COMMENT
FROM information_schema.TABLES
WHERE {where} AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED', 'VIEW')
"""
KEYS_QUERY = """
SELECT TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_SCHEMA,
       REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME
FROM information_schema.KEY_COLUMN_USAGE
WHERE {where} AND (CONSTRAINT_NAME = 'PRIMARY' OR REFERENCED_TABLE_NAME IS NOT NULL)
ORDER BY TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION
"""
COLUMNS_QUERY = """
SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT,
       ORDINAL_POSITION, COLUMN_COMMENT
FROM information_schema.COLUMNS
WHERE {where}
ORDER BY CAST(TABLE_SCHEMA AS BINARY), CAST(TABLE_NAME AS BINARY), ORDINAL_POSITION
"""


def _like(pattern: str) -> str:
    """A schema glob as a LIKE pattern escaped with `!` (schema patterns never contain `!`)."""
    escaped = pattern.lower().replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return escaped.replace("*", "%").replace("?", "_")


def catalog_query(query: str, schemas: SchemaFilter) -> tuple[str, list[str] | None]:
    """`query` with its schema filter and parameters: the connection's database when no schema
    pattern is given, otherwise the visible databases matching the patterns (never system
    ones). Exclusions are applied on the rows read (SchemaFilter.allows)."""
    if not schemas.include:
        return query.format(where="TABLE_SCHEMA = DATABASE()"), None
    likes = " OR ".join("LOWER(TABLE_SCHEMA) LIKE %s ESCAPE '!'" for _ in schemas.include)
    system = ", ".join(f"'{s}'" for s in SYSTEM_SCHEMAS)
    where = f"({likes}) AND TABLE_SCHEMA NOT IN ({system})"
    return query.format(where=where), [_like(p) for p in schemas.include]


class PlanetScale(MySQL):
    """PlanetScale (MySQL-compatible, Vitess): TLS always, with publicly trusted certificates."""

    key = "PLANETSCALE"
    label = "PlanetScale"
    docs_url = "https://planetscale.com/docs/concepts/connection-strings"
    read_only_sql = None
    read_only_note = (
        "PlanetScale makes logins in its console, not with SQL: create a password "
        "with the Read-only role on the branch (Settings → Passwords)."
    )
    url_hosts = ("psdb.cloud",)
    fields = (
        host_field(
            placeholder="aws.connect.psdb.cloud",
            help="From the database's Connect page, e.g. aws.connect.psdb.cloud.",
        ),
        port_field(3306),
        database_field(max_length=64, help="The PlanetScale database name."),
        username_field(max_length=80, help="The branch password's username."),
        password_field(placeholder="pscale_pw_…"),
        ssl_field(help="PlanetScale only accepts encrypted connections; keep this on."),
        *_with_default(mysql_tls_fields(), "sslMode", "verify-full"),
        *ssh_fields(),
    )


class MariaDB(MySQL):
    """MariaDB over PyMySQL (the same protocol and catalog)."""

    key = "MARIADB"
    label = "MariaDB"
    docs_url = "https://mariadb.com/kb/en/connecting-to-mariadb/"
    read_only_sql = """\
CREATE USER 'datadock_reader'@'%' IDENTIFIED BY 'choose-a-long-password';
GRANT SELECT, SHOW VIEW ON your_database.* TO 'datadock_reader'@'%';"""
    url_schemes = ("mysql", "mariadb")


REGISTER = (MySQL(), PlanetScale(), MariaDB())
