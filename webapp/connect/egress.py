"""Resolve a host once, refuse addresses Datadock must never reach, connect to that address."""

from __future__ import annotations

import ipaddress
import logging
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from flask import current_app, has_app_context

from .errors import HOST_NOT_FOUND, ConnectionFailed

log = logging.getLogger(__name__)

# Cloud metadata services, link-local, "this host" and multicast: never a database.
DEFAULT_BLOCKED = tuple(
    ipaddress.ip_network(n)
    for n in ("0.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4",
              "::/128", "fe80::/10", "ff00::/8", "fd00:ec2::254/128")
)

# getaddrinfo has no timeout of its own: look-ups run here and are waited on with a deadline.
_resolver_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="dns")


def _is_reserved_name(host: str) -> bool:
    """RFC 6761: names under .invalid never exist, so no query is sent for them."""
    name = host.rstrip(".").lower()
    return name == "invalid" or name.endswith(".invalid")


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(name: str) -> list[Network]:
    if not has_app_context():
        return []
    return [ipaddress.ip_network(n, strict=False) for n in current_app.config.get(name, [])]


def allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Operator-allowed networks win; then the default and operator-blocked ones refuse."""
    if any(address in network for network in _networks("EGRESS_ALLOW")):
        return True
    blocked = (*DEFAULT_BLOCKED, *_networks("EGRESS_BLOCK"))
    return not any(address in network for network in blocked)


def resolve(host: str, port: int, timeout: float, host_field: str = "host") -> str:
    """Return the first allowed IP address of `host`, or raise ConnectionFailed on that field."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        if _is_reserved_name(host):
            raise _not_found(host, host_field)
        future = _resolver_pool.submit(
            socket.getaddrinfo, host, port, type=socket.SOCK_STREAM
        )
        try:
            infos = future.result(timeout=max(timeout, 0.1))
        except FutureTimeout:
            raise ConnectionFailed(
                step="dns",
                detail=f"Looking up {host} took longer than {timeout:g} s. Check the host name "
                       "and that Datadock's DNS resolver can reach it.",
                field_errors={host_field: HOST_NOT_FOUND},
            ) from None
        except (socket.gaierror, UnicodeError) as exc:
            log.info("DNS look-up failed for %s: %s", host, exc)
            raise _not_found(host, host_field) from None
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for address in addresses:
        if allowed(address):
            return str(address)
    raise ConnectionFailed(
        step="dns",
        detail=f"{host} resolves to {addresses[0]}, an address Datadock does not connect to "
               "(link-local, cloud metadata, multicast, unspecified, or blocked by the "
               "operator's DATADOCK_EGRESS_BLOCK).",
        field_errors={host_field: "This address is not allowed"},
    )


def _not_found(host: str, host_field: str) -> ConnectionFailed:
    return ConnectionFailed(
        step="dns",
        detail=f"The host name {host} could not be found. Check it for typos.",
        field_errors={host_field: HOST_NOT_FOUND},
    )
