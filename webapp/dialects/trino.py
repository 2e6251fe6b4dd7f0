"""Trino (and Starburst): fields, the trino client over HTTP(S) pinned to the checked address,
one information_schema query for the chosen catalog, error classification."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from ..core.failures import BAD_CREDENTIALS
from ..core.steps import DRIVER_HOST_STEPS
from .base import Dialect, SchemaFilter, TableInfo, Target
from .cloud import group_tables, sql_kind
from .errors_table import REFUSED, ErrorRule, Failure, chain_text, timed_out
from .fields import (
    FieldInvalid,
    FieldSpec,
    database_field,
    host_field,
    password_field,
    port_field,
    ssh_fields,
    ssl_field,
    username_field,
)
from .urls import UrlForm

PROBE_QUERY = "SELECT schema_name FROM information_schema.schemata LIMIT 1"
CATALOG_QUERY = """
SELECT c.table_schema, c.table_name, t.table_type, c.column_name, c.data_type, c.is_nullable,
       c.column_default, false, c.ordinal_position
FROM information_schema.columns c
JOIN information_schema.tables t
  ON t.table_schema = c.table_schema AND t.table_name = c.table_name
WHERE c.table_schema <> 'information_schema'
ORDER BY c.table_schema, c.table_name, c.ordinal_position
"""


# The client's exceptions (its error name as the code) and the requests errors they wrap.
ERRORS = (
    ErrorRule(timed_out, chain=("ConnectTimeout", "ReadTimeout", "Timeout", "ReadTimeoutError")),
    ErrorRule(
        Failure(
            "auth",
            "The coordinator rejected the username or password.",
            {"username": BAD_CREDENTIALS, "password": BAD_CREDENTIALS},
        ),
        text="error 401",
        chain=("TrinoAuthError",),
    ),
    ErrorRule(
        Failure(
            "database",
            "Trino has no catalog named {databaseName!r}.",
            {"databaseName": "Catalog does not exist"},
        ),
        code="CATALOG_NOT_FOUND",
    ),
    ErrorRule(
        Failure(
            "database",
            "This user may not read this catalog.",
            {"username": "No access to this catalog"},
        ),
        code=("PERMISSION_DENIED", "ACCESS_DENIED"),
    ),
    ErrorRule(
        Failure(
            "tls",
            "The HTTPS handshake failed: the coordinator may serve plain HTTP "
            "(turn SSL off), or its certificate is not trusted or not issued for this "
            "host name.",
            {"sslEnabled": "TLS handshake failed"},
        ),
        chain=("SSLError",),
    ),
    REFUSED,
    ErrorRule(
        Failure(
            "connect",
            "{host}:{port} did not answer like a Trino coordinator. Check "
            "the port and whether it expects HTTPS.",
            {"port": "No Trino coordinator here"},
        ),
        chain=(
            "HttpError",
            "Http502Error",
            "Http503Error",
            "Http504Error",
            "JSONDecodeError",
            "ConnectionError",
        ),
    ),
)


def check_schema(value: str) -> None:
    """A Trino schema name."""
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_$-]*", value):
        raise FieldInvalid("Use letters, digits, _, $ and - only")


def _https(parts: SplitResult, options: dict[str, str]) -> dict[str, Any]:
    """http_scheme (or protocol) says, else port 443 means HTTPS; /catalog/schema's schema."""
    segments = [unquote(s) for s in parts.path.split("/") if s]
    found: dict[str, Any] = {"trinoSchema": segments[1]} if len(segments) > 1 else {}
    scheme = options.get("http_scheme") or options.get("protocol")
    if scheme:
        return {**found, "sslEnabled": scheme.lower() == "https"}
    return {**found, "sslEnabled": parts.port == 443} if parts.port is not None else found


def pinned_session(host: str, address: str, port: int, tls: bool) -> Any:
    """A requests session whose every request goes to `address`:`port`.

    The Host header, TLS server name and certificate check use `host`; a request the server
    points anywhere else (a nextUri on another host) is refused, so the server cannot steer
    Datadock to an address the egress policy did not check.
    """
    import requests
    from requests.adapters import HTTPAdapter

    netloc_address = f"[{address}]" if ":" in address else address
    names = {host.lower(), address.lower(), netloc_address.lower()}

    class PinnedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            if tls:
                kwargs.update(server_hostname=host, assert_hostname=host)
            super().init_poolmanager(*args, **kwargs)

        def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            parts = urlsplit(request.url)
            if (parts.hostname or "").lower() not in names or (parts.port or port) != port:
                raise requests.exceptions.InvalidURL(
                    "the server pointed to another host; not followed"
                )
            request.url = urlunsplit(parts._replace(netloc=f"{netloc_address}:{port}"))
            request.headers["Host"] = f"{host}:{port}"
            return super().send(request, **kwargs)

    session = requests.Session()
    session.trust_env = False  # no proxy or .netrc from the server's environment
    adapter = PinnedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class Trino(Dialect):
    """Trino over its HTTP protocol with the official `trino` client."""

    key = "TRINO"
    label = "Trino"
    category = "Query engine"
    docs_url = "https://trino.io/docs/current/client/jdbc.html"
    read_only_note = (
        "Trino's access rules live on the coordinator (file-based or the "
        "connector's own): allow the user to read the catalog, nothing more."
    )
    extra = "trino"
    driver_modules = ("trino.dbapi", "trino.auth", "requests")
    steps = DRIVER_HOST_STEPS
    errors = ERRORS
    error_text = staticmethod(chain_text)
    # trino://user:password@host:443/catalog/schema?http_scheme=https
    url_schemes = ("trino",)
    url_form = UrlForm(more=_https)
    fields = (
        host_field(placeholder="trino.example.com"),
        port_field(443, help="443 with SSL; 8080 for a plain HTTP coordinator."),
        database_field(
            label="Catalog",
            max_length=255,
            placeholder="hive",
            help="The catalog to sync (SHOW CATALOGS lists them).",
        ),
        username_field(max_length=255),
        password_field(
            required=False,
            help="Leave blank when the coordinator has no password authentication. Needs SSL.",
        ),
        ssl_field(help="HTTPS; required to send a password."),
        FieldSpec(
            name="trinoSchema",
            label="Schema (optional)",
            max_length=255,
            checks=(check_schema,),
            placeholder="default",
            help="The session's default schema; the sync still reads every schema "
            "the filters allow.",
        ),
        *ssh_fields(),
    )

    def check_local(self, values: dict[str, Any]) -> dict[str, str]:
        """Trino refuses to send a password over plain HTTP, and so does Datadock."""
        errors = super().check_local(values)
        if values.get("password") and not values.get("sslEnabled"):
            errors["sslEnabled"] = "Turn SSL on to send a password"
        return errors

    def connect(self, target: Target) -> Any:
        """A connection pinned to the checked address, then one probe query: the client is
        lazy, and the probe is what checks credentials and the catalog."""
        import trino.auth
        import trino.dbapi

        v = target.values
        tls = bool(v.get("sslEnabled"))
        port = int(target.port or v["port"])
        address = target.address or v["host"]
        connection = trino.dbapi.connect(
            host=f"[{address}]" if ":" in address else address,
            port=port,
            user=v["username"],
            catalog=v["databaseName"],
            schema=v.get("trinoSchema") or None,
            http_scheme="https" if tls else "http",
            source="datadock",
            auth=trino.auth.BasicAuthentication(v["username"], v["password"])
            if v.get("password")
            else None,
            http_session=pinned_session(v["host"], address, port, tls),
            request_timeout=target.timeout,
            max_attempts=1,
        )
        try:
            cursor = connection.cursor()
            cursor.execute(PROBE_QUERY)
            cursor.fetchall()
        except BaseException:
            connection.close()
            raise
        return connection

    def server_version(self, connection: Any) -> str:
        """ "Trino 450" from version()."""
        cursor = connection.cursor()
        cursor.execute("SELECT version()")
        row = cursor.fetchone()
        return f"Trino {row[0] if row else 'unknown'}"

    def error_codes(self, exc: BaseException) -> tuple[Any, ...]:
        """Trino's error name (CATALOG_NOT_FOUND, …)."""
        name = getattr(exc, "error_name", None)
        return () if name is None else (name,)

    def introspect(
        self, connection: Any, schemas: SchemaFilter | None = None
    ) -> Iterator[TableInfo]:
        """One information_schema query over the catalog, fetched in batches."""
        cursor = connection.cursor()
        cursor.execute(CATALOG_QUERY)

        def rows() -> Iterator[tuple]:
            while batch := cursor.fetchmany(5000):
                yield from batch

        yield from group_tables(rows(), schemas, sql_kind)


REGISTER = (Trino(),)
