"""Connection strings (postgresql://…, mysql://…, …) turned into field values; never stored."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .cloud_urls import parse_cloud_url
from .fields import FieldInvalid

# URL scheme → dialect; a host name can refine it (a Supabase host is SUPABASE, …).
SCHEMES = {
    "postgres": "POSTGRES", "postgresql": "POSTGRES", "pgsql": "POSTGRES",
    "redshift": "REDSHIFT", "mysql": "MYSQL", "mariadb": "MARIADB",
}  # the cloud dialects' schemes are in cloud_urls.py
HOST_HINTS = (
    ("supabase.co", "SUPABASE"), ("supabase.com", "SUPABASE"),
    ("redshift.amazonaws.com", "REDSHIFT"), ("psdb.cloud", "PLANETSCALE"),
)
SSL_ON = {"require", "verify-ca", "verify-full", "true", "1", "required", "verify_identity",
          "verify_ca"}
# MySQL's ssl-mode names as the sslMode field's values.
MYSQL_SSL_MODES = {"required": "require", "verify_ca": "verify-ca",
                   "verify_identity": "verify-full"}


def parse_connection_string(text: str, known: set[str]) -> tuple[str, dict[str, Any]]:
    """Return (dialect key, field values) from a URL; raise FieldInvalid when it is not one.

    `known` is the set of registered dialect keys: a URL for any other dialect is refused.
    """
    text = text.strip()
    cloud = parse_cloud_url(text, known)
    if cloud is not None:
        return cloud
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise FieldInvalid("This is not a connection URL (scheme://user:password@host:port/db)"
                           ) from None
    scheme = parts.scheme.lower().split("+", 1)[0]
    dialect = SCHEMES.get(scheme)
    if dialect is None or not parts.hostname:
        raise FieldInvalid("Paste a URL such as postgresql://user:password@host:5432/database")
    host = parts.hostname
    for hint, refined in HOST_HINTS:
        if host.endswith(hint) and refined in known:
            dialect = refined
    if dialect not in known:
        raise FieldInvalid(f"{dialect} connection strings are not supported by this server")
    values: dict[str, Any] = {"host": host}
    if port is not None:
        values["port"] = port
    if parts.username:
        values["username"] = unquote(parts.username)
    if parts.password:
        values["password"] = unquote(parts.password)
    database = unquote(parts.path.lstrip("/"))
    if database:
        values["databaseName"] = database
    query = {k.lower(): v[-1] for k, v in parse_qs(parts.query).items()}
    mode = (query.get("sslmode") or query.get("ssl-mode") or query.get("ssl") or "").lower()
    if query.get("sslaccept", "").lower() == "strict":  # Prisma's PlanetScale URLs
        mode = "verify-full"
    if mode:
        values["sslEnabled"] = mode in SSL_ON
        mode = MYSQL_SSL_MODES.get(mode, mode)
        if mode in {"verify-ca", "verify-full", "require"}:
            values["sslMode"] = mode
    return dialect, values
