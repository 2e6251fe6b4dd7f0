"""Datadock's own store is never a source: not by its address and port, not by its file.

A network store (DATABASE_URL) is refused when the target's checked address and port are the
store's after resolution; when the store runs on this machine, any address of this machine
(loopback, or one a socket can bind) on the store's port counts as the store. A file store is
refused by identity (device and inode, after links are followed), with its -wal, -shm and
-journal files and every file at the top of the instance folder; files under the instance
folder are refused by path too, unless the data folder is a folder of its own inside it.
Only `os.stat` is used: opening the store's file would drop the app's own SQLite locks.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ..core.refusal import ConnectionFailed
from .egress import IP, literal, lookup, plain, policy, resolve

log = logging.getLogger(__name__)

OWN_DATABASE = "This is Datadock's own database"
OWN_FILE = "This is one of Datadock's own files"
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306, "mssql": 1433, "oracle": 1521}
_CACHE_SECONDS = 30.0
Endpoint = tuple[int, tuple[IP, ...], bool]  # port, addresses, on this machine
_cache: dict[str, tuple[float, Endpoint | None]] = {}
_cache_lock = threading.Lock()


def _bindable(address: IP) -> bool:
    """Whether `address` belongs to this machine (a socket can bind to it)."""
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((str(address), 0))
    except OSError:
        return False
    return True


def is_local(address: IP) -> bool:
    """Loopback, unspecified, or an address of one of this machine's interfaces."""
    address = plain(address)
    return address.is_loopback or address.is_unspecified or _bindable(address)


def _store_endpoint(uri: str) -> Endpoint | None:
    """(port, addresses, on this machine) of a network store; None for a file store."""
    try:
        url = make_url(uri)
    except ArgumentError:
        return None
    backend = url.get_backend_name()
    if backend not in DEFAULT_PORTS:
        return None
    port = url.port or DEFAULT_PORTS[backend]
    query_host = url.query.get("host")
    hosts = [h for h in (url.host or "").split(",") if h]
    if isinstance(query_host, str) and query_host:
        hosts.append(query_host)
    local = not hosts or any(h.startswith("/") for h in hosts)  # a Unix socket: this machine
    addresses: list[IP] = []
    for host in (h for h in hosts if not h.startswith("/")):
        try:
            addresses += [plain(a) for a in lookup(host, port, 2.0)]
        except ConnectionFailed:
            log.warning("the store's host %s does not resolve; it is compared by name only", host)
    local = local or any(is_local(a) for a in addresses)
    return port, tuple(addresses), local


def store_endpoint() -> Endpoint | None:
    """The current app's network store, resolved at most every 30 s."""
    if not has_app_context():
        return None
    uri = str(current_app.config.get("SQLALCHEMY_DATABASE_URI") or "")
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(uri)
    if cached is not None and now - cached[0] < _CACHE_SECONDS:
        return cached[1]
    endpoint = _store_endpoint(uri)
    with _cache_lock:
        _cache[uri] = (now, endpoint)
    return endpoint


def _reaches(endpoint: Endpoint | None, address: IP, port: int) -> bool:
    if endpoint is None:
        return False
    store_port, store_addresses, store_local = endpoint
    if int(port) != store_port:
        return False
    target = plain(address)
    return target in store_addresses or (store_local and is_local(target))


def is_store(address: str, port: int) -> bool:
    """Whether `address`:`port` (a checked address) reaches Datadock's own store."""
    return _reaches(store_endpoint(), ipaddress.ip_address(address), port)


def connection_guard() -> Callable[[str, int], str | None]:
    """The egress policy and the store check as one function, usable outside the app
    context (a driver's own thread): why Datadock refuses `address`:`port`, or None."""
    rules, endpoint = policy(), store_endpoint()

    def check(address: str, port: int) -> str | None:
        ip = literal(address)
        if ip is None:
            return "not an IP address"
        reason = rules.refusal(ip)
        if reason is not None:
            return f"an address Datadock does not connect to ({reason})"
        if _reaches(endpoint, ip, port):
            return "Datadock's own database (DATABASE_URL)"
        return None

    return check


def refuse_store_address(
    address: str, port: int, host: str, host_field: str = "host", port_field: str = "port"
) -> None:
    """Raise ConnectionFailed (step dns, on the host and port) when the target is the store."""
    if is_store(address, port):
        raise ConnectionFailed(
            "dns",
            f"{host}:{port} is the database Datadock keeps its own data in "
            "(DATABASE_URL). Datadock does not add its own store as a source.",
            {host_field: OWN_DATABASE, port_field: OWN_DATABASE},
        )


def _store_file() -> Path | None:
    uri = str(current_app.config.get("SQLALCHEMY_DATABASE_URI") or "")
    try:
        url = make_url(uri)
    except ArgumentError:
        return None
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database.removeprefix("file:").split("?")[0])


def _identities(paths: list[Path]) -> set[tuple[int, int]]:
    found: set[tuple[int, int]] = set()
    for path in paths:
        try:
            status = os.stat(path)
        except OSError:
            continue
        found.add((status.st_dev, status.st_ino))
    return found


def protected_identities() -> set[tuple[int, int]]:
    """(device, inode) of the store's files and of every file at the top of instance/."""
    paths: list[Path] = []
    store = _store_file()
    if store is not None:
        paths += [store, *(Path(f"{store}{suffix}") for suffix in ("-wal", "-shm", "-journal"))]
    instance = Path(current_app.instance_path)
    if instance.is_dir():
        paths += [p for p in instance.iterdir() if p.is_file()]
    return _identities(paths)


def refuse_own_file(real: Path, folder: Path, shown: str, field: str) -> None:
    """Raise ConnectionFailed (step file) when `real` (a resolved path inside the data folder
    `folder`) is one of Datadock's own files."""
    if not has_app_context():
        return
    instance = Path(current_app.instance_path).resolve()
    own_folder = folder != instance and folder.is_relative_to(instance)
    if real.is_relative_to(instance) and not (own_folder and real.is_relative_to(folder)):
        raise ConnectionFailed(
            "file",
            f"{shown!r} lies in Datadock's instance folder, where its store and keys "
            "are kept. Keep database files in a data folder of their own "
            "(DATADOCK_DATA_DIR).",
            {field: OWN_FILE},
        )
    if _identities([real]) & protected_identities():
        raise ConnectionFailed(
            "file",
            f"{shown!r} is Datadock's own database (or one of its files), reached "
            "through a link. Datadock never opens its own files as a source.",
            {field: OWN_FILE},
        )


def resolve_target(host: str, port: int, timeout: float) -> str:
    """The database host's checked address (egress.resolve), refused when it is the store."""
    address = resolve(host, port, timeout)
    refuse_store_address(address, port, host)
    return address


def resolve_bastion(values: dict[str, Any], timeout: float) -> str:
    """The SSH server's checked address. When the SSH server is this machine, the database
    host it will reach is looked up here too, and refused when it is the store."""
    ssh_host, ssh_port = values["sshHost"], int(values.get("sshPort") or 22)
    address = resolve(ssh_host, ssh_port, timeout, host_field="sshHost")
    if store_endpoint() is not None and is_local(ipaddress.ip_address(address)):
        host, port = values["host"], int(values["port"])
        try:
            behind = lookup(host, port, timeout)
        except ConnectionFailed:
            behind = []  # only the SSH server can tell; it reaches what its owner lets it
        for candidate in behind:
            refuse_store_address(str(candidate), port, host)
    return address
