"""The Target a dialect connects to, carrying connect/'s policies (dialects never import them).

A driver that must be given the host name gets the egress and store check for addresses it
resolves itself (`store_guard.connection_guard`); a file dialect gets the data folder's file
policy (`files.resolve_data_file`); an engine that connects by itself (DuckDB's httpfs,
postgres and mysql extensions) gets `check_address`, which resolves a host, applies the egress
policy and the store guard, and returns the address to hand the engine (pinned).
"""

from __future__ import annotations

from typing import Any

from ..dialects import Target
from .egress import lookup, resolve
from .files import resolve_data_file
from .store_guard import connection_guard, refuse_store_address


def check_address(
    host: str,
    port: int,
    timeout: float,
    host_field: str = "host",
    port_field: str = "port",
    every: bool = False,
) -> str:
    """`host`'s first allowed address, refused when it is the store; ConnectionFailed (step
    dns) names `host_field` / `port_field`.

    `every`: for an engine that is given the name and looks it up again itself (HTTPS keeps
    the name for the certificate), every address the name has must pass, so whichever one
    the engine picks was checked.
    """
    if every:
        for candidate in lookup(host, port, timeout, host_field):
            refuse_store_address(
                resolve(str(candidate), port, timeout, host_field),
                port,
                host,
                host_field,
                port_field,
            )
    address = resolve(host, port, timeout, host_field)
    refuse_store_address(address, port, host, host_field, port_field)
    return address


def target_for(
    values: dict[str, Any], address: str | None, timeout: float, port: int | None = None
) -> Target:
    """Where to connect (the checked address and port, the time left), with the policies."""
    return Target(
        values,
        address,
        timeout,
        port,
        connection_guard=connection_guard,
        resolve_data_file=resolve_data_file,
        check_address=check_address,
    )
