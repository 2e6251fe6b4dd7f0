"""SSH tunnel timings: verify through the tunnel against a bare paramiko + psycopg connection
through the same sshd, and the time to fail per SSH error.

Run with `make bench`. Prints figures and ratios measured in the same run; asserts nothing about
speed (speed is reported, never asserted).
"""

from __future__ import annotations

import socket
import statistics
import threading
import time

import paramiko
import psycopg

from tests.servers import free_port, silent_listener
from webapp import sources as uc
from webapp.connect.errors import ConnectionFailed

ROUNDS = 10


def _median_ms(fn, rounds: int = ROUNDS) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _bare(pg, sshd) -> None:
    """The least a tunnelled verify must do: SSH login, one forwarded connection, SELECT 1."""
    transport = paramiko.Transport(socket.create_connection((sshd.host, sshd.port), timeout=10))
    try:
        transport.start_client(timeout=10)
        transport.auth_password(sshd.user, sshd.password)
        listener = socket.create_server(("127.0.0.1", 0))
        port = listener.getsockname()[1]

        def pump() -> None:
            conn, _ = listener.accept()
            channel = transport.open_channel("direct-tcpip", (pg.host, pg.port), ("127.0.0.1", 0))
            for source, sink in ((conn, channel), (channel, conn)):
                threading.Thread(target=_copy, args=(source, sink), daemon=True).start()

        threading.Thread(target=pump, daemon=True).start()
        with psycopg.connect(
            host="127.0.0.1",
            port=port,
            dbname=pg.database,
            user=pg.user,
            password=pg.password,
            sslmode="require",
            connect_timeout=10,
        ) as c:
            c.execute("SELECT 1").fetchone()
        listener.close()
    finally:
        transport.close()


def _copy(source, sink) -> None:
    try:
        while data := source.recv(16384):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        sink.close()


def test_bench_ssh_tunnel(app, pg, sshd):
    app.config["VERIFY_TIMEOUT"] = 10.0
    base = {
        "displayName": "Bench",
        "dialect": "POSTGRES",
        "host": pg.host,
        "port": pg.port,
        "databaseName": pg.database,
        "username": pg.user,
        "password": pg.password,
        "sslEnabled": True,
        "sshEnabled": True,
        "sshHost": sshd.host,
        "sshPort": sshd.port,
        "sshUsername": sshd.user,
        "sshPassword": sshd.password,
    }

    def verify(**changes) -> ConnectionFailed | None:
        with app.app_context():
            try:
                uc.verify_input({**base, **changes})
            except ConnectionFailed as failure:
                return failure
        return None

    assert verify() is None
    baseline = _median_ms(lambda: _bare(pg, sshd))
    ours = _median_ms(verify)
    direct = _median_ms(lambda: verify(sshEnabled=False))
    print(
        f"\nssh verify, success: bare paramiko login + forwarded psycopg connect {baseline:.1f} "
        f"ms; Datadock verify through the tunnel {ours:.1f} ms; ratio {ours / baseline:.2f}x; "
        f"the same verify without the tunnel {direct:.1f} ms"
    )

    key = sshd.keys["ed25519-openssh-passphrase"]
    with_passphrase = _median_ms(
        lambda: verify(
            sshPassword="", sshPrivateKey=key.private, sshPrivateKeyPassphrase=key.passphrase
        ),
        5,
    )
    print(f"ssh verify, Ed25519 key with passphrase: {with_passphrase:.1f} ms")

    cases = {
        "wrong SSH password": {"sshPassword": "wrong"},
        "SSH port refused": {"sshPort": free_port()},
        "database port wrong behind the tunnel": {"port": free_port()},
        "wrong database password through the tunnel": {"password": "wrong"},
        "host-key pin mismatch": {"sshHostKey": "SHA256:" + "A" * 43},
    }
    for name, changes in cases.items():
        assert verify(**changes) is not None, name
        print(f"ssh verify, {name}: {_median_ms(lambda c=changes: verify(**c), 5):.1f} ms")

    app.config["VERIFY_TIMEOUT"] = 3.0
    with silent_listener() as (_, port):
        started = time.perf_counter()
        failure = verify(sshPort=port)
        print(
            f"ssh verify, unresponsive SSH host (timeout 3 s): "
            f"{time.perf_counter() - started:.2f} s"
        )
    assert failure is not None and "did not answer" in failure.field_errors["sshHost"]
