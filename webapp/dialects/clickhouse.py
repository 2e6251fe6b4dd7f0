"""ClickHouse (and ClickHouse Cloud): fields, clickhouse-connect over the HTTP interface, one
system.columns query, error classification by ClickHouse error code."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import SplitResult

from ..core.steps import DRIVER_HOST_STEPS
from .base import Dialect, SchemaFilter, TableInfo, Target
from .cloud import group_tables
from .errors_table import (
    BAD_LOGIN,
    NO_SUCH_DATABASE,
    REFUSED,
    ErrorRule,
    Failure,
    chain_text,
    timed_out,
)
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

SYNC_QUERY_SECONDS = 300

CATALOG_QUERY = """
SELECT c.database, c.table, t.engine, c.name, c.type, startsWith(c.type, 'Nullable('),
       c.default_expression, c.is_in_primary_key, c.position, t.total_rows
FROM system.columns AS c
INNER JOIN system.tables AS t ON t.database = c.database AND t.name = c.table
WHERE c.database NOT IN ('system', 'INFORMATION_SCHEMA', 'information_schema')
ORDER BY c.database, c.table, c.position
"""

# ClickHouse error codes (src/Common/ErrorCodes.cpp).
CREDENTIAL_CODES = {192, 193, 194, 516}  # UNKNOWN_USER, WRONG_PASSWORD, REQUIRED_PASSWORD, AUTH…
UNKNOWN_DATABASE = 81
ACCESS_DENIED = 497
IP_NOT_ALLOWED = 195
NO_HTTP_INTERFACE = {"port": "No ClickHouse HTTP interface on this port"}

# ClickHouse's error code (sent in X-ClickHouse-Exception-Code), then urllib3's causes.
ERRORS = (
    ErrorRule(BAD_LOGIN, code=CREDENTIAL_CODES),
    ErrorRule(NO_SUCH_DATABASE, code=UNKNOWN_DATABASE),
    ErrorRule(
        Failure(
            "database",
            "This user may not read this database (ACCESS_DENIED).",
            {"username": "No access to this database"},
        ),
        code=ACCESS_DENIED,
    ),
    ErrorRule(
        Failure(
            "auth",
            "This user may not connect from Datadock's address. Add it to the "
            "service's IP access list.",
            {"host": "Datadock's address is not allowed"},
        ),
        code=IP_NOT_ALLOWED,
    ),
    ErrorRule(timed_out, chain=("ReadTimeoutError", "ConnectTimeoutError", "TimeoutError")),
    REFUSED,
    ErrorRule(
        Failure(
            "tls",
            "The HTTPS handshake failed: the port may be the plain HTTP one "
            "(8123), or the certificate is not trusted or not issued for this host "
            "name.",
            {"sslEnabled": "TLS handshake failed"},
        ),
        chain=("SSLError",),
        text="CERTIFICATE_VERIFY_FAILED",
    ),
    ErrorRule(
        Failure(
            "tls",
            "The server closed the connection: this port may expect HTTPS "
            "(turn SSL on) or may not be ClickHouse's HTTP interface.",
            NO_HTTP_INTERFACE,
        ),
        chain=("RemoteDisconnected", "ProtocolError", "BadStatusLine"),
    ),
    ErrorRule(
        Failure(
            "connect", "{host}:{port} answered HTTP, but not like ClickHouse.", NO_HTTP_INTERFACE
        ),
        text="HTTP status",
        when=lambda facts: not facts.codes,
    ),
)


def _secure(parts: SplitResult, options: dict[str, str]) -> dict[str, Any]:
    """secure=…, else clickhouses:// or +https, else the plain HTTP and native ports."""
    scheme = parts.scheme.lower()
    if "secure" in options:
        return {"sslEnabled": options["secure"].lower() in TRUE}
    if scheme.startswith("clickhouses") or scheme.endswith("+https"):
        return {"sslEnabled": True}
    if parts.port in (8123, 9000):
        return {"sslEnabled": False}
    return {}


def engine_kind(engine: Any) -> str:
    """A table engine as TableInfo's kind."""
    return {"View": "view", "MaterializedView": "materialized view", "LiveView": "view"}.get(
        str(engine), "table"
    )


class ClickHouse(Dialect):
    """ClickHouse over its HTTP(S) interface with clickhouse-connect."""

    key = "CLICKHOUSE"
    label = "ClickHouse"
    category = "Warehouse"
    docs_url = "https://clickhouse.com/docs/en/interfaces/http"
    read_only_sql = """\
CREATE USER datadock_reader IDENTIFIED BY 'choose-a-long-password';
GRANT SELECT ON your_database.* TO datadock_reader;"""
    extra = "clickhouse"
    driver_modules = ("clickhouse_connect",)
    steps = DRIVER_HOST_STEPS
    errors = ERRORS
    error_text = staticmethod(chain_text)
    # clickhouse://u:p@host:8443/db?secure=true (clickhouses:// is secure)
    url_schemes = ("clickhouse", "clickhouses", "clickhousedb")
    url_form = UrlForm(more=_secure)
    fields = (
        host_field(placeholder="abc123.us-east-1.aws.clickhouse.cloud"),
        port_field(
            8443, help="The HTTP interface: 8443 with SSL (ClickHouse Cloud), 8123 without."
        ),
        database_field(default="default", max_length=255),
        username_field(default="default", max_length=255),
        password_field(required=False, max_length=1024),
        ssl_field(help="HTTPS; the certificate is checked against the host name."),
        *ssh_fields(),
    )

    def connect(self, target: Target) -> Any:
        """A client on the checked address; with SSL the certificate is checked against the
        host name (server_host_name). The client asks the server its version on creation, so
        credentials and database are checked here."""
        import clickhouse_connect

        v = target.values
        tls = bool(v.get("sslEnabled"))
        return clickhouse_connect.get_client(
            host=target.address,
            port=target.port or v["port"],
            username=v["username"],
            password=v.get("password") or "",
            database=v["databaseName"],
            secure=tls,
            server_host_name=v["host"] if tls else None,
            connect_timeout=target.timeout,
            send_receive_timeout=target.timeout,
            query_retries=0,
            autogenerate_session_id=False,
            client_name="datadock",
        )

    def check_catalog(self, connection: Any) -> None:
        """system.columns is what the sync reads."""
        connection.query("SELECT 1 FROM system.columns LIMIT 1")

    def server_version(self, connection: Any) -> str:
        """ "ClickHouse 24.8.4.13" as the server reported it."""
        return f"ClickHouse {connection.server_version}"

    def error_codes(self, exc: BaseException) -> tuple[Any, ...]:
        """ClickHouse's error code, when the server sent one."""
        code = getattr(exc, "code", None)
        return () if code is None else (code,)

    def introspect(
        self, connection: Any, schemas: SchemaFilter | None = None
    ) -> Iterator[TableInfo]:
        """One query over system.columns joined to system.tables, streamed in blocks."""
        settings = {"max_execution_time": SYNC_QUERY_SECONDS}
        with connection.query_rows_stream(CATALOG_QUERY, settings=settings) as stream:
            yield from group_tables(stream, schemas, engine_kind)


REGISTER = (ClickHouse(),)
