"""Keep a driver that takes a host name on addresses Datadock checked.

Some drivers (python-oracledb over TCPS, the Databricks connector) must be given the host
*name*, because they check the server's certificate against it, and would look it up again
themselves: a name answering a harmless address at the check and another one later would
get through. A `Pin` sees every TCP connection the driver opens: the name goes to the checked
address, an address the driver resolved itself is checked again (policy and store) before
anything is sent, and any other host name is refused. The name is still what the driver uses
for TLS (server name, certificate check) and HTTP Host headers.

The mechanism lives here, beside the drivers it wraps; the policy (which addresses may be
connected to) is connect/'s, handed over in `Target.connection_guard` (see dialects/base.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..core.addresses import literal
from ..core.failures import NOT_ALLOWED
from ..core.refusal import ConnectionFailed


class PinRefused(OSError):
    """The driver tried to connect somewhere Datadock did not check (or refuses)."""

    def __init__(self, asked: str, reason: str) -> None:
        super().__init__(f"refused to connect to {asked}: {reason}")
        self.asked, self.reason = asked, reason


def pin_refusal(exc: BaseException) -> PinRefused | None:
    """The PinRefused a driver error came from (through causes, contexts or args), if any."""
    seen: set[int] = set()
    pending: list[Any] = [exc]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, PinRefused):
            return current
        pending += [
            current.__cause__,
            current.__context__,
            *current.args,
            getattr(current, "reason", None),
        ]
    return None


def unchecked_connection(host: str, refused: PinRefused) -> ConnectionFailed:
    """The failure shown when a driver went for an address Datadock did not check."""
    return ConnectionFailed(
        "connect",
        f"Datadock stopped the driver from connecting to {refused.asked}: "
        f"{refused.reason}. It connects only to addresses it checked for {host}.",
        {"host": NOT_ALLOWED},
    )


Guard = Callable[[str, int], "str | None"]


@dataclass(frozen=True)
class Pin:
    """`host`:`port` (the name the driver is given) goes to `address`, the checked address.

    A driver that looks the name up itself connects to IP addresses: each must pass `guard`
    (the egress policy and the store check: Target.connection_guard), so a name that
    answers differently the second time cannot lead anywhere refused, while a round-robin
    name's other allowed addresses still work. Other host names are refused. `any_port` lets
    the checked host be reached on another port too (an Oracle listener handing the session
    to a dispatcher); without a guard only `address`:`port` itself is reachable.
    """

    host: str
    address: str
    port: int
    any_port: bool = False
    guard: Guard | None = None

    def target(self, host: str | None, port: int | None) -> str:
        """The address to connect to for `host`:`port`; raises PinRefused otherwise."""
        asked = (host or "").strip("[]").lower().rstrip(".")
        port = int(port or 0)
        shown = f"{host}:{port}"
        if asked in {self.host.strip("[]").lower().rstrip("."), self.address.lower()}:
            if port != self.port and not self.any_port:
                raise PinRefused(shown, "another port than the one checked")
            reason = self.guard(self.address, port) if self.guard and port != self.port else None
            if reason is not None:
                raise PinRefused(shown, reason)
            return self.address
        if literal(asked) is None:
            raise PinRefused(shown, "a host name Datadock did not check (a redirect)")
        if self.guard is None:
            raise PinRefused(shown, "not the address Datadock checked")
        reason = self.guard(asked, port)
        if reason is not None:
            raise PinRefused(shown, reason)
        return asked


# --- asyncio drivers (python-oracledb's async thin mode) --------------------------------------


class PinnedLoop(asyncio.SelectorEventLoop):
    """An event loop whose create_connection goes only where its pin says."""

    def __init__(self, pin: Pin) -> None:
        super().__init__()
        self.pin = pin

    async def create_connection(
        self, protocol_factory: Any, host: Any = None, port: Any = None, **kwargs: Any
    ) -> Any:
        """Connect to the pinned address instead of `host` (TLS keeps the name)."""
        if host is None:  # an already connected socket: nothing to resolve
            return await super().create_connection(protocol_factory, host, port, **kwargs)
        address = self.pin.target(host, port)
        if kwargs.get("ssl") and not kwargs.get("server_hostname"):
            kwargs["server_hostname"] = host
        return await super().create_connection(protocol_factory, address, port, **kwargs)

    async def getaddrinfo(self, host: Any, port: Any, **kwargs: Any) -> Any:
        """Only the pinned name is "resolved", to the checked address."""
        return await super().getaddrinfo(self.pin.target(host, port), port, **kwargs)


# --- urllib3 drivers (the Databricks connector) ------------------------------------------------

_current: contextvars.ContextVar[Pin | None] = contextvars.ContextVar("datadock_pin", default=None)
_installed = threading.Lock()
_original: list[Any] = []


def _install_urllib3() -> None:
    """Wrap urllib3's create_connection once; without a pin in force it is unchanged."""
    from urllib3.util import connection

    with _installed:
        if _original:
            return
        _original.append(connection.create_connection)

        def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
            pin = _current.get()
            if pin is not None:
                address = (pin.target(address[0], address[1]), address[1])
            return _original[0](address, *args, **kwargs)

        connection.create_connection = create_connection


@contextlib.contextmanager
def pinned(pin: Pin) -> Iterator[None]:
    """Within this block (this thread or task), urllib3 connects only as `pin` says."""
    _install_urllib3()
    token = _current.set(pin)
    try:
        yield
    finally:
        _current.reset(token)


class PinnedClient:
    """A driver object whose every method call runs with the pin in force; a returned cursor
    is wrapped the same way, so later queries (sync, health) cannot reconnect elsewhere."""

    def __init__(self, inner: Any, pin: Pin) -> None:
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_pin", pin)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            with pinned(self._pin):
                result = value(*args, **kwargs)
            if hasattr(result, "execute") and hasattr(result, "fetchall"):
                return PinnedClient(result, self._pin)
            return result

        return call

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._inner, name, value)
