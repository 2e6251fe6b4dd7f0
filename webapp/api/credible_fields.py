"""Credible Data's connection `type`s and their `<type>Connection` names, declared as data:
which Datadock dialect each type is and which Datadock field each name fills."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..face_names import Convert, Rename


@dataclass(frozen=True)
class CredibleType:
    """One connection type: its dialect and its names (in `<key>` of the body)."""

    dialect: str
    key: str
    renames: tuple[Rename, ...]


def _json_key(value: Any) -> Mapping[str, Any]:
    """The service account key as its JSON text (an object is accepted too)."""
    if isinstance(value, dict):
        return {"bigQueryJsonKey": json.dumps(value)}
    if isinstance(value, str):
        return {"bigQueryJsonKey": value}
    raise ValueError("Send the service account key JSON")


def _attachments(value: Any) -> Mapping[str, Any]:
    """DuckDB's attached databases: Credible's list, stored as its JSON text."""
    if not isinstance(value, list):
        raise ValueError('Send a list, e.g. [{"name": "crm", "type": "postgres", …}]')
    return {"attachedDatabases": json.dumps(value)}


def _trino_server(value: Any) -> Mapping[str, Any]:
    """Trino's `server`: a host name or a URL (`https://…` turns TLS on)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("Use the Trino server's host name or URL")
    text = value.strip()
    if "://" not in text:
        return {"host": text}
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("Use http://host or https://host")
    found: dict[str, Any] = {"host": parts.hostname, "sslEnabled": parts.scheme == "https"}
    if parts.port:
        found["port"] = parts.port
    return found


def whole(ours: str, as_text: bool = False) -> Convert:
    """A whole number sent as a JSON number or as its digits (Credible sends both)."""

    def convert(value: Any) -> Mapping[str, Any]:
        if isinstance(value, bool) or not (
            isinstance(value, int) or (isinstance(value, str) and value.isdigit())
        ):
            raise ValueError("Must be a whole number")
        return {ours: str(int(value)) if as_text else int(value)}

    return convert


TYPES: dict[str, CredibleType] = {
    "postgres": CredibleType(
        "POSTGRES",
        "postgresConnection",
        (
            Rename("host", "host"),
            Rename("port", "port"),
            Rename("databaseName", "databaseName"),
            Rename("userName", "username"),
            Rename("password", "password"),
            Rename("connectionString", "connectionString"),
        ),
    ),
    "mysql": CredibleType(
        "MYSQL",
        "mysqlConnection",
        (
            Rename("host", "host"),
            Rename("port", "port"),
            Rename("database", "databaseName"),
            Rename("user", "username"),
            Rename("password", "password"),
        ),
    ),
    "bigquery": CredibleType(
        "BIGQUERY",
        "bigqueryConnection",
        (
            Rename("defaultProjectId", "bigQueryProjectId"),
            Rename("billingProjectId", "bigQueryBillingProjectId"),
            Rename("location", "bigQueryLocation"),
            Rename("serviceAccountKeyJson", "bigQueryJsonKey", convert=_json_key),
            Rename(
                "maximumBytesBilled",
                "bigQueryMaximumBytesBilled",
                convert=whole("bigQueryMaximumBytesBilled", as_text=True),
            ),
            Rename(
                "queryTimeoutMilliseconds",
                "bigQueryQueryTimeoutMs",
                convert=whole("bigQueryQueryTimeoutMs"),
            ),
        ),
    ),
    "snowflake": CredibleType(
        "SNOWFLAKE",
        "snowflakeConnection",
        (
            Rename("account", "snowflakeAccountId"),
            Rename("username", "username"),
            Rename("password", "password"),
            Rename("privateKey", "snowflakePrivateKey"),
            Rename("privateKeyPass", "snowflakePrivateKeyPassphrase"),
            Rename("warehouse", "snowflakeWarehouse"),
            Rename("database", "databaseName"),
            Rename("schema", "snowflakeSchema"),
            Rename("role", "snowflakeRole"),
            Rename(
                "responseTimeoutMilliseconds",
                "snowflakeResponseTimeoutMs",
                convert=whole("snowflakeResponseTimeoutMs"),
            ),
        ),
    ),
    "trino": CredibleType(
        "TRINO",
        "trinoConnection",
        (
            Rename("server", "host", convert=_trino_server),
            Rename("port", "port"),
            Rename("catalog", "databaseName"),
            Rename("schema", "includeSchemas"),
            Rename("user", "username"),
            Rename("password", "password"),
        ),
    ),
    # Datadock's DuckDB source is a file in its data folder: `databasePath` (Datadock's own
    # name; Credible's DuckDB runs in memory) names it; the attachments are its JSON list.
    "duckdb": CredibleType(
        "DUCKDB",
        "duckdbConnection",
        (
            Rename("databasePath", "databaseName"),
            Rename("attachedDatabases", "attachedDatabases", convert=_attachments),
        ),
    ),
    "motherduck": CredibleType(
        "MOTHERDUCK",
        "motherduckConnection",
        (Rename("accessToken", "password"), Rename("database", "databaseName")),
    ),
}
