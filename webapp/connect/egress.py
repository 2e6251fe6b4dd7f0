"""Resolve a host once, refuse addresses Datadock must never reach, connect to that address.

Every IPv6 address that carries an IPv4 address (IPv4-mapped and -compatible, SIIT, NAT64,
6to4, Teredo) is checked as that IPv4 address as well as itself, so `::ffff:169.254.169.254`
is refused like `169.254.169.254`. In production loopback is refused too, unless the operator
allows it (DATADOCK_EGRESS_ALLOW).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from flask import current_app, has_app_context

from ..core.addresses import literal
from ..core.failures import HOST_NOT_FOUND, NOT_ALLOWED
from ..core.refusal import ConnectionFailed

log = logging.getLogger(__name__)

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _nets(*names: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(n) for n in names)


# Never a database, in any mode: each group with the words a refusal uses for it.
DEFAULT_BLOCKED: tuple[tuple[str, tuple[Network, ...]], ...] = (
    ("link-local or cloud metadata", _nets("169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128")),
    ('"this host" (unspecified)', _nets("0.0.0.0/8", "::/128")),
    ("multicast", _nets("224.0.0.0/4", "ff00::/8")),
    ("reserved", _nets("240.0.0.0/4")),
)
LOOPBACK = _nets("127.0.0.0/8", "::1/128")

# Prefixes whose addresses carry an IPv4 address (RFC 4291, 2765, 6052, 8215, 3056, 4380).
_SIIT = ipaddress.ip_network("::ffff:0:0:0/96")
_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")

# getaddrinfo has no timeout of its own: look-ups run here and are waited on with a deadline.
_resolver_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="dns")


def _rfc6052(address: ipaddress.IPv6Address, prefix: int) -> ipaddress.IPv4Address:
    """The IPv4 address an RFC 6052 translator with a /`prefix` prefix carries (bits 64-71,
    the "u" octet, are skipped)."""
    raw = address.packed
    if prefix == 96:
        return ipaddress.IPv4Address(raw[12:16])
    without_u = raw[:8] + raw[9:]
    start = prefix // 8
    return ipaddress.IPv4Address(without_u[start : start + 4])


def embedded_ipv4(address: IP) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address `address` carries (none for an IPv4 address or a plain IPv6 one)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found: list[ipaddress.IPv4Address] = []
    low = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    elif address in _SIIT or (address in _COMPATIBLE and int(address) > 1):  # not :: or ::1
        found.append(low)
    if address in _NAT64:
        found.append(low)
    if address in _NAT64_LOCAL:
        # The operator picks the prefix length: each position is tried. A guess that reads
        # only padding (0.x.x.x) is not an address a translator would reach.
        found += [
            v4 for v4 in (_rfc6052(address, p) for p in (48, 56, 64, 96)) if v4 not in _THIS_NETWORK
        ]
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found += list(address.teredo)  # (server, client), the client already un-obfuscated
    return list(dict.fromkeys(found))


def plain(address: IP) -> IP:
    """An IPv4-mapped address as the IPv4 address it is; any other address unchanged."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _as_networks(text: str) -> list[Network]:
    """An operator's network; one written IPv4-mapped (::ffff:10.0.0.0/104) also as IPv4."""
    network = ipaddress.ip_network(text, strict=False)
    networks: list[Network] = [network]
    if (
        isinstance(network, ipaddress.IPv6Network)
        and network.prefixlen >= 96
        and network.network_address.ipv4_mapped is not None
    ):
        networks.append(
            ipaddress.ip_network(f"{network.network_address.ipv4_mapped}/{network.prefixlen - 96}")
        )
    return networks


@dataclass(frozen=True)
class Policy:
    """Which addresses Datadock connects to: a snapshot of the operator's settings."""

    allow: tuple[Network, ...] = ()
    block: tuple[Network, ...] = ()
    production: bool = False

    def refusal(self, address: IP) -> str | None:
        """Why `address` is refused (None: allowed). The address and every IPv4 address it
        carries are each checked; an operator-allowed network wins for the form it covers."""
        for candidate in (address, *embedded_ipv4(address)):
            if any(candidate in network for network in self.allow):
                continue
            reason = self._blocked(candidate)
            if reason is not None:
                return (
                    reason
                    if candidate == address
                    else f"{reason} ({candidate}, carried inside this IPv6 address)"
                )
        return None

    def _blocked(self, address: IP) -> str | None:
        for reason, networks in DEFAULT_BLOCKED:
            if any(address in network for network in networks):
                return reason
        if self.production and any(address in network for network in LOOPBACK):
            return "loopback, refused in production unless DATADOCK_EGRESS_ALLOW allows it"
        if any(address in network for network in self.block):
            return "blocked by the operator's DATADOCK_EGRESS_BLOCK"
        return None


def policy() -> Policy:
    """The policy of the current app (built-in rules only outside an app)."""
    if not has_app_context():
        return Policy()
    config = current_app.config

    def networks(name: str) -> tuple[Network, ...]:
        return tuple(n for text in config.get(name) or [] for n in _as_networks(str(text)))

    return Policy(
        networks("EGRESS_ALLOW"), networks("EGRESS_BLOCK"), bool(config.get("DATADOCK_PRODUCTION"))
    )


def allowed(address: IP) -> bool:
    """Whether the current app's policy lets Datadock connect to `address`."""
    return policy().refusal(address) is None


def _is_reserved_name(host: str) -> bool:
    """RFC 6761: names under .invalid never exist, so no query is sent for them."""
    name = host.rstrip(".").lower()
    return name == "invalid" or name.endswith(".invalid")


def lookup(host: str, port: int, timeout: float, host_field: str = "host") -> list[IP]:
    """Every address `host` names (a literal is its own answer), under a deadline."""
    address = literal(host)
    if address is not None:
        return [address]
    if _is_reserved_name(host):
        raise _not_found(host, host_field)
    future = _resolver_pool.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
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
    return list(dict.fromkeys(ipaddress.ip_address(str(i[4][0]).split("%")[0]) for i in infos))


def resolve(host: str, port: int, timeout: float, host_field: str = "host") -> str:
    """Return the first allowed IP address of `host`, or raise ConnectionFailed on that field.

    An IPv4-mapped answer is returned as the IPv4 address it is.
    """
    addresses = lookup(host, port, timeout, host_field)
    rules = policy()
    refusals = [(address, rules.refusal(address)) for address in addresses]
    for address, reason in refusals:
        if reason is None:
            return str(plain(address))
    address, reason = refusals[0]
    shown = f"{host} is" if literal(host) is not None else f"{host} resolves to {address},"
    raise ConnectionFailed(
        step="dns",
        detail=f"{shown} an address Datadock does not connect to: {reason}.",
        field_errors={host_field: NOT_ALLOWED},
    )


def _not_found(host: str, host_field: str) -> ConnectionFailed:
    return ConnectionFailed(
        step="dns",
        detail=f"The host name {host} could not be found. Check it for typos.",
        field_errors={host_field: HOST_NOT_FOUND},
    )
