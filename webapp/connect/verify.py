"""Open a connection step by step under one deadline; report each step or which field is wrong.

The ladder: fields → (driver) → DNS → TCP → SSH tunnel → TLS → authentication → database →
catalog. DNS is resolved (and checked by the egress policy) here, before the driver is called.
TCP to the database is not probed separately while things work: the driver's own connect
opens it, so when the driver connects the TCP step is reported as passed ("opened by the
driver's connection") and the server forks no backend for a probe. Only after a driver
failure before TLS, authentication or the database (a refused port, an unexpected answer, a
timeout) is TCP probed, so a wrong port or an unresponsive host is still named precisely.
The driver's connect covers TLS, authentication and database together; its error decides
which of them failed. The catalog check and the server's version are one round trip
(`Dialect.catalog_version`).
"""

from __future__ import annotations

import errno
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, has_app_context

from ..core.failures import port_refused, redact, secret_texts, silent_failure, timeout_failure
from ..core.refusal import ConnectionFailed
from ..dialects import Dialect, Target
from ..dialects.base import DriverMissing
from .ladder import Ladder
from .store_guard import resolve_bastion, resolve_target
from .targets import target_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VerifyResult:
    """A successful verify: what answered, how long it took, and every step."""

    server_version: str
    elapsed_ms: int
    steps: list[dict] = field(default_factory=list)


@dataclass
class Opened:
    """An open connection and the tunnel it runs through, closed together."""

    connection: Any
    tunnel: Any = None

    def close(self) -> None:
        """Close the connection, then the tunnel; errors while closing are only logged."""
        for closer in (
            getattr(self.connection, "close", None),
            getattr(self.tunnel, "close", None),
        ):
            if closer is not None:
                try:
                    closer()
                except Exception:
                    log.debug("error while closing", exc_info=True)


def _outbound() -> str | None:
    return current_app.config.get("OUTBOUND_ADDRESS") if has_app_context() else None


def _probe_tcp(
    address: str,
    port: int,
    host: str,
    timeout: float,
    port_field: str = "port",
    host_field: str = "host",
) -> None:
    """Open and close a TCP connection, naming the field that is wrong when it fails."""
    try:
        socket.create_connection((address, port), timeout=timeout).close()
    except TimeoutError:
        behind = "the SSH server" if host_field == "sshHost" else "the database"
        raise timeout_failure(
            host, port, round(timeout, 1), _outbound(), host_field, behind
        ) from None
    except ConnectionRefusedError:
        raise port_refused(host, port, port_field) from None
    except OSError as exc:
        if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            raise ConnectionFailed(
                "tcp",
                f"There is no network route from Datadock to {host}.",
                {host_field: "Host unreachable"},
            ) from None
        raise ConnectionFailed(
            "tcp",
            f"Could not open a connection to {host}:{port}.",
            {host_field: "Could not connect to this host"},
        ) from None


def _tunnel(values: dict[str, Any], ladder: Ladder) -> tuple[Any, Target]:
    """DNS and TCP to the SSH server, then the tunnel; the database host is reached through it."""
    from .tunnel import open_tunnel

    ssh_host, ssh_port = values["sshHost"], int(values.get("sshPort") or 22)
    ssh_address = ladder.run("dns", lambda: resolve_bastion(values, ladder.remaining()))
    ladder.run(
        "tcp",
        lambda: _probe_tcp(
            ssh_address, ssh_port, ssh_host, ladder.remaining(), "sshPort", "sshHost"
        ),
    )
    tunnel = ladder.run(
        "ssh",
        lambda: open_tunnel(
            values, ssh_address, values["host"], int(values["port"]), ladder.remaining()
        ),
    )
    return tunnel, target_for(values, "127.0.0.1", ladder.remaining(), tunnel.local_port)


def open_connection(
    dialect: Dialect, values: dict[str, Any], timeout: float, ladder: Ladder | None = None
) -> Opened:
    """Walk the ladder up to an open connection. Raises ConnectionFailed carrying the steps."""
    ladder = ladder or Ladder(list(dialect.steps), timeout)
    names = [s.name for s in ladder.steps]
    tunnel = None
    try:
        if "driver" in names:
            ladder.run("driver", lambda: _load_driver(dialect))
        if "dns" in names and values.get("sshEnabled"):
            tunnel, target = _tunnel(values, ladder)
        elif "dns" in names:
            host, port = values["host"], int(values["port"])
            address = ladder.run("dns", lambda: resolve_target(host, port, ladder.remaining()))
            if "ssh" in names:
                ladder.mark("ssh", "skipped")
            target = target_for(values, address, ladder.remaining(), port)
            return Opened(
                _driver_connect(
                    dialect,
                    target,
                    ladder,
                    lambda seconds: _probe_tcp(address, port, host, seconds),
                )
            )
        else:
            target = target_for(values, None, ladder.remaining(), None)
        connection = _driver_connect(dialect, target, ladder)
    except ConnectionFailed as failure:
        if tunnel is not None:
            tunnel.close()
        if not failure.steps:
            raise ladder.fail(failure).with_traceback(failure.__traceback__) from failure.__cause__
        raise
    return Opened(connection, tunnel)


def _load_driver(dialect: Dialect) -> None:
    try:
        dialect.load_driver()
    except DriverMissing:
        raise ConnectionFailed(
            "driver",
            f"The {dialect.label} driver is not installed on this Datadock server. "
            f"Install it with: pip install 'datadock[{dialect.extra}]'",
            {},
        ) from None


def _driver_connect(
    dialect: Dialect, target: Target, ladder: Ladder, probe: Callable[[float], None] | None = None
) -> Any:
    """The driver's connect covers TLS, authentication and database at once, and TCP when
    `probe` is given (TCP was not probed before; `probe` runs only after a failure)."""
    # The server's first answer ("response") comes before whatever the driver's steps are.
    group = [n for n in ("response", *dialect.driver_steps) if n in {s.name for s in ladder.steps}]
    if probe is not None:
        group.insert(0, "tcp")
    tls_applies = dialect.uses_tls(target.values)
    began = time.monotonic()
    try:
        connection = dialect.connect(target)
    except Exception as exc:  # noqa: BLE001 - every driver error is classified below
        failure = (
            exc
            if isinstance(exc, ConnectionFailed)
            else dialect.classify(
                exc, Target(target.values, target.address, ladder.timeout, target.port)
            )
        )
        if probe is not None and failure.step not in ("tls", "auth", "database"):
            failure = _probe_after(probe, failure, target, ladder)
        if failure.step == "timeout":
            applicable = [n for n in group if n != "tcp" and (n != "tls" or tls_applies)]
            at = applicable[0] if applicable else "database"
            # TCP was accepted (the probe after it passed, or the tunnel carried it): the
            # server's first answer never came, which is not an authentication failure.
            failure = (silent_failure if at == "response" else timeout_failure)(
                target.values.get("host", dialect.label),
                target.values.get("port"),
                ladder.timeout,
                _outbound(),
            ).at_step(at)
        # Raw driver text stays in the server log, with any secret value it echoes removed.
        log.info(
            "connect to %s source failed at step %s: %s: %s",
            dialect.key,
            failure.step,
            type(exc).__name__,
            redact(str(exc), secret_texts(target.values, dialect.secret_names)),
        )
        ms = int((time.monotonic() - began) * 1000)
        failed_at = failure.step if failure.step in group else (group[-1] if group else None)
        for name in group:
            if name == failed_at:
                break
            ladder.mark(name, "ok" if name != "tls" or tls_applies else "skipped")
        if failed_at is not None:
            failure = failure.at_step(failed_at)
            ladder.step(failed_at).ms = ms
        raise ladder.fail(failure) from None
    ms = int((time.monotonic() - began) * 1000)
    for name in group:
        status = "skipped" if name == "tls" and not tls_applies else "ok"
        ladder.mark(
            name,
            status,
            ms if name == group[-1] else None,
            ""
            if name == group[-1]
            else BY_DRIVER
            if name == "tcp"
            else "checked in the same handshake",
        )
    return connection


BY_DRIVER = "opened by the driver's connection (not probed separately)"
PROBE_AFTER_TIMEOUT = 0.15  # seconds: a listener that accepts answers a SYN in far less


def _probe_after(
    probe: Callable[[float], None], failure: ConnectionFailed, target: Target, ladder: Ladder
) -> ConnectionFailed:
    """After a driver failure before TLS, probe TCP: its failure if it fails (what the probe
    said when it ran before the driver), else the driver's.

    After a timeout the deadline is spent: the probe gets PROBE_AFTER_TIMEOUT, enough to tell
    a host that accepts and never answers (the login timed out) from one that accepts
    nothing (the timeout is TCP's)."""
    timed_out = failure.step == "timeout"
    try:
        probe(PROBE_AFTER_TIMEOUT if timed_out else ladder.remaining())
    except ConnectionFailed as tcp:
        if timed_out and tcp.step == "timeout":
            return timeout_failure(
                target.values.get("host", ""),
                target.values.get("port"),
                ladder.timeout,
                _outbound(),
            ).at_step("tcp")
        return tcp
    return failure


def verify(
    dialect: Dialect, values: dict[str, Any], timeout: float, fields_ms: int = 0
) -> VerifyResult:
    """Walk the whole ladder, read the server's version, close. Raises ConnectionFailed."""
    ladder = Ladder(list(dialect.steps), timeout)
    ladder.mark("fields", "ok", fields_ms)
    opened = open_connection(dialect, values, timeout, ladder)
    try:
        version = ladder.run("catalog", lambda: _catalog(dialect, opened.connection, values))
    finally:
        opened.close()
    elapsed = int((time.monotonic() - ladder.started) * 1000) + fields_ms
    return VerifyResult(version, elapsed, [s.as_dict() for s in ladder.steps])


def _catalog(dialect: Dialect, connection: Any, values: dict[str, Any]) -> str:
    try:
        return dialect.catalog_version(connection)
    except ConnectionFailed:
        raise  # a dialect that knows which of its fields is at fault (e.g. Athena's S3 location)
    except Exception as exc:  # noqa: BLE001 - any failure here means the catalog is unreadable
        log.info(
            "reading the catalog of a %s source failed: %s",
            dialect.key,
            redact(str(exc), secret_texts(values, dialect.secret_names)),
        )
        raise ConnectionFailed(
            "catalog",
            "Connected, but this user cannot read the database's catalog "
            "(information_schema). Grant it read access to the schemas to sync.",
            {"username": "Cannot read the catalog"},
        ) from None
