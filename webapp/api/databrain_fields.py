"""DataBrain's `datasourceType`s and their `credentials` names, declared as data: which
Datadock dialect each type is and which Datadock field each name fills."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..face_names import Rename, flag, switch

SNOWFLAKE_SUFFIX = ".snowflakecomputing.com"
KEY_PAIR = "Key-pair authentication"
USER_PASSWORD = "username/password"  # noqa: S105 (an authentication mode's name)


@dataclass(frozen=True)
class DataBrainType:
    """One datasourceType: its dialect, its names, and Datadock fields it fixes."""

    dialect: str
    renames: tuple[Rename, ...]
    fixed: Mapping[str, Any] = field(default_factory=dict)


def _ssl_mode(value: Any) -> Mapping[str, Any]:
    """DataBrain's sslMode: "disable" turns TLS off; any other mode is Datadock's sslMode."""
    if not isinstance(value, str):
        raise ValueError('Must be text, e.g. "require" or "disable"')
    return {"sslEnabled": False} if value == "disable" else {"sslEnabled": True, "sslMode": value}


def _snowflake_host(value: Any) -> Mapping[str, Any]:
    """`<account>.snowflakecomputing.com` (a scheme or trailing slash tolerated)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"Use <account>{SNOWFLAKE_SUFFIX}")
    host = value.strip().removeprefix("https://").rstrip("/")
    account = host[: -len(SNOWFLAKE_SUFFIX)] if host.lower().endswith(SNOWFLAKE_SUFFIX) else host
    if not account or "/" in account:
        raise ValueError(f"Use <account>{SNOWFLAKE_SUFFIX}")
    return {"snowflakeAccountId": account}


def _snowflake_auth(value: Any) -> Mapping[str, Any]:
    if value not in (USER_PASSWORD, KEY_PAIR):
        raise ValueError(f'Must be "{USER_PASSWORD}" or "{KEY_PAIR}"')
    return {}


def _json_key(value: Any) -> Mapping[str, Any]:
    """A service account key as a JSON object or as its text."""
    if isinstance(value, dict):
        return {"bigQueryJsonKey": json.dumps(value)}
    if isinstance(value, str):
        return {"bigQueryJsonKey": value}
    raise ValueError("Send the service account key JSON (an object or its text)")


def _disable_database(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, bool):
        raise ValueError("Must be true or false")
    return {}


HOST = (
    Rename("host", "host"),
    Rename("port", "port"),
    Rename("password", "password"),
    Rename("database", "databaseName"),
    Rename("schema", "includeSchemas"),
)
SSH = (
    Rename("sshTunnel", convert=switch("enable", "disable", "sshEnabled")),
    Rename("sshHost", "sshHost"),
    Rename("sshPort", "sshPort"),
    Rename("sshUsername", "sshUsername"),
    Rename("sshPassword", "sshPassword"),
    Rename("sshPrivateKey", "sshPrivateKey"),
    Rename("sshPrivateKeyPassphrase", "sshPrivateKeyPassphrase"),
)
POSTGRES_LIKE = (*HOST, Rename("username", "username"), Rename("sslMode", convert=_ssl_mode), *SSH)
MYSQL_LIKE = (*HOST, Rename("username", "username"), Rename("sslMode", convert=_ssl_mode), *SSH)

TYPES: dict[str, DataBrainType] = {
    "postgres": DataBrainType("POSTGRES", POSTGRES_LIKE),
    "redshift": DataBrainType("REDSHIFT", POSTGRES_LIKE),
    "mysql": DataBrainType("MYSQL", MYSQL_LIKE),
    "mariadb": DataBrainType("MARIADB", MYSQL_LIKE),
    "snowflake": DataBrainType(
        "SNOWFLAKE",
        (
            Rename("host", convert=_snowflake_host),
            Rename("username", "username"),
            Rename("password", "password"),
            Rename("role", "snowflakeRole"),
            Rename("warehouse", "snowflakeWarehouse"),
            Rename("database", "databaseName"),
            Rename("schema", "includeSchemas"),
            Rename("credentials", convert=_snowflake_auth),
            Rename("privateKey", "snowflakePrivateKey"),
            Rename("privateKeyPassphrase", "snowflakePrivateKeyPassphrase"),
        ),
    ),
    "bigquery": DataBrainType(
        "BIGQUERY",
        (
            Rename("credentials_json", convert=_json_key),
            Rename("project_id", "bigQueryProjectId"),
            Rename("dataset_location", "bigQueryLocation"),
            Rename("dataset_id", "includeSchemas"),
        ),
    ),
    "mssql": DataBrainType(
        "SQL_SERVER",
        (
            Rename("server", "host"),
            Rename("port", "port"),
            Rename("username", "username"),
            Rename("password", "password"),
            Rename("database", "databaseName"),
            Rename("schema", "includeSchemas"),
            Rename("isDisableDatabase", convert=_disable_database),
            Rename("encrypt", convert=flag("sslEnabled")),
            *SSH,
        ),
    ),
    "databricks": DataBrainType(
        "DATABRICKS",
        (
            Rename("serverHostname", "host"),
            Rename("port", "port"),
            Rename("httpPath", "databricksHttpPath"),
            Rename("token", "password"),
            Rename("catalog", "databaseName"),
            Rename("schema", "includeSchemas"),
        ),
    ),
    "athena": DataBrainType(
        "ATHENA",
        (
            Rename("database", "includeSchemas"),
            Rename("outputBucket", "athenaOutputLocation"),
            Rename("s3AccessKeyId", "athenaAccessKeyId"),
            Rename("s3SecretAccessKey", "password"),
            Rename("s3Region", "athenaRegion"),
            Rename("workgroup", "athenaWorkgroup"),
            Rename("catalog", "athenaCatalog"),
        ),
    ),
    "trino": DataBrainType(
        "TRINO",
        (
            Rename("host", "host"),
            Rename("port", "port"),
            Rename("user", "username"),
            Rename("password", "password"),
            Rename("catalog", "databaseName"),
            Rename("schema", "includeSchemas"),
            Rename("ssl", convert=flag("sslEnabled")),
            *SSH,
        ),
    ),
    "clickhouse": DataBrainType(
        "CLICKHOUSE",
        (*HOST, Rename("username", "username"), Rename("ssl", convert=flag("sslEnabled")), *SSH),
    ),
    "oracle": DataBrainType(
        "ORACLE",
        (
            Rename("host", "host"),
            Rename("port", "port"),
            Rename("username", "username"),
            Rename("password", "password"),
            Rename("serviceName", "databaseName"),
            Rename("schema", "includeSchemas"),
            *SSH,
        ),
    ),
    "motherduck": DataBrainType(
        "MOTHERDUCK", (Rename("token", "password"), Rename("database", "databaseName"))
    ),
}


def finish(kind: str, credentials: Mapping[str, Any], fields: dict[str, Any]) -> dict[str, str]:
    """What one name alone cannot say: Snowflake's authentication choice, SQL Server without a
    database. Fills `fields`; returns errors by DataBrain's names."""
    errors: dict[str, str] = {}
    if kind == "snowflake":
        mode = credentials.get("credentials", USER_PASSWORD)
        if mode == KEY_PAIR:
            fields.pop("password", None)
            if not credentials.get("privateKey"):
                errors["privateKey"] = f"Required with {KEY_PAIR}"
        elif mode == USER_PASSWORD:
            fields.pop("snowflakePrivateKey", None)
            fields.pop("snowflakePrivateKeyPassphrase", None)
            if not credentials.get("password"):
                errors["password"] = f"Required with {USER_PASSWORD}"
    if kind == "mssql" and credentials.get("isDisableDatabase") is True:
        if credentials.get("database"):
            errors["database"] = "Leave it out when isDisableDatabase is true"
        fields["databaseName"] = "master"
    return errors
