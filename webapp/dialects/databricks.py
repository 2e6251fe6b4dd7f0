"""Databricks SQL (warehouses and clusters): fields, databricks-sql-connector, two bulk
metadata calls (tables, columns), error classification by HTTP code and error class."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..core.steps import DRIVER_HOST_STEPS, without
from .base import Dialect, SchemaFilter, TableInfo, Target
from .cloud import column, sql_kind
from .errors_table import (
    PINNED_ELSEWHERE,
    REFUSED,
    ErrorRule,
    Failure,
    chain,
    chain_text,
    timed_out,
)
from .fields import FieldInvalid, FieldSpec, database_field, host_field, password_field, port_field
from .pinning import Pin, PinnedClient, pinned
from .urls import UrlForm

HTTP_PATH = re.compile(
    r"^/?(sql/1\.0/(warehouses|endpoints)/[0-9a-f]{8,32}"
    r"|sql/protocolv1/o/\d+/[0-9]{4}-[0-9]{6}-[a-z0-9]{8})$"
)
WRONG_TOKEN_MESSAGE = "Incorrect access token"  # noqa: S105 - a message

# The HTTP status in the request's context, then the connector's error classes.
ERRORS = (
    PINNED_ELSEWHERE,
    ErrorRule(
        Failure("auth", "Databricks rejected the access token.", {"password": WRONG_TOKEN_MESSAGE}),
        code=(401, 403),
        text="Invalid access token",
    ),
    ErrorRule(
        Failure(
            "database",
            "This workspace has no warehouse or cluster at this HTTP path.",
            {"databricksHttpPath": "No warehouse or cluster at this path"},
        ),
        code=404,
    ),
    ErrorRule(
        Failure(
            "database",
            "The workspace has no catalog named {databaseName!r}, or the token may not use it.",
            {"databaseName": "Catalog does not exist"},
        ),
        text=r"NO_SUCH_CATALOG|CATALOG_NOT_FOUND|Catalog '.*' (was )?not found",
    ),
    ErrorRule(
        timed_out,
        chain=(
            "MaxRetryDurationError",
            "ReadTimeoutError",
            "ConnectTimeoutError",
            "TimeoutError",
            "timeout",
        ),
    ),
    ErrorRule(
        Failure(
            "tls",
            "The HTTPS handshake with the workspace failed.",
            {"host": "TLS handshake failed"},
        ),
        chain=("SSLError",),
        text="CERTIFICATE_VERIFY_FAILED",
    ),
    REFUSED,
)


def check_http_path(value: str) -> None:
    """A SQL warehouse's or a cluster's HTTP path (Connection details tab)."""
    if not HTTP_PATH.match(value):
        raise FieldInvalid(
            "Use the HTTP path from Connection details, e.g. /sql/1.0/warehouses/1234567890abcdef"
        )


class Databricks(Dialect):
    """Databricks SQL warehouses and all-purpose clusters."""

    key = "DATABRICKS"
    label = "Databricks"
    category = "Warehouse"
    docs_url = "https://docs.databricks.com/aws/en/integrations/compute-details"
    read_only_sql = """\
-- Unity Catalog, for the user or service principal whose token Datadock uses; it also
-- needs CAN USE on the SQL warehouse.
GRANT USE CATALOG ON CATALOG your_catalog TO `datadock-reader@example.com`;
GRANT USE SCHEMA ON CATALOG your_catalog TO `datadock-reader@example.com`;
GRANT SELECT ON CATALOG your_catalog TO `datadock-reader@example.com`;"""
    extra = "databricks"
    # Its client module pulls in pandas: imported by the driver step, so the connect's
    # deadline is not spent importing.
    driver_modules = ("databricks.sql", "databricks.sql.client")
    steps = without(DRIVER_HOST_STEPS, "ssh")
    errors = ERRORS
    # databricks://token:dapi…@host:443?http_path=/sql/1.0/warehouses/…&catalog=main
    url_schemes = ("databricks",)
    url_form = UrlForm(
        username=None,  # always the word "token"
        options={"http_path": "databricksHttpPath", "catalog": "databaseName"},
    )
    fields = (
        host_field(
            label="Server hostname",
            placeholder="dbc-a1b2c3d4-e5f6.cloud.databricks.com",
            help="From the warehouse's Connection details, without https://.",
        ),
        port_field(443),
        FieldSpec(
            name="databricksHttpPath",
            label="HTTP path",
            required=True,
            max_length=255,
            placeholder="/sql/1.0/warehouses/1234567890abcdef",
            checks=(check_http_path,),
            help="From the warehouse's (or cluster's) Connection details.",
            docs="https://docs.databricks.com/aws/en/integrations/compute-details",
        ),
        password_field(
            label="Access token",
            max_length=2048,
            help="A personal access token (dapi…) or a service principal's token.",
        ),
        database_field(
            label="Catalog",
            required=False,
            max_length=255,
            placeholder="main",
            help="The Unity Catalog catalog to sync; leave blank "
            "for every catalog the token can read.",
        ),
    )

    @property
    def identity_names(self) -> tuple[str, ...]:
        """The workspace host and the warehouse: where the token is sent."""
        return (*super().identity_names, "databricksHttpPath")

    def uses_tls(self, values: dict[str, Any]) -> bool:
        """Always HTTPS."""
        return True

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
                server_hostname=v["host"],
                http_path=v["databricksHttpPath"],
                access_token=v["password"],
                catalog=v.get("databaseName") or None,
                _port=port,
                _socket_timeout=target.timeout,
                _retry_stop_after_attempts_count=1,
                _retry_stop_after_attempts_duration=target.timeout,
                enable_telemetry=False,
                use_cloud_fetch=False,
                user_agent_entry="datadock",
            )
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
        """ "Databricks SQL 2024.40" from current_version()."""
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT current_version().dbsql_version")
            row = cursor.fetchone()
        except Exception:  # noqa: BLE001 - clusters have no dbsql_version
            return "Databricks"
        finally:
            cursor.close()
        return f"Databricks SQL {row[0]}" if row and row[0] else "Databricks"

    def error_codes(self, exc: BaseException) -> tuple[Any, ...]:
        """The HTTP status the connector put in the error's context."""
        context = getattr(exc, "context", None) or {}
        return (context.get("http-code"),) if isinstance(context, dict) else ()

    def error_chain(self, exc: BaseException) -> tuple[BaseException, ...]:
        """The chain, and that of the underlying error a RequestError carries as an argument
        (not as its cause)."""
        return tuple(e for x in (exc, *_nested(exc)) for e in chain(x))

    def error_text(self, exc: BaseException) -> str:
        """Every message of both chains."""
        return " | ".join(chain_text(x) for x in (exc, *_nested(exc)))

    def introspect(
        self, connection: Any, schemas: SchemaFilter | None = None
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


def _nested(exc: BaseException) -> list[BaseException]:
    return [a for a in getattr(exc, "args", ()) if isinstance(a, BaseException)]


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
