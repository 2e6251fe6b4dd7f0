"""The verify ladder's step names, their labels, and the ladders dialects walk."""

from __future__ import annotations

# Every rung a verify may walk, in order, with the label pages show.
LABELS: dict[str, str] = {
    "fields": "Fields",
    "driver": "Driver installed",
    "file": "File",
    "dns": "DNS",
    "tcp": "TCP",
    "ssh": "SSH tunnel",
    # The server's first answer (MySQL's greeting, PostgreSQL's reply to the startup or SSL
    # request, an HTTP response): a host that accepts TCP and then stays silent fails here.
    "response": "Server response",
    "tls": "TLS",
    "auth": "Authentication",
    "database": "Database",
    "catalog": "Can read the catalog",
}

# Engines reached over TCP whose driver is always installed (PostgreSQL, MySQL families).
HOST_STEPS = ("fields", "dns", "tcp", "ssh", "response", "tls", "auth", "database", "catalog")
# Engines reached over TCP through an optional driver (SQL Server, Oracle, ClickHouse, …).
DRIVER_HOST_STEPS = (
    "fields",
    "driver",
    "dns",
    "tcp",
    "ssh",
    "response",
    "tls",
    "auth",
    "database",
    "catalog",
)
# Vendor APIs with no user host (BigQuery, Spanner, Athena, Snowflake; MotherDuck, whose
# driver is always installed, walks it without the driver step).
API_STEPS = ("fields", "driver", "auth", "database", "catalog")
# Files in the data folder (SQLite, DuckDB).
FILE_STEPS = ("fields", "file", "database", "catalog")


def without(steps: tuple[str, ...], *names: str) -> tuple[str, ...]:
    """A ladder with some rungs left out (e.g. no SSH tunnel for an HTTPS API)."""
    return tuple(s for s in steps if s not in names)
