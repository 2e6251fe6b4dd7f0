"""Connection strings of the cloud and optional-driver dialects (sqlserver://, jdbc:sqlserver://
…;databaseName=…, clickhouse://, trino://, oracle://, snowflake://, databricks://, bigquery://,
spanner:///projects/…, awsathena+rest://, md:…) turned into field values; never stored."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

from .fields import FieldInvalid

SCHEMES = {
    "sqlserver": "SQL_SERVER", "mssql": "SQL_SERVER", "clickhouse": "CLICKHOUSE",
    "clickhouses": "CLICKHOUSE", "clickhousedb": "CLICKHOUSE", "trino": "TRINO",
    "oracle": "ORACLE", "snowflake": "SNOWFLAKE", "databricks": "DATABRICKS",
    "bigquery": "BIGQUERY", "spanner": "SPANNER", "awsathena": "ATHENA", "athena": "ATHENA",
    "md": "MOTHERDUCK", "motherduck": "MOTHERDUCK",
}
TRUE = {"true", "1", "yes", "strict", "mandatory", "require", "required", "https", "tcps"}


def _url(text: str) -> SplitResult:
    try:
        parts = urlsplit(text)
        _ = parts.port
    except ValueError:
        raise FieldInvalid("This is not a connection URL (scheme://user:password@host:port/db)"
                           ) from None
    return parts


def _query(parts: SplitResult) -> dict[str, str]:
    return {k.lower(): v[-1] for k, v in parse_qs(parts.query).items()}


def _common(parts: SplitResult) -> dict[str, Any]:
    """host, port, username, password as a URL gives them."""
    if not parts.hostname:
        raise FieldInvalid("The URL has no host (scheme://user:password@host:port/…)")
    values: dict[str, Any] = {"host": parts.hostname}
    if parts.port is not None:
        values["port"] = parts.port
    if parts.username:
        values["username"] = unquote(parts.username)
    if parts.password:
        values["password"] = unquote(parts.password)
    return values


def _segments(parts: SplitResult) -> list[str]:
    return [unquote(s) for s in parts.path.split("/") if s]


def _sqlserver(text: str) -> dict[str, Any]:
    """JDBC (sqlserver://host:1433;databaseName=db;user=u;password=p;encrypt=true) or URL
    (mssql://u:p@host:1433/db?encrypt=true)."""
    if ";" in text:
        head, *props = text.split(";")
        options = {}
        for prop in props:
            name, _, value = prop.partition("=")
            if name.strip():
                options[name.strip().lower()] = value.strip()
        values = _common(_url(head.split("\\", 1)[0]))
    else:
        parts = _url(text)
        values = _common(parts)
        options = _query(parts)
        if _segments(parts):
            values["databaseName"] = _segments(parts)[0]
    for key, field in (("databasename", "databaseName"), ("database", "databaseName"),
                       ("user", "username"), ("username", "username"),
                       ("password", "password")):
        if options.get(key):
            values[field] = options[key]
    if "encrypt" in options:
        values["sslEnabled"] = options["encrypt"].lower() in TRUE
    return values


def _clickhouse(text: str) -> dict[str, Any]:
    """clickhouse://u:p@host:8443/db?secure=true (clickhouses:// is secure)."""
    parts = _url(text)
    values = _common(parts)
    if _segments(parts):
        values["databaseName"] = _segments(parts)[0]
    scheme, options = parts.scheme.lower(), _query(parts)
    if "secure" in options:
        values["sslEnabled"] = options["secure"].lower() in TRUE
    elif scheme.startswith("clickhouses") or scheme.endswith("+https"):
        values["sslEnabled"] = True
    elif parts.port in (8123, 9000):
        values["sslEnabled"] = False
    return values


def _trino(text: str) -> dict[str, Any]:
    """trino://user:password@host:443/catalog/schema?http_scheme=https."""
    parts = _url(text)
    values = _common(parts)
    if _segments(parts):
        values["databaseName"] = _segments(parts)[0]
    scheme = _query(parts).get("http_scheme") or _query(parts).get("protocol")
    if scheme:
        values["sslEnabled"] = scheme.lower() == "https"
    elif parts.port is not None:
        values["sslEnabled"] = parts.port == 443
    return values


def _oracle(text: str) -> dict[str, Any]:
    """oracle://u:p@host:1521/SERVICE (or ?service_name=SERVICE; protocol=tcps for TLS)."""
    parts = _url(text)
    values = _common(parts)
    options = _query(parts)
    service = options.get("service_name") or next(iter(_segments(parts)), None)
    if service:
        values["databaseName"] = service
    if "protocol" in options:
        values["sslEnabled"] = options["protocol"].lower() == "tcps"
    return values


def _snowflake(text: str) -> dict[str, Any]:
    """snowflake://user:password@account/database/schema?warehouse=…&role=…."""
    parts = _url(text)
    common = _common(parts)
    account = common.pop("host").removesuffix(".snowflakecomputing.com")
    common.pop("port", None)
    values: dict[str, Any] = {"snowflakeAccountId": account, **common}
    if _segments(parts):
        values["databaseName"] = _segments(parts)[0]
    options = _query(parts)
    for key, field in (("warehouse", "snowflakeWarehouse"), ("role", "snowflakeRole"),
                       ("database", "databaseName")):
        if options.get(key):
            values[field] = options[key]
    return values


def _databricks(text: str) -> dict[str, Any]:
    """databricks://token:dapi…@host:443?http_path=/sql/1.0/warehouses/…&catalog=main."""
    parts = _url(text)
    values = _common(parts)
    values.pop("username", None)  # always the word "token"
    options = _query(parts)
    if options.get("http_path"):
        values["databricksHttpPath"] = options["http_path"]
    catalog = options.get("catalog") or next(iter(_segments(parts)), None)
    if catalog:
        values["databaseName"] = catalog
    return values


def _bigquery(text: str) -> dict[str, Any]:
    """bigquery://project-id[/dataset]."""
    parts = _url(text)
    if not parts.hostname:
        raise FieldInvalid("Paste bigquery://project-id")
    return {"bigQueryProjectId": parts.hostname}


def _spanner(text: str) -> dict[str, Any]:
    """spanner:///projects/P/instances/I/databases/D (SQLAlchemy's form)."""
    match = re.search(r"projects/([^/?]+)/instances/([^/?]+)/databases/([^/?]+)", text)
    if not match:
        raise FieldInvalid("Paste spanner:///projects/PROJECT/instances/INSTANCE/databases/DB")
    project, instance, database = (unquote(g) for g in match.groups())
    return {"bigQueryProjectId": project, "spannerInstanceId": instance,
            "databaseName": database}


def _athena(text: str) -> dict[str, Any]:
    """awsathena+rest://KEY:SECRET@athena.REGION.amazonaws.com:443/schema?s3_staging_dir=…
    &work_group=…&catalog_name=…."""
    parts = _url(text)
    values: dict[str, Any] = {}
    region = re.match(r"athena\.([a-z0-9-]+)\.amazonaws\.com", parts.hostname or "")
    if region:
        values["athenaRegion"] = region.group(1)
    if parts.username:
        values["athenaAccessKeyId"] = unquote(parts.username)
    if parts.password:
        values["password"] = unquote(parts.password)
    options = _query(parts)
    for key, field in (("s3_staging_dir", "athenaOutputLocation"),
                       ("work_group", "athenaWorkgroup"), ("catalog_name", "athenaCatalog"),
                       ("region_name", "athenaRegion")):
        if options.get(key):
            values[field] = options[key]
    return values


def _motherduck(text: str) -> dict[str, Any]:
    """md:database?motherduck_token=… (DuckDB's form)."""
    _, _, rest = text.partition(":")
    database, _, query = rest.lstrip("/").partition("?")
    values: dict[str, Any] = {}
    if database:
        values["databaseName"] = unquote(database)
    token = {k.lower(): v[-1] for k, v in parse_qs(query).items()}.get("motherduck_token")
    if token:
        values["password"] = token
    return values


PARSERS: dict[str, Callable[[str], dict[str, Any]]] = {
    "SQL_SERVER": _sqlserver, "CLICKHOUSE": _clickhouse, "TRINO": _trino, "ORACLE": _oracle,
    "SNOWFLAKE": _snowflake, "DATABRICKS": _databricks, "BIGQUERY": _bigquery,
    "SPANNER": _spanner, "ATHENA": _athena, "MOTHERDUCK": _motherduck,
}


def parse_cloud_url(text: str, known: set[str]) -> tuple[str, dict[str, Any]] | None:
    """(dialect, values) for one of these dialects' strings, or None for any other scheme.

    Raises FieldInvalid when the string is one of these but unreadable or not registered.
    """
    text = text.strip()
    if text.lower().startswith("jdbc:"):
        text = text[5:]
    scheme = text.split(":", 1)[0].lower().split("+", 1)[0]
    dialect = SCHEMES.get(scheme)
    if dialect is None:
        return None
    if dialect not in known:
        raise FieldInvalid(f"{dialect} connection strings are not supported by this server")
    return dialect, PARSERS[dialect](text)
