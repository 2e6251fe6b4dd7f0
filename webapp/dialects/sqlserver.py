"""Microsoft SQL Server (and Azure SQL): fields, pymssql (FreeTDS) connection, one catalog
query, error classification."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import SplitResult

from ..core.failures import BAD_CREDENTIALS, NO_DATABASE
from ..core.steps import DRIVER_HOST_STEPS
from .base import Dialect, SchemaFilter, TableInfo, Target
from .cloud import group_tables, sql_kind, whole_seconds
from .errors_table import HOST_UNKNOWN, REFUSED, ErrorRule, Failure, chain_text, timed_out
from .fields import (
    database_field,
    host_field,
    password_field,
    port_field,
    ssh_fields,
    ssl_field,
    username_field,
)
from .urls import TRUE, UrlForm

SYNC_QUERY_SECONDS = 300  # a sync's catalog read may take longer than a verify

CATALOG_QUERY = """
SELECT c.TABLE_SCHEMA, c.TABLE_NAME, t.TABLE_TYPE, c.COLUMN_NAME, c.DATA_TYPE,
       c.CHARACTER_MAXIMUM_LENGTH, c.NUMERIC_PRECISION, c.NUMERIC_SCALE,
       c.IS_NULLABLE, c.COLUMN_DEFAULT,
       CASE WHEN pk.COLUMN_NAME IS NULL THEN 0 ELSE 1 END, c.ORDINAL_POSITION, r.row_estimate
FROM INFORMATION_SCHEMA.COLUMNS c
JOIN INFORMATION_SCHEMA.TABLES t
  ON t.TABLE_CATALOG = c.TABLE_CATALOG AND t.TABLE_SCHEMA = c.TABLE_SCHEMA
 AND t.TABLE_NAME = c.TABLE_NAME
LEFT JOIN (
  SELECT ku.TABLE_SCHEMA, ku.TABLE_NAME, ku.COLUMN_NAME
  FROM INFORMATION_SCHEMA.TABLE_CONSTRAINTS tc
  JOIN INFORMATION_SCHEMA.KEY_COLUMN_USAGE ku
    ON ku.CONSTRAINT_NAME = tc.CONSTRAINT_NAME AND ku.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA
  WHERE tc.CONSTRAINT_TYPE = 'PRIMARY KEY'
) pk ON pk.TABLE_SCHEMA = c.TABLE_SCHEMA AND pk.TABLE_NAME = c.TABLE_NAME
    AND pk.COLUMN_NAME = c.COLUMN_NAME
LEFT JOIN (
  SELECT s.name AS schema_name, o.name AS table_name, SUM(p.rows) AS row_estimate
  FROM sys.partitions p
  JOIN sys.objects o ON o.object_id = p.object_id
  JOIN sys.schemas s ON s.schema_id = o.schema_id
  WHERE p.index_id IN (0, 1)
  GROUP BY s.name, o.name
) r ON r.schema_name = c.TABLE_SCHEMA AND r.table_name = c.TABLE_NAME
WHERE c.TABLE_SCHEMA NOT IN ('sys', 'INFORMATION_SCHEMA')
ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION
"""

_SIZED = {"char", "varchar", "nchar", "nvarchar", "binary", "varbinary"}
_EXACT = {"decimal", "numeric"}


def sized_type(base: str, length: Any, precision: Any, scale: Any) -> str:
    """ "nvarchar(50)", "varchar(max)", "decimal(10,2)" from information_schema's parts."""
    if base.lower() in _SIZED and length is not None:
        return f"{base}({'max' if int(length) == -1 else int(length)})"
    if base.lower() in _EXACT and precision is not None:
        return f"{base}({int(precision)},{int(scale or 0)})"
    return base


def _handshake(wanted: str) -> Failure:
    return Failure(
        "tls",
        f"The encryption handshake failed. Try turning SSL {wanted}.",
        {"sslEnabled": "Encryption handshake failed"},
    )


# FreeTDS/DB-Lib numbers and SQL Server message numbers (or their words) to fields.
ERRORS = (
    ErrorRule(
        Failure(
            "auth",
            "The server rejected the login name or password.",
            {"username": BAD_CREDENTIALS, "password": BAD_CREDENTIALS},
        ),
        code=18456,
        text="Login failed",
    ),
    ErrorRule(
        Failure(
            "database",
            "The server has no database named {databaseName!r}. Or this login may not open it.",
            {"databaseName": NO_DATABASE},
        ),
        code=4060,
        text="Cannot open database",
    ),
    ErrorRule(
        Failure(
            "auth",
            "The password of this login has expired.",
            {"password": "The password must be changed"},
        ),
        code=18488,
        text="must be changed",
    ),
    ErrorRule(
        Failure(
            "auth", "This login is disabled on the server.", {"username": "This login is disabled"}
        ),
        code=18470,
        text="account is disabled",
    ),
    ErrorRule(
        Failure(
            "tcp",
            "The server's firewall does not allow Datadock's address. Add it "
            "to the firewall rules (Azure: Networking → Firewall rules).",
            {"host": "Datadock's address is not allowed by the server's firewall"},
        ),
        code=40615,
        text="is not allowed to access the server",
    ),
    ErrorRule(timed_out, code=20003, text="timed out"),
    REFUSED,
    ErrorRule(HOST_UNKNOWN, text="Name or service not known|Unknown host"),
    ErrorRule(_handshake("off"), text="(?i)SSL|TLS|encrypt", given=("sslEnabled",)),
    ErrorRule(_handshake("on"), text="(?i)SSL|TLS|encrypt"),
    ErrorRule(
        Failure(
            "connect",
            "{host}:{port} answered, but not like a SQL Server (or it "
            "closed the connection). Check the port, and whether the server requires "
            "encryption.",
            {"port": "No SQL Server answered on this port"},
        ),
        code=(20002, 20009, 20017),
    ),
)


def _encrypt(parts: SplitResult, options: dict[str, str]) -> dict[str, Any]:
    """encrypt=true|false."""
    return {"sslEnabled": options["encrypt"].lower() in TRUE} if "encrypt" in options else {}


URL = UrlForm(
    more=_encrypt,
    options={
        "databasename": "databaseName",
        "database": "databaseName",
        "user": "username",
        "username": "username",
        "password": "password",
    },
)


def _parts(exc: BaseException) -> tuple[int | None, str]:
    """pymssql's (number, message bytes) as (number, text)."""
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], tuple) and len(args[0]) == 2:
        number, message = args[0]
        text = message.decode(errors="replace") if isinstance(message, bytes) else str(message)
        return (number if isinstance(number, int) else None), text
    return None, chain_text(exc)


class SqlServer(Dialect):
    """SQL Server and Azure SQL over pymssql (FreeTDS, TDS 7.4)."""

    key = "SQL_SERVER"
    label = "Microsoft SQL Server"
    docs_url = "https://learn.microsoft.com/en-us/sql/relational-databases/security/authentication-access/create-a-database-user"
    read_only_sql = """\
CREATE LOGIN datadock_reader WITH PASSWORD = 'Choose-a-long-passw0rd';
USE your_database;
CREATE USER datadock_reader FOR LOGIN datadock_reader;
ALTER ROLE db_datareader ADD MEMBER datadock_reader;"""
    extra = "sqlserver"
    driver_modules = ("pymssql",)
    steps = DRIVER_HOST_STEPS
    errors = ERRORS
    url_schemes = ("sqlserver", "mssql")
    fields = (
        host_field(placeholder="sql.example.com or myserver.database.windows.net"),
        port_field(1433),
        database_field(
            max_length=128,
            placeholder="master",
            required=False,
            help="Blank: the login's default database.",
        ),
        username_field(
            max_length=128, help="A SQL Server login (Windows authentication is not supported)."
        ),
        password_field(max_length=128),
        ssl_field(
            help="Encrypt the connection (required by Azure SQL). FreeTDS does not check "
            "the server's certificate."
        ),
        *ssh_fields(),
    )

    def read_url(self, text: str) -> dict[str, Any]:
        """JDBC (sqlserver://host:1433;databaseName=db;user=u;password=p;encrypt=true) or a
        URL (mssql://u:p@host:1433/db?encrypt=true)."""
        if ";" not in text:
            return URL.read(text)
        head, *properties = text.split(";")
        options = {}
        for prop in properties:
            name, _, value = prop.partition("=")
            if name.strip():
                options[name.strip().lower()] = value.strip()
        return URL.read(head.split("\\", 1)[0], options)

    def connect(self, target: Target) -> Any:
        """Connect to the checked address; TDS 7.4 so the login deadline holds.

        Without a fixed TDS version FreeTDS retries older versions and a silent server costs
        several times the deadline.
        """
        import pymssql

        v = target.values
        seconds = whole_seconds(target.timeout)
        return pymssql.connect(
            server=target.address or v["host"],
            port=str(target.port or v["port"]),
            user=v["username"],
            password=v.get("password") or "",
            database=v.get("databaseName") or "",
            login_timeout=seconds,
            timeout=seconds,
            tds_version="7.4",
            encryption="require" if v.get("sslEnabled") else "off",
            appname="datadock",
        )

    def check_catalog(self, connection: Any) -> None:
        """information_schema is what the sync reads."""
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT TOP 1 1 FROM INFORMATION_SCHEMA.COLUMNS")
            cursor.fetchall()
        finally:
            cursor.close()

    def server_version(self, connection: Any) -> str:
        """ "SQL Server 16.0.4135.4" from SERVERPROPERTY."""
        cursor = connection.cursor()
        try:
            cursor.execute(
                "SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)), "
                "CAST(SERVERPROPERTY('Edition') AS nvarchar(128))"
            )
            row = cursor.fetchone()
        finally:
            cursor.close()
        version = row[0] if row else "unknown"
        edition = f" ({row[1]})" if row and row[1] else ""
        return f"SQL Server {version}{edition}"

    def error_codes(self, exc: BaseException) -> tuple[Any, ...]:
        """pymssql's number and every message number FreeTDS quotes."""
        number, text = _parts(exc)
        return (number, *map(int, re.findall(r"message (\d+)", text)))

    def error_text(self, exc: BaseException) -> str:
        """pymssql's message (bytes decoded), else the chain's."""
        return _parts(exc)[1]

    def introspect(
        self, connection: Any, schemas: SchemaFilter | None = None
    ) -> Iterator[TableInfo]:
        """One catalog query for every column of every table, streamed row by row."""
        raw = getattr(connection, "_conn", None)
        if raw is not None:
            raw.query_timeout = SYNC_QUERY_SECONDS
        cursor = connection.cursor()
        try:
            cursor.execute(CATALOG_QUERY)
            rows = (
                (
                    schema,
                    table,
                    ttype,
                    col,
                    sized_type(typ, length, prec, scale),
                    nullable,
                    default,
                    pk,
                    ordinal,
                    estimate,
                )
                for (
                    schema,
                    table,
                    ttype,
                    col,
                    typ,
                    length,
                    prec,
                    scale,
                    nullable,
                    default,
                    pk,
                    ordinal,
                    estimate,
                ) in cursor
            )
            yield from group_tables(rows, schemas, sql_kind)
        finally:
            cursor.close()


REGISTER = (SqlServer(),)
