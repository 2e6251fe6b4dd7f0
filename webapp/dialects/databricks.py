"""Databricks SQL (warehouses and clusters): fields, databricks-sql-connector, two bulk
metadata calls (tables, columns), error classification by HTTP code and error class."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..core.failures import port_refused, timeout_failure
from ..core.refusal import ConnectionFailed
from .base import Dialect, SchemaFilter, TableInfo, Target
from .cloud import chain, chain_text, column, import_driver, sql_kind, unexpected
from .fields import FieldInvalid, FieldSpec, database_field, host_field, password_field, port_field
from .pinning import Pin, PinnedClient, pin_refusal, pinned, unchecked_connection

HTTP_PATH = re.compile(
    r"^/?(sql/1\.0/(warehouses|endpoints)/[0-9a-f]{8,32}"
    r"|sql/protocolv1/o/\d+/[0-9]{4}-[0-9]{6}-[a-z0-9]{8})$")
WRONG_TOKEN_MESSAGE = "Incorrect access token"  # noqa: S105 - a message


def check_http_path(value: str) -> None:
    """A SQL warehouse's or a cluster's HTTP path (Connection details tab)."""
    if not HTTP_PATH.match(value):
        raise FieldInvalid("Use the HTTP path from Connection details, e.g. "
                           "/sql/1.0/warehouses/1234567890abcdef")


class Databricks(Dialect):
    """Databricks SQL warehouses and all-purpose clusters."""

    key = "DATABRICKS"
    label = "Databricks"
    extra = "databricks"
    steps = ("fields", "driver", "dns", "tcp", "tls", "auth", "database", "catalog")
    fields = (
        host_field(label="Server hostname", placeholder="dbc-a1b2c3d4-e5f6.cloud.databricks.com",
                   help="From the warehouse's Connection details, without https://."),
        port_field(443),
        FieldSpec(name="databricksHttpPath", label="HTTP path", required=True, max_length=255,
                  placeholder="/sql/1.0/warehouses/1234567890abcdef", checks=(check_http_path,),
                  help="From the warehouse's (or cluster's) Connection details."),
        password_field(label="Access token", max_length=2048,
                       help="A personal access token (dapi…) or a service principal's token."),
        database_field(label="Catalog", required=False, max_length=255,
                       placeholder="main", help="The Unity Catalog catalog to sync; leave blank "
                                                "for every catalog the token can read."),
    )

    @property
    def identity_names(self) -> tuple[str, ...]:
        """The workspace host and the warehouse: where the token is sent."""
        return (*super().identity_names, "databricksHttpPath")

    def uses_tls(self, values: dict[str, Any]) -> bool:
        """Always HTTPS."""
        return True

    def load_driver(self) -> None:
        """databricks-sql-connector, from the `databricks` extra (its client module pulls in
        pandas: imported here so the connect's deadline is not spent importing)."""
        import_driver("databricks.sql", "databricks.sql.client")

    def connect(self, target: Target) -> Any:
        """Open a session by host name (the vendor's TLS certificate names it), pinned to the
        checked address: every connection the connector opens, now or for a later query, goes
        there (dialects/pinning.py). Retries are bounded by the deadline; telemetry and cloud
        fetch (result downloads from other hosts) are off."""
        from databricks import sql

        v = target.values
        port = int(target.port or v["port"])
        pin = Pin(v["host"], str(target.address), port, guard=target.connection_guard())
        with pinned(pin):
            connection = sql.connect(
                server_hostname=v["host"], http_path=v["databricksHttpPath"],
                access_token=v["password"], catalog=v.get("databaseName") or None,
                _port=port, _socket_timeout=target.timeout,
                _retry_stop_after_attempts_count=1,
                _retry_stop_after_attempts_duration=target.timeout,
                enable_telemetry=False, use_cloud_fetch=False, user_agent_entry="datadock")
        client = PinnedClient(connection, pin)
        client._datadock_catalog = v.get("databaseName") or None  # read by introspect
        return client

    def check_catalog(self, connection: Any) -> None:
        """The metadata call the sync makes, limited to one schema listing."""
        cursor = connection.cursor()
        try:
            cursor.schemas(catalog_name=None)
            cursor.fetchmany(1)
        finally:
            cursor.close()

    def server_version(self, connection: Any) -> str:
        """"Databricks SQL 2024.40" from current_version()."""
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT current_version().dbsql_version")
            row = cursor.fetchone()
        except Exception:  # noqa: BLE001 - clusters have no dbsql_version
            return "Databricks"
        finally:
            cursor.close()
        return f"Databricks SQL {row[0]}" if row and row[0] else "Databricks"

    def classify(self, exc: BaseException, target: Target) -> ConnectionFailed:
        """HTTP codes from the request context, then the connector's error classes."""
        v = target.values
        host, port = v.get("host", ""), v.get("port")
        context = getattr(exc, "context", None) or {}
        http_code = context.get("http-code") if isinstance(context, dict) else None
        # RequestError carries the underlying error as an argument, not as its cause.
        nested = [a for a in getattr(exc, "args", ()) if isinstance(a, BaseException)]
        names = {type(e).__name__ for x in (exc, *nested) for e in chain(x)}
        text = " | ".join(chain_text(x) for x in (exc, *nested))
        refused = pin_refusal(exc)
        if refused is not None:
            return unchecked_connection(host, refused)
        if http_code in (401, 403) or "Invalid access token" in text:
            return ConnectionFailed("auth", "Databricks rejected the access token.",
                                    {"password": WRONG_TOKEN_MESSAGE})
        if http_code == 404:
            return ConnectionFailed(
                "database", "This workspace has no warehouse or cluster at this HTTP path.",
                {"databricksHttpPath": "No warehouse or cluster at this path"})
        if re.search(r"NO_SUCH_CATALOG|CATALOG_NOT_FOUND|Catalog '.*' (was )?not found", text):
            return ConnectionFailed(
                "database", f"The workspace has no catalog named {v.get('databaseName')!r}, "
                "or the token may not use it.", {"databaseName": "Catalog does not exist"})
        if names & {"MaxRetryDurationError", "ReadTimeoutError", "ConnectTimeoutError",
                    "TimeoutError", "timeout"}:
            return timeout_failure(host, port, target.timeout)
        if "SSLError" in names or "CERTIFICATE_VERIFY_FAILED" in text:
            return ConnectionFailed(
                "tls", "The HTTPS handshake with the workspace failed.",
                {"host": "TLS handshake failed"})
        if "Connection refused" in text:
            return port_refused(host, port)
        return unexpected(self.label)

    def introspect(self, connection: Any, schemas: SchemaFilter | None = None
                   ) -> Iterator[TableInfo]:
        """Two metadata calls (tables, then columns) for the catalog, not one per table."""
        catalog = getattr(connection, "_datadock_catalog", None)
        cursor = connection.cursor()
        try:
            cursor.tables(catalog_name=catalog)
            kinds = {(r[0], r[1], r[2]): sql_kind(r[3]) for r in cursor.fetchall()}
            cursor.columns(catalog_name=catalog)
            rows = cursor.fetchall()
        finally:
            cursor.close()
        yield from _tables(rows, kinds, schemas or SchemaFilter(), multi=catalog is None)


def _tables(rows: list, kinds: dict, schemas: SchemaFilter, multi: bool) -> Iterator[TableInfo]:
    """Group columns() rows (JDBC shape) into tables, in order; schema is catalog.schema when
    every catalog is read."""
    tables: dict[tuple, TableInfo] = {}
    for r in rows:
        catalog, schema, table = r[0], r[1], r[2]
        if schema == "information_schema":
            continue
        shown = f"{catalog}.{schema}" if multi else str(schema)
        if not schemas.allows(shown):
            continue
        key = (catalog, schema, table)
        info = tables.get(key)
        if info is None:
            info = tables[key] = TableInfo(shown, str(table), kinds.get(key, "table"))
        # JDBC columns(): 3 COLUMN_NAME, 5 TYPE_NAME, 10 NULLABLE, 12 COLUMN_DEF, 16 ORDINAL.
        info.columns.append(column(r[3], r[5], r[10] != 0, r[12], False, r[16]))
    for key in sorted(tables):
        yield tables[key]


REGISTER = (Databricks(),)
