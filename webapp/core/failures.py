"""The common connection failures, their field wording, and keeping secrets out of logs.

Every layer that connects (the ladder, the tunnel, each dialect's classify) builds its
refusals from these, so one failure reads the same whichever engine it came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .refusal import ConnectionFailed

HOST_NOT_FOUND = "Host not found"
INCORRECT_PORT = "Incorrect port"
BAD_CREDENTIALS = "Incorrect username or password"
NO_DATABASE = "Database does not exist"
NOT_ALLOWED = "This address is not allowed"
OUTSIDE_DATA_FOLDER = "Use a path inside the data folder"


def timeout_failure(
    host: str,
    port: int | None,
    seconds: float,
    outbound: str | None = None,
    field: str = "host",
    behind: str = "the database",
) -> ConnectionFailed:
    """The error for a host that accepted nothing or answered nothing within the deadline.

    `behind` names whose firewall to open ("the SSH server" for a tunnel's bastion);
    `outbound` is DATADOCK_OUTBOUND_ADDRESS, named when set (else the text says how to set it).
    """
    where = f"{host}:{port}" if port else host
    address, unnamed = _outbound_words(outbound)
    return ConnectionFailed(
        step="timeout",
        detail=(
            f"Timed out after {seconds:g} s waiting for {where} to answer. Check the host and "
            f"port, and allow Datadock's outbound address{address} in {behind}'s firewall "
            f"or security group.{unnamed}"
        ),
        field_errors={field: f"{host} did not answer within {seconds:g} s"},
    )


def silent_failure(
    host: str, port: int | None, seconds: float, outbound: str | None = None
) -> ConnectionFailed:
    """The error for a host that accepted the TCP connection, then sent nothing back within
    the deadline (the engine's first answer never came: no greeting, no reply to the startup
    or TLS request). Its step is the ladder's "response", not the authentication after it."""
    where = f"{host}:{port}" if port else host
    address, unnamed = _outbound_words(outbound)
    return ConnectionFailed(
        step="response",
        detail=(
            f"{where} accepted the connection but never answered within {seconds:g} s. Check "
            "that the port is the database's (not another service's), and allow Datadock's "
            f"outbound address{address} in the database's firewall or security group: some "
            f"let a connection open, then drop what follows.{unnamed}"
        ),
        field_errors={
            "host": f"{host} accepted the connection but did not answer within {seconds:g} s"
        },
    )


def _outbound_words(outbound: str | None) -> tuple[str, str]:
    """The outbound address in parentheses (when set), and the hint to set it (when not)."""
    if outbound:
        return f" ({outbound})", ""
    return "", (
        " An administrator can have that address named here by setting DATADOCK_OUTBOUND_ADDRESS."
    )


def port_refused(host: str, port: int | None, field: str = "port") -> ConnectionFailed:
    """Nothing listens on the port (the TCP connection was refused)."""
    return ConnectionFailed(
        "tcp",
        f"{host} refused the connection on port {port}: nothing listens there.",
        {field: INCORRECT_PORT},
    )


def bad_credentials() -> ConnectionFailed:
    """The server rejected the login (a wrong password and an unknown user look the same)."""
    return ConnectionFailed(
        "auth",
        "The server rejected the username or password.",
        {"username": BAD_CREDENTIALS, "password": BAD_CREDENTIALS},
    )


def unknown_database(name: str | None, more: str = "") -> ConnectionFailed:
    """The server has no database of that name (`more` adds a sentence of the engine's own)."""
    detail = f"The server has no database named {name!r}." + (f" {more}" if more else "")
    return ConnectionFailed("database", detail, {"databaseName": NO_DATABASE})


def secret_texts(values: Mapping[str, Any], names: Iterable[str]) -> list[str]:
    """The secret values to keep out of logs: each whole value, and each line of a multi-line
    one (a pasted key) long enough to be worth hiding."""
    texts: list[str] = []
    for name in names:
        value = str(values.get(name) or "")
        if value:
            texts.append(value)
            texts += [line for line in value.splitlines() if len(line.strip()) > 8]
    return texts


def redact(text: str, secrets: Iterable[str], limit: int = 300) -> str:
    """A raw library error for the server log: every secret replaced by ***, cut to `limit`."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text[:limit]
