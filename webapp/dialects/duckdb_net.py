"""DuckDB with its extensions from PyPI (duckdb-ext-httpfs, -postgres, -mysql, -sqlite), offline.

The extensions are loaded from the installed `duckdb_ext` folder with automatic installs and
loads off, so DuckDB never downloads anything. After a source's extensions, secrets and
attachments are set up, external access is turned off except for the paths the source names
(`allowed_directories`) and the configuration is locked: SQL on that connection can read
nothing else.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb

from ..core.refusal import ConnectionFailed

EXTENSIONS = {
    "httpfs": "duckdb-ext-httpfs",
    "postgres": "duckdb-ext-postgres",
    "mysql": "duckdb-ext-mysql",
    "sqlite": "duckdb-ext-sqlite",
}


def extension_directory() -> str | None:
    """The folder holding the PyPI extensions (`extensions/v<version>/<platform>/`), if any."""
    try:
        import duckdb_ext
    except ImportError:
        return None
    for folder in getattr(duckdb_ext, "__path__", ()):
        if (Path(folder) / "extensions").is_dir():
            return str(Path(folder) / "extensions")
    return None


def quote(text: str) -> str:
    """A SQL string literal (DuckDB's CREATE SECRET and ATTACH take no parameters)."""
    if "\x00" in text:
        raise ValueError("NUL in a SQL literal")
    return "'" + text.replace("'", "''") + "'"


def identifier(text: str) -> str:
    """A quoted SQL identifier."""
    return '"' + text.replace('"', '""') + '"'


def open_with(extensions: tuple[str, ...], path: str = ":memory:", read_only: bool = False) -> Any:
    """A DuckDB connection with `extensions` loaded from the PyPI packages, nothing downloaded.

    A missing extension package is a ConnectionFailed naming it (step "auth": the first thing
    the connection does).
    """
    directory = extension_directory()
    config: dict[str, Any] = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "allow_community_extensions": False,
        "threads": 1,
    }
    if directory:
        config["extension_directory"] = directory
    connection = duckdb.connect(path, read_only=read_only, config=config)
    try:
        for name in extensions:
            try:
                connection.execute(f"LOAD {name}")
            except duckdb.Error:
                raise ConnectionFailed(
                    "auth",
                    f"DuckDB's {name} extension is not installed on this Datadock "
                    f"server. Install it with: pip install {EXTENSIONS[name]}=="
                    f"{duckdb.__version__}.*",
                    {},
                ) from None
    except BaseException:
        connection.close()
        raise
    return connection


def lock_down(connection: Any, allowed: list[str]) -> None:
    """External access off except under `allowed` (URL or folder prefixes), then locked."""
    if allowed:
        listed = ", ".join(quote(a) for a in allowed)
        connection.execute(f"SET allowed_directories = [{listed}]")
    connection.execute("SET enable_external_access = false")
    connection.execute("SET lock_configuration = true")


_ENDPOINT = re.compile(
    r"^(?:(?P<scheme>https?)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)"
    r"(?::(?P<port>\d{1,5}))?/?$"
)


def parse_endpoint(text: str) -> tuple[bool, str, int]:
    """(TLS, host, port) of `https://host:port`, `http://host:port` or `host[:port]` (TLS);
    ValueError when it is none of these."""
    match = _ENDPOINT.match(text.strip())
    if match is None:
        raise ValueError(text)
    tls = match["scheme"] != "http"
    port = int(match["port"] or (443 if tls else 80))
    if not 1 <= port <= 65535:
        raise ValueError(text)
    return tls, match["host"].strip("[]"), port


def host_port(address: str, port: int) -> str:
    """`address:port`, with brackets around an IPv6 address."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
