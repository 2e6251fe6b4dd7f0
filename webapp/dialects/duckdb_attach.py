"""DuckDB attached databases (Credible's `duckdbConnection.attachedDatabases`).

A DuckDB source may attach PostgreSQL (duckdb-ext-postgres), MySQL (duckdb-ext-mysql), SQLite
files from the data folder (duckdb-ext-sqlite) and DuckDB files in S3 or GCS (httpfs), all
READ_ONLY. They are given as one JSON list in the secret `attachedDatabases` field (stored
encrypted, never shown again: it carries passwords), in Credible's shape:

    [{"name": "crm", "type": "postgres",
      "postgresConnection": {"host": "db", "port": 5432, "databaseName": "crm",
                             "userName": "reader", "password": "…"}},
     {"name": "shop", "type": "mysql", "mysqlConnection": {…the same keys…}},
     {"name": "lite", "type": "sqlite", "sqliteConnection": {"path": "sales/orders.sqlite"}},
     {"name": "lake", "type": "s3", "s3Connection": {"url": "s3://bucket/db.duckdb",
      "accessKeyId": "…", "secretAccessKey": "…", "region": "…", "endpoint": "…",
      "sessionToken": "…"}},
     {"name": "gl", "type": "gcs", "gcsConnection": {"url": "gs://bucket/db.duckdb",
      "keyId": "…", "secret": "…"}}]

DuckDB connects to these itself, so each address is resolved and checked first (egress policy
and store guard, Target.check_address) and DuckDB is handed the checked address: libpq's
`hostaddr`, MySQL's host, a plain-HTTP S3 endpoint; HTTPS object stores keep their name for the
certificate. Afterwards external access is turned off except for the attached files and the
configuration locked.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from ..core.failures import redact, secret_texts
from ..core.refusal import ConnectionFailed
from .cloud import run_bounded
from .duckdb_net import host_port, identifier, lock_down, open_with, parse_endpoint, quote
from .fields import FieldInvalid, FieldSpec, check_host

log = logging.getLogger(__name__)

FIELD = "attachedDatabases"
MAX_ATTACHMENTS = 8
SECRET_KEYS = ("password", "secretAccessKey", "secret", "sessionToken")
NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
RESERVED = {"main", "memory", "system", "temp"}
OFFLINE_REFUSED = {"bigquery": "BigQuery", "snowflake": "Snowflake", "motherduck": "MotherDuck"}
# Per attachment type: its object's key, required keys, optional keys, extension.
TYPES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], str]] = {
    "postgres": (
        "postgresConnection",
        ("host", "databaseName", "userName"),
        ("port", "password"),
        "postgres",
    ),
    "mysql": (
        "mysqlConnection",
        ("host", "databaseName", "userName"),
        ("port", "password"),
        "mysql",
    ),
    "sqlite": ("sqliteConnection", ("path",), (), "sqlite"),
    "s3": (
        "s3Connection",
        ("url", "accessKeyId", "secretAccessKey"),
        ("region", "endpoint", "sessionToken"),
        "httpfs",
    ),
    "gcs": ("gcsConnection", ("url", "keyId", "secret"), (), "httpfs"),
}
PORTS = {"postgres": 5432, "mysql": 3306}
URL = {
    "s3": re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[^'\"\\*?\[\]{}]+$"),
    "gcs": re.compile(r"^gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]/[^'\"\\*?\[\]{}]+$"),
}


@dataclass(frozen=True)
class Attachment:
    """One attached database: its name, type and connection values."""

    name: str
    type: str
    values: dict[str, Any] = field(default_factory=dict)


def parse(text: str | None) -> list[Attachment]:
    """The attachments the JSON text lists; FieldInvalid saying which one is wrong and why."""
    if not text or not text.strip():
        return []
    try:
        items = json.loads(text)
    except (ValueError, RecursionError):
        raise FieldInvalid("Attached databases must be a JSON list of objects") from None
    if not isinstance(items, list):
        raise FieldInvalid("Attached databases must be a JSON list of objects")
    if len(items) > MAX_ATTACHMENTS:
        raise FieldInvalid(f"At most {MAX_ATTACHMENTS} attached databases")
    found: list[Attachment] = []
    for number, item in enumerate(items, start=1):
        found.append(_one(item, number))
    names = [a.name for a in found]
    if len(set(names)) != len(names):
        raise FieldInvalid("Each attached database needs its own name")
    return found


def _one(item: Any, number: int) -> Attachment:
    where = f"Attached database {number}"
    if not isinstance(item, dict):
        raise FieldInvalid(f"{where} must be an object with name and type")
    kind = str(item.get("type") or "").lower()
    if kind in OFFLINE_REFUSED:
        raise FieldInvalid(
            f"{where}: {OFFLINE_REFUSED[kind]} cannot be attached here (DuckDB would download "
            f"its extension, and this server installs none offline). Add "
            f"{OFFLINE_REFUSED[kind]} as a source of its own."
        )
    if kind not in TYPES:
        raise FieldInvalid(f"{where}: type must be one of {', '.join(TYPES)}")
    name = item.get("name")
    if not isinstance(name, str) or not NAME.match(name) or name in RESERVED:
        raise FieldInvalid(
            f"{where}: name must be lowercase letters, digits and _ "
            "(not main, memory, system or temp)"
        )
    key, required, optional, _ = TYPES[kind]
    extra = set(item) - {"name", "type", key}
    if extra:
        raise FieldInvalid(f"{where} ({name}): unknown keys {', '.join(sorted(extra))}")
    values = item.get(key)
    if not isinstance(values, dict):
        raise FieldInvalid(f"{where} ({name}): needs a {key} object")
    unknown = set(values) - set(required) - set(optional)
    if unknown:
        raise FieldInvalid(f"{where} ({name}): unknown {key} keys {', '.join(sorted(unknown))}")
    for name_ in required:
        if not isinstance(values.get(name_), str) or not values[name_].strip():
            raise FieldInvalid(f"{where} ({name}): {key}.{name_} is required")
    for name_, value in values.items():
        if name_ == "port":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
                raise FieldInvalid(f"{where} ({name}): port must be a number 1–65535")
        elif not isinstance(value, str) or "\x00" in value or len(value) > 4096:
            raise FieldInvalid(f"{where} ({name}): {key}.{name_} must be text")
    _check_values(kind, values, f"{where} ({name})")
    return Attachment(name, kind, dict(values))


def _check_values(kind: str, values: dict[str, Any], where: str) -> None:
    if "host" in values:
        try:
            check_host(values["host"])
        except FieldInvalid:
            raise FieldInvalid(f"{where}: host must be a host name or IP address") from None
    if kind == "sqlite":
        path = values["path"]
        if path.startswith(("/", "~")) or ".." in path.split("/") or "\\" in path:
            raise FieldInvalid(f"{where}: path must be relative to the data folder, without '..'")
    if kind in URL and not URL[kind].match(values["url"]):
        scheme = "s3" if kind == "s3" else "gs"
        raise FieldInvalid(f"{where}: url must be {scheme}://bucket/path/file.duckdb")
    if values.get("endpoint"):
        try:
            parse_endpoint(values["endpoint"])
        except ValueError:
            raise FieldInvalid(f"{where}: endpoint must be http(s)://host:port") from None


def check_attachments(value: str) -> None:
    """The field's check: the JSON parses into valid attachments."""
    parse(value)


def attachments_field() -> FieldSpec:
    """The secret JSON list of attached databases (write-only: it carries passwords)."""
    return FieldSpec(
        name=FIELD,
        label="Attached databases",
        kind="textarea",
        secret=True,
        max_length=20_000,
        checks=(check_attachments,),
        placeholder='[{"name": "crm", "type": "postgres", "postgresConnection": {"host": '
        '"db.example.com", "databaseName": "crm", "userName": "reader", '
        '"password": "…"}}]',
        help="Optional JSON list of databases DuckDB attaches read-only: postgres, mysql, "
        "sqlite (a file in the data folder), s3 or gcs (a .duckdb file). Stored "
        "encrypted and never shown again; paste the whole list to change it.",
    )


def _refused(detail: str, message: str) -> ConnectionFailed:
    return ConnectionFailed("database", detail, {FIELD: message})


def _checked(attachment: Attachment, host: str, port: int, target: Any, every: bool = False) -> str:
    """The address `host` resolves to and connect/ allows, with errors on the field
    (`every`: all its addresses must pass, for an engine given the name)."""
    try:
        return target.check_address(host, port, target.timeout, FIELD, FIELD, every=every)
    except ConnectionFailed as refused:
        reason = next(iter(refused.field_errors.values()), "refused")
        raise ConnectionFailed(
            "database",
            f"Attached database {attachment.name!r}: {refused.detail}",
            {FIELD: f"{attachment.name}: {reason}"},
        ) from None


def _libpq(**pairs: Any) -> str:
    """A libpq connection string with every value quoted."""

    def one(value: Any) -> str:
        return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"

    return " ".join(f"{k}={one(v)}" for k, v in pairs.items() if v not in (None, ""))


# What an ATTACH failure's text means (raw text stays in the log: it may echo values).
ATTACH_ERRORS = (
    (
        re.compile(r"(?i)password authentication failed|access denied|HTTP 403|Forbidden"),
        "wrong user name or password (or key)",
    ),
    (
        re.compile(r"(?i)database .* does not exist|unknown database|HTTP 404|Not Found"),
        "no such database or file",
    ),
    (
        re.compile(r"(?i)connection refused|can't connect|could not connect"),
        "nothing answers at this host and port",
    ),
    (re.compile(r"(?i)timeout|timed out"), "no answer in time"),
)


def _attach_failed(a: Attachment, exc: BaseException) -> ConnectionFailed:
    text = str(exc)
    hidden = secret_texts(a.values, SECRET_KEYS)
    log.info(
        "attaching %r (%s) failed: %s: %s", a.name, a.type, type(exc).__name__, redact(text, hidden)
    )
    reason = next(
        (m for pattern, m in ATTACH_ERRORS if pattern.search(text)), "could not be attached"
    )
    if a.type in URL and reason == "no such database or file":  # DuckDB cannot tell them apart
        reason = "no such file, or the key may not read it"
    return _refused(
        f"DuckDB could not attach {a.name!r} ({a.type}): {reason}.", f"{a.name}: {reason}"
    )


def attach_all(main: Path, attachments: list[Attachment], target: Any) -> Any:
    """Check every attachment's address (or file) here, in the caller's app context, then
    open the main file read-only and attach each database read-only on those addresses within
    the deadline, and lock external access down to the attached files."""
    checked = {a.name: _check(a, target) for a in attachments}
    seconds = max(1, int(target.timeout + 0.5))

    def work() -> Any:
        extensions = tuple(dict.fromkeys(TYPES[a.type][3] for a in attachments))
        connection = open_with(extensions, str(main), read_only=True)
        try:
            for a in attachments:
                try:
                    _attach(connection, a, checked[a.name], seconds)
                except duckdb.Error as exc:
                    raise _attach_failed(a, exc) from None
            allowed = [
                checked[a.name] if a.type == "sqlite" else a.values["url"]
                for a in attachments
                if a.type in ("sqlite", *URL)
            ]
            lock_down(connection, allowed or [str(main)])
        except BaseException:
            connection.close()
            raise
        return connection

    try:
        return run_bounded(work, target.timeout, discard=lambda c: c.close())
    except TimeoutError:
        raise _refused(
            f"DuckDB did not finish attaching the databases within "
            f"{target.timeout:g} s (a host that accepts and never answers, or a "
            "slow network).",
            "An attached database did not answer in time",
        ) from None


def _endpoint(a: Attachment) -> tuple[bool, str, int]:
    """(TLS, host, port) the attachment's engine connects to."""
    v = a.values
    if a.type in PORTS:
        return False, v["host"], int(v.get("port") or PORTS[a.type])
    if a.type == "gcs":
        return True, "storage.googleapis.com", 443
    if v.get("endpoint"):
        return parse_endpoint(v["endpoint"])
    return True, f"s3.{v.get('region') or 'us-east-1'}.amazonaws.com", 443


def _check(a: Attachment, target: Any) -> str:
    """The checked address (a SQLite file: its checked real path) the attachment uses."""
    if a.type == "sqlite":
        try:
            return str(target.resolve_data_file(a.values["path"]))
        except ConnectionFailed as refused:
            reason = next(iter(refused.field_errors.values()), "refused")
            raise _refused(
                f"Attached database {a.name!r}: {refused.detail}", f"{a.name}: {reason}"
            ) from None
    tls, host, port = _endpoint(a)
    return _checked(a, host, port, target, every=tls)


def _attach(connection: Any, a: Attachment, checked: str, seconds: int) -> None:
    """ATTACH one database READ_ONLY at its checked address."""
    v, alias = a.values, identifier(a.name)
    if a.type == "postgres":
        _, host, port = _endpoint(a)
        dsn = _libpq(
            host=host,
            hostaddr=checked,
            port=port,
            dbname=v["databaseName"],
            user=v["userName"],
            password=v.get("password"),
            connect_timeout=seconds,
        )
        connection.execute(f"ATTACH {quote(dsn)} AS {alias} (TYPE postgres, READ_ONLY)")
    elif a.type == "mysql":
        _, _, port = _endpoint(a)
        secret = identifier(f"datadock_{a.name}")
        connection.execute(
            f"CREATE SECRET {secret} (TYPE mysql, HOST {quote(checked)}, PORT {port}, "
            f"DATABASE {quote(v['databaseName'])}, USER {quote(v['userName'])}, "
            f"PASSWORD {quote(v.get('password') or '')})"
        )
        connection.execute(f"ATTACH '' AS {alias} (TYPE mysql, SECRET {secret}, READ_ONLY)")
    elif a.type == "sqlite":
        connection.execute(f"ATTACH {quote(checked)} AS {alias} (TYPE sqlite, READ_ONLY)")
    else:
        _attach_object(connection, a, checked)


def _attach_object(connection: Any, a: Attachment, checked: str) -> None:
    """A DuckDB file in S3 (or an S3-compatible store) or GCS, with a secret scoped to it;
    a plain-HTTP endpoint is given as its checked address."""
    v = a.values
    tls, host, port = _endpoint(a)
    if a.type == "s3":
        key_id, secret, kind = v["accessKeyId"], v["secretAccessKey"], "s3"
    else:
        key_id, secret, kind = v["keyId"], v["secret"], "gcs"
    parts = [
        f"TYPE {kind}",
        f"KEY_ID {quote(key_id)}",
        f"SECRET {quote(secret)}",
        f"SCOPE {quote(v['url'])}",
    ]
    if kind == "s3":
        parts += [
            f"REGION {quote(v.get('region') or 'us-east-1')}",
            f"ENDPOINT {quote(host_port(host if tls else checked, port))}",
            f"URL_STYLE {quote('path' if v.get('endpoint') else 'vhost')}",
            f"USE_SSL {'true' if tls else 'false'}",
        ]
        if v.get("sessionToken"):
            parts.append(f"SESSION_TOKEN {quote(v['sessionToken'])}")
    connection.execute(f"CREATE SECRET {identifier('datadock_' + a.name)} ({', '.join(parts)})")
    connection.execute("SET http_retries = 0")
    connection.execute(f"ATTACH {quote(v['url'])} AS {identifier(a.name)} (READ_ONLY)")
