"""SSH tunnels: read the pasted key, shake hands, check the pinned host key, log in, forward.

Why two libraries. sshtunnel (the product's choice) opens its own paramiko session with fixed
timeouts (15 s banner, 30 s authentication) that cannot be lowered, and it reports a wrong key,
a rejected password, a bad host key and a closed port all as one vague error. So the session is
driven here with paramiko's Transport: every step is bounded by the verify's remaining deadline
and each failure names its field. The authenticated transport is then handed to sshtunnel's
forwarder, which serves the local end (127.0.0.1, a free port) the driver connects to.

Keys are read with `cryptography` (OpenSSH, PEM and PKCS#8; RSA, Ed25519, ECDSA), which tells a
missing passphrase, a wrong one and an unreadable key apart, then handed to paramiko.

Nothing secret is logged: failures are logged at INFO with the exception's class and a message
from which every secret value has been removed.
"""

from __future__ import annotations

import io
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paramiko
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from flask import current_app, has_app_context
from paramiko.common import OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
from sshtunnel import SSHTunnelForwarder

from ..core.failures import HOST_NOT_FOUND, redact, secret_texts, timeout_failure
from ..core.host_keys import HostKeyPin, PinInvalid, fingerprint, parse_pin
from ..core.refusal import ConnectionFailed

log = logging.getLogger(__name__)

# sshtunnel's chatter (its session is ours, so it has little to say) stays quiet, and so does
# paramiko's protocol log for our sessions: it logs an expected timeout as an ERROR traceback.
# Each failure is logged once, at INFO, by _Attempt.log.
_quiet = logging.getLogger(f"{__name__}.sshtunnel")
_quiet.setLevel(logging.WARNING)
PARAMIKO_LOG = f"{__name__}.paramiko"
logging.getLogger(PARAMIKO_LOG).setLevel(logging.CRITICAL)

KEEPALIVE_SECONDS = 30  # keeps long schema syncs' tunnels through NAT and idle firewalls
UNREADABLE_KEY = (
    "This is not a private key Datadock can read (RSA, Ed25519 or ECDSA, OpenSSH or PEM)"
)
SECRET_NAMES = ("sshPassword", "sshPrivateKey", "sshPrivateKeyPassphrase", "password")
_EC_CURVES = (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)


@dataclass
class Tunnel:
    """An open tunnel: connect to 127.0.0.1:`local_port` to reach the database host."""

    transport: paramiko.Transport
    forwarder: SSHTunnelForwarder

    @property
    def local_port(self) -> int:
        """The loopback port the forwarder listens on."""
        return int(self.forwarder.local_bind_port)

    def close(self) -> None:
        """Stop the forwarder's threads and the SSH session."""
        try:
            self.forwarder.stop(force=True)
        finally:
            _close(self.transport)


def _close(transport: paramiko.Transport) -> None:
    """Close the session and wait (briefly) for its thread, so none outlives a verify."""
    transport.close()
    if transport.is_alive() and transport is not threading.current_thread():
        transport.join(2)


class _Forwarder(SSHTunnelForwarder):
    """sshtunnel's forwarder over a session that is already open and authenticated."""

    def __init__(self, transport: paramiko.Transport, **kwargs: Any) -> None:
        self._session = transport
        super().__init__(**kwargs)

    def _connect_to_gateway(self) -> None:
        # sshtunnel would open a second session with its own unbounded timeouts: use ours.
        self._transport = self._session


@dataclass
class _Attempt:
    """One tunnel attempt: the deadline, the names shown in messages, what to scrub from logs."""

    values: dict[str, Any]
    deadline: float
    seconds: float
    secrets: list[str] = field(default_factory=list)

    @property
    def host(self) -> str:
        return str(self.values["sshHost"])

    @property
    def port(self) -> int:
        return int(self.values.get("sshPort") or 22)

    def left(self) -> float:
        """Seconds left before the deadline (a small floor, so calls never get 0)."""
        return max(self.deadline - time.monotonic(), 0.05)

    def expired(self) -> bool:
        return time.monotonic() >= self.deadline - 0.05

    def timeout(self) -> ConnectionFailed:
        return timeout_failure(
            self.host, self.port, self.seconds, _outbound(), "sshHost", behind="the SSH server"
        ).at_step("ssh")

    def log(self, stage: str, exc: BaseException) -> None:
        """The raw library error, for the server log only, with secret values removed."""
        log.info(
            "SSH tunnel via %s:%s failed at %s: %s: %s",
            self.host,
            self.port,
            stage,
            type(exc).__name__,
            redact(str(exc), self.secrets),
        )


def open_tunnel(
    values: dict[str, Any], ssh_address: str, db_host: str, db_port: int, timeout: float
) -> Tunnel:
    """Open a tunnel through the SSH server at `ssh_address` (already resolved and checked) to
    `db_host`:`db_port` as the SSH server sees it, within `timeout` seconds.

    Raises ConnectionFailed (step "ssh") naming the field at fault; nothing stays open then.
    """
    attempt = _Attempt(
        values, time.monotonic() + timeout, round(timeout, 1), secret_texts(values, SECRET_NAMES)
    )
    key = load_private_key(values, attempt) if values.get("sshPrivateKey") else None
    try:
        pin = parse_pin(values["sshHostKey"]) if values.get("sshHostKey") else None
    except PinInvalid as exc:  # the form refuses these; a value stored before a rule changed
        raise ConnectionFailed("ssh", str(exc), {"sshHostKey": str(exc)}) from None
    transport = _handshake(ssh_address, attempt, pin)
    try:
        _check_host_key(transport, pin)
        _authenticate(transport, key, attempt)
        _probe_route(transport, db_host, db_port, attempt)
        return _forward(transport, ssh_address, db_host, db_port, attempt, key)
    except ConnectionFailed:
        _close(transport)
        raise
    except Exception as exc:  # noqa: BLE001 - any library error becomes the tunnel's failure
        _close(transport)
        attempt.log("opening the tunnel", exc)
        raise ConnectionFailed(
            "ssh",
            "The SSH tunnel could not be opened. Details are in Datadock's server log.",
            {"sshHost": "The SSH tunnel could not be opened"},
        ) from None


def load_private_key(values: dict[str, Any], attempt: _Attempt | None = None) -> paramiko.PKey:
    """The pasted private key as a paramiko key, or ConnectionFailed on the field at fault."""
    lines = str(values["sshPrivateKey"]).replace("\r\n", "\n").strip().splitlines()
    data = ("\n".join(line.strip() for line in lines) + "\n").encode()
    passphrase = values.get("sshPrivateKeyPassphrase") or None
    if data.startswith((b"ssh-", b"ecdsa-", b"sk-")):
        raise ConnectionFailed(
            "ssh",
            "This is a public key (the .pub file): paste the private key instead.",
            {"sshPrivateKey": "This is a public key: paste the private key"},
        )
    loader: Callable[..., Any] = (
        serialization.load_ssh_private_key
        if b"BEGIN OPENSSH PRIVATE KEY" in data
        else serialization.load_pem_private_key
    )
    try:
        key = loader(data, password=None)
    except TypeError:  # encrypted: the passphrase is needed
        key = _decrypt(loader, data, passphrase)
    except (ValueError, UnsupportedAlgorithm) as exc:
        if attempt is not None:
            attempt.log("reading the private key", exc)
        raise _unreadable("The SSH private key could not be read.") from None
    try:
        return _to_paramiko(key)
    except (ValueError, paramiko.SSHException) as exc:
        if attempt is not None:
            attempt.log("reading the private key", exc)
        raise _unreadable("The SSH private key could not be read.") from None


def _decrypt(loader: Callable[..., Any], data: bytes, passphrase: str | None) -> Any:
    if passphrase is None:
        raise ConnectionFailed(
            "ssh",
            "The SSH private key is encrypted: enter its passphrase.",
            {"sshPrivateKeyPassphrase": "This key is encrypted: enter its passphrase"},
        )
    try:
        return loader(data, password=passphrase.encode())
    except (TypeError, ValueError):
        raise ConnectionFailed(
            "ssh",
            "The passphrase does not decrypt the SSH private key.",
            {"sshPrivateKeyPassphrase": "Incorrect passphrase"},
        ) from None


def _unreadable(detail: str) -> ConnectionFailed:
    return ConnectionFailed("ssh", detail, {"sshPrivateKey": UNREADABLE_KEY})


def _to_paramiko(key: Any) -> paramiko.PKey:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        cls: type[paramiko.PKey] = paramiko.Ed25519Key
    elif isinstance(key, rsa.RSAPrivateKey):
        cls = paramiko.RSAKey
    elif isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, _EC_CURVES):
        cls = paramiko.ECDSAKey
    else:
        kind = type(key).__name__.removeprefix("_").removesuffix("PrivateKey")
        raise _unreadable(
            f"SSH keys of type {kind} are not supported: use an RSA, Ed25519 or ECDSA key."
        )
    text = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    return cls.from_private_key(io.StringIO(text))


def _handshake(ssh_address: str, attempt: _Attempt, pin: HostKeyPin | None) -> paramiko.Transport:
    """TCP, SSH banner and key exchange, within the deadline."""
    try:
        sock = socket.create_connection((ssh_address, attempt.port), timeout=attempt.left())
    except TimeoutError:
        raise attempt.timeout() from None
    except OSError as exc:
        attempt.log("connect", exc)
        raise ConnectionFailed(
            "ssh",
            f"Could not open a connection to the SSH server {attempt.host}:{attempt.port}.",
            {"sshPort": "Could not connect to this port"},
        ) from None
    try:
        transport = paramiko.Transport(sock)
    except Exception:
        sock.close()
        raise
    transport.set_log_channel(PARAMIKO_LOG)
    transport.banner_timeout = transport.handshake_timeout = attempt.left()
    if pin is not None and pin.algorithms:
        transport.get_security_options().key_types = pin.algorithms
    transport.set_keepalive(KEEPALIVE_SECONDS)
    done = threading.Event()
    try:
        transport.start_client(event=done)
        while not done.wait(0.02):
            if not transport.is_active() or attempt.expired():
                break
    except Exception as exc:  # noqa: BLE001 - classified below, like a failure in the thread
        _close(transport)
        attempt.log("handshake", exc)
        raise _handshake_failure(exc, attempt, pin) from None
    if transport.is_active() and done.is_set():
        return transport
    error = transport.get_exception()
    _close(transport)
    if attempt.expired() or error is None:
        raise attempt.timeout()
    attempt.log("handshake", error)
    raise _handshake_failure(error, attempt, pin)


def _handshake_failure(
    exc: BaseException, attempt: _Attempt, pin: HostKeyPin | None
) -> ConnectionFailed:
    text = str(exc)
    if attempt.expired() or "timeout" in text.lower():
        return attempt.timeout()
    if (
        "protocol banner" in text
        or "Indecipherable protocol" in text
        or isinstance(exc, EOFError | ConnectionError)
    ):
        return ConnectionFailed(
            "ssh",
            f"{attempt.host}:{attempt.port} answered, but not as an SSH server. Check "
            "the SSH port (usually 22).",
            {"sshPort": "No SSH server answers on this port"},
        )
    if "no acceptable host key" in text and pin is not None:
        return ConnectionFailed(
            "ssh",
            f"The SSH server has no {pin.key_type} host key, the type of the pinned key.",
            {"sshHostKey": f"The server has no {pin.key_type} host key"},
        )
    return ConnectionFailed(
        "ssh",
        "The SSH handshake failed (no common algorithms, or the server closed the "
        "connection). Details are in Datadock's server log.",
        {"sshHost": "The SSH handshake failed"},
    )


def _check_host_key(transport: paramiko.Transport, pin: HostKeyPin | None) -> None:
    """Without a pin any host key is accepted; with one, a different key stops here, before any
    password or key signature is sent."""
    if pin is None:
        return
    key = transport.get_remote_server_key()
    presented = fingerprint(key.asbytes())
    if not pin.matches(key.asbytes()):
        raise ConnectionFailed(
            "ssh",
            f"The SSH server presented the host key {presented} ({key.get_name()}), "
            f"not the pinned {pin.fingerprint}. If the server's key changed on purpose, pin "
            "the new one; otherwise something may be impersonating the server.",
            {"sshHostKey": f"Host key mismatch: the server presented {presented}"},
        )


def _authenticate(
    transport: paramiko.Transport, key: paramiko.PKey | None, attempt: _Attempt
) -> None:
    """Log in with the key, then (if the key is refused or more is asked) the password."""
    user = str(attempt.values["sshUsername"])
    password = attempt.values.get("sshPassword") or None
    tried: list[str] = []
    refused: dict[str, str] = {}
    more: list[str] = []
    if key is not None:
        tried.append("sshPrivateKey")
        outcome = _try_auth(transport, attempt, lambda: transport.auth_publickey(user, key))
        if outcome == []:
            return
        if isinstance(outcome, list):
            more = outcome
        elif outcome == "bad type":
            refused["sshPrivateKey"] = "This SSH server does not accept keys: use a password"
    if password is not None:
        tried.append("sshPassword")
        outcome = _try_auth(transport, attempt, lambda: transport.auth_password(user, password))
        if outcome == []:
            return
        if outcome == "bad type":
            refused["sshPassword"] = "This SSH server does not accept passwords: paste a key"
    if more and not refused:
        raise ConnectionFailed(
            "ssh",
            "The SSH server accepted the key but asks for more ("
            f"{', '.join(more)}), which Datadock does not support.",
            {"sshUsername": "The SSH server asks for a second factor"},
        )
    if refused and len(refused) == len(tried):
        raise ConnectionFailed(
            "ssh", "The SSH server does not accept this way of logging in.", refused
        )
    what = " or ".join({"sshPrivateKey": "key", "sshPassword": "password"}[n] for n in tried)
    message = f"SSH server rejected this username or {what}"
    raise ConnectionFailed(
        "ssh",
        f"The SSH server rejected the username or {what}.",
        {"sshUsername": message, **{n: message for n in tried}},
    )


def _try_auth(
    transport: paramiko.Transport, attempt: _Attempt, call: Callable[[], list[str]]
) -> list[str] | str:
    """[] when logged in, the further methods asked for, "bad type" or "rejected"."""
    transport.auth_timeout = attempt.left()
    try:
        return list(call())
    except paramiko.BadAuthenticationType as exc:
        attempt.log("authentication", exc)
        return "bad type"
    except paramiko.AuthenticationException as exc:
        if attempt.expired() or "timeout" in str(exc).lower():
            raise attempt.timeout() from None
        attempt.log("authentication", exc)
        if not transport.is_active():
            raise ConnectionFailed(
                "ssh",
                "The SSH server closed the connection while logging in.",
                {"sshUsername": "The SSH server closed the connection"},
            ) from None
        return "rejected"
    except paramiko.SSHException as exc:
        attempt.log("authentication", exc)
        if attempt.expired():
            raise attempt.timeout() from None
        raise ConnectionFailed(
            "ssh",
            "The SSH server closed the connection while logging in.",
            {"sshUsername": "The SSH server closed the connection"},
        ) from None


def _probe_route(
    transport: paramiko.Transport, db_host: str, db_port: int, attempt: _Attempt
) -> None:
    """Ask the SSH server to connect to the database once, so an unreachable database is named
    here (the forwarder would only drop the driver's connection)."""
    where = f"{db_host}:{db_port}"
    try:
        channel = transport.open_channel(
            "direct-tcpip", (db_host, db_port), ("127.0.0.1", 0), timeout=attempt.left()
        )
    except paramiko.ChannelException as exc:
        attempt.log("opening the channel", exc)
        if exc.code == OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED:
            raise ConnectionFailed(
                "ssh",
                f"The SSH server does not allow tunnels to {where} for this user "
                "(AllowTcpForwarding or PermitOpen in its sshd_config).",
                {"host": "The SSH server does not allow tunnels to this host and port"},
            ) from None
        text = (exc.text or "").lower()
        if "not known" in text or "resolution" in text or "nodename" in text:
            raise ConnectionFailed(
                "ssh",
                f"The SSH server could not find the host {db_host}.",
                {"host": f"{HOST_NOT_FOUND} (as seen from the SSH server)"},
            ) from None
        message = "The SSH server could not connect to this host and port"
        raise ConnectionFailed(
            "ssh",
            f"The SSH server could not reach {where}: check the database's host and "
            "port as the SSH server sees them (127.0.0.1 is the SSH server itself).",
            {"host": message, "port": message},
        ) from None
    except paramiko.SSHException as exc:
        attempt.log("opening the channel", exc)
        if attempt.expired() or "timeout" in str(exc).lower():
            raise ConnectionFailed(
                "ssh",
                f"The SSH server got no answer from {where} within {attempt.seconds:g} s. "
                "Allow the SSH server's address in the database's firewall.",
                {"host": f"{db_host} did not answer the SSH server within {attempt.seconds:g} s"},
            ) from None
        raise
    channel.close()


def _forward(
    transport: paramiko.Transport,
    ssh_address: str,
    db_host: str,
    db_port: int,
    attempt: _Attempt,
    key: paramiko.PKey | None,
) -> Tunnel:
    """sshtunnel serves 127.0.0.1 on a free port, each connection a channel on our session."""
    # sshtunnel insists on a credential, but never uses it here (the session is logged in
    # already): the password is not handed to one more object.
    credentials = {"ssh_pkey": key} if key is not None else {"ssh_password": "(logged in)"}
    forwarder = _Forwarder(
        transport,
        ssh_address_or_host=(ssh_address, attempt.port),
        ssh_username=str(attempt.values["sshUsername"]),
        **credentials,
        remote_bind_address=(db_host, db_port),
        local_bind_address=("127.0.0.1", 0),
        allow_agent=False,
        host_pkey_directories=[],
        ssh_config_file=None,
        logger=_quiet,
        set_keepalive=KEEPALIVE_SECONDS,
        mute_exceptions=False,
    )
    try:
        forwarder.start()
    except Exception:
        forwarder.stop(force=True)
        raise
    return Tunnel(transport, forwarder)


def _outbound() -> str | None:
    return current_app.config.get("OUTBOUND_ADDRESS") if has_app_context() else None
