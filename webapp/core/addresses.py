"""Reading an IP address literal the way every check does (egress policy, pinned drivers)."""

from __future__ import annotations

import ipaddress


def literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """`host` as an IP address when it is one (brackets and an IPv6 zone allowed)."""
    try:
        return ipaddress.ip_address(host.strip().strip("[]").split("%")[0])
    except ValueError:
        return None
