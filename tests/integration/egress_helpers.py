"""Helpers for the egress tests: a listener on a loopback alias that counts what reaches it,
and every spelling of one IPv4 address Datadock must check as that address."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

ALIAS = "127.0.0.9"  # a loopback address nothing else on this machine uses
NOT_ALLOWED = "This address is not allowed"


@dataclass
class Listener:
    """A TCP listener that accepts, counts and closes every connection."""

    host: str
    port: int
    accepted: list[tuple[str, int]] = field(default_factory=list)

    def wait_for(self, count: int, seconds: float = 10.0) -> bool:
        """Poll until `count` connections arrived (True) or the time is up (False)."""
        deadline = time.monotonic() + seconds
        while len(self.accepted) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return len(self.accepted) >= count


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, target):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


def _forward(connection: socket.socket, upstream: int) -> None:
    try:
        far = socket.create_connection(("127.0.0.1", upstream), timeout=5)
    except OSError:
        connection.close()
        return
    far.settimeout(None)
    connection.settimeout(None)
    for a, b in ((connection, far), (far, connection)):
        threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


@contextlib.contextmanager
def counting_listener(
    host: str = ALIAS, upstream: int | None = None, port: int = 0
) -> Iterator[Listener]:
    """Listen on `host` (a loopback alias: all of 127.0.0.0/8 is loopback on Linux), count
    every connection, and close it, or pipe it to 127.0.0.1:`upstream` (a real server)."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((host, port))
    server.listen(64)
    server.settimeout(0.1)
    listener = Listener(host, server.getsockname()[1])
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, peer = server.accept()
            except (TimeoutError, OSError):
                continue
            listener.accepted.append(peer[:2])
            if upstream is None:
                connection.close()
            else:
                _forward(connection, upstream)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener
    finally:
        stop.set()
        thread.join(timeout=2)
        server.close()


def spellings(v4: str = ALIAS) -> list[str]:
    """Every way the issue lists (and a few more) of writing IPv4 address `v4` for a host
    field: IPv4-mapped (three ways and the padded long form), IPv4-compatible, SIIT, NAT64
    (well-known, local-use /48), 6to4, Teredo (server and client), and two inet_aton forms
    that only the system resolver turns into the address (`127.9`, a decimal number)."""
    address = ipaddress.IPv4Address(v4)
    raw = address.packed
    hi, lo = f"{raw[0]:02x}{raw[1]:02x}", f"{raw[2]:02x}{raw[3]:02x}"
    client = int(address) ^ 0xFFFFFFFF
    local48 = ipaddress.IPv6Address(
        bytes.fromhex("0064ff9b0001") + raw[:2] + b"\0" + raw[2:] + b"\0" * 5
    )
    found = [
        f"::ffff:{v4}",
        f"::ffff:{hi}:{lo}",
        f"[::ffff:{v4}]",
        f"0000:0000:0000:0000:0000:ffff:{hi}:{lo}",
        f"::{v4}",
        f"::ffff:0:{hi}:{lo}",
        f"64:ff9b::{hi}:{lo}",
        str(local48),
        f"2002:{hi}:{lo}::",
        f"2001:0:{hi}:{lo}::1",
        f"2001:0:4136:e378:8000:63bf:{client >> 16:04x}:{client & 0xFFFF:04x}",
        str(int(address)),
    ]
    if raw[1] == raw[2] == 0:
        found.append(f"{raw[0]}.{raw[3]}")  # 127.9
    return found


def url_host(spelling: str) -> str:
    """The spelling as the host part of a URL (IPv6 in brackets)."""
    return f"[{spelling.strip('[]')}]" if ":" in spelling else spelling


SUFFIX = ".datadock.test"
# Names the private /etc/hosts of test_egress_names.py maps (resolver_names.py uses them).
BLOCKED_NAMES = {
    f"v6-{i}{SUFFIX}": str(ipaddress.ip_address(s.strip("[]")))
    for i, s in enumerate(x for x in spellings(ALIAS) if ":" in x)
}
BLOCKED_NAMES[f"alias{SUFFIX}"] = ALIAS
METADATA_NAMES = {
    f"metadata-{i}{SUFFIX}": str(ipaddress.ip_address(s.strip("[]")))
    for i, s in enumerate(
        ["169.254.169.254", *(x for x in spellings("169.254.169.254") if ":" in x)]
    )
}


def hosts_lines() -> str:
    """/etc/hosts lines for BLOCKED_NAMES and METADATA_NAMES."""
    return "".join(
        f"{address} {name}\n" for name, address in {**BLOCKED_NAMES, **METADATA_NAMES}.items()
    )
