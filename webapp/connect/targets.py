"""The Target a dialect connects to, carrying connect/'s policies (dialects never import them).

A driver that must be given the host name gets the egress and store check for addresses it
resolves itself (`store_guard.connection_guard`); a file dialect gets the data folder's file
policy (`files.resolve_data_file`).
"""

from __future__ import annotations

from typing import Any

from ..dialects import Target
from .files import resolve_data_file
from .store_guard import connection_guard


def target_for(values: dict[str, Any], address: str | None, timeout: float,
               port: int | None = None) -> Target:
    """Where to connect (the checked address and port, the time left), with the policies."""
    return Target(values, address, timeout, port, connection_guard=connection_guard,
                  resolve_data_file=resolve_data_file)
