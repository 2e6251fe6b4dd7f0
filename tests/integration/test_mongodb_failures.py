"""MongoDB's verify on real failure paths, on loopback only.

No MongoDB server can be installed here, so none is run: what is real is pymongo itself, the
ladder's DNS/TCP steps and egress check, and loopback listeners standing in for the failures
(nothing listening, a host that accepts and never answers, a requireTLS server that hangs up
on plain text, a TLS server whose certificate Datadock does not trust), and a stand-in that
speaks the wire protocol (OP_QUERY/OP_MSG with real BSON) for a verify and a schema read.
Every address is 127.0.0.1, `localhost` or a `.invalid` name.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Iterator

import pytest

from tests.extras import needs_driver
from tests.servers import _certificates, free_port, server_dir
from webapp import sources as uc
from webapp.connect.errors import ConnectionFailed

pytestmark = needs_driver("MONGODB")
TIMEOUT = 2.0


def raw(**changes) -> dict:
    values = {
        "displayName": "m",
        "dialect": "MONGODB",
        "host": "127.0.0.1",
        "port": 27017,
        "databaseName": "app",
        "username": "reader",
        "password": "pw-never-shown",
        "sslEnabled": False,
    }
    values.update(changes)
    return values


def failure(app, values) -> tuple[ConnectionFailed, float]:
    app.config["VERIFY_TIMEOUT"] = TIMEOUT
    with app.app_context():
        started = time.monotonic()
        with pytest.raises(ConnectionFailed) as caught:
            uc.verify_input(values)
    return caught.value, time.monotonic() - started


def statuses(error: ConnectionFailed) -> dict[str, str]:
    return {s["name"]: s["status"] for s in error.steps}


@contextlib.contextmanager
def listener(handle) -> Iterator[int]:
    """A loopback listener running `handle(connection)` for each client."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=2)
        server.close()


def hang_up_on_plain_text(conn: socket.socket) -> None:
    """What mongod with requireTLS does with a plain hello: reads it and closes."""
    with conn:
        conn.settimeout(2)
        with contextlib.suppress(OSError):
            conn.recv(4096)


def test_a_name_that_does_not_exist_is_host_not_found(quick_app):
    error, _ = failure(quick_app, raw(host="mongo.example.invalid"))
    assert error.field_errors == {"host": "Host not found"}
    assert statuses(error)["dns"] == "failed"


def test_a_refused_port_is_incorrect_port(quick_app):
    error, _ = failure(quick_app, raw(port=free_port()))
    assert error.field_errors == {"port": "Incorrect port"}
    assert statuses(error)["tcp"] == "failed"


def test_a_silent_host_costs_one_deadline_and_names_the_host(quick_app, silent_port):
    """serverSelectionTimeoutMS/connectTimeoutMS/socketTimeoutMS all hold the deadline."""
    error, elapsed = failure(quick_app, raw(port=silent_port))
    assert statuses(error)["tcp"] == "ok"
    assert list(error.field_errors) == ["host"]
    assert "did not answer" in error.field_errors["host"]
    assert elapsed < 2 * TIMEOUT + 1.5


def test_a_server_requiring_tls_says_turn_ssl_on(quick_app):
    with listener(hang_up_on_plain_text) as port:
        error, _ = failure(quick_app, raw(port=port))
    assert error.field_errors == {"sslEnabled": "The server may require SSL"}
    assert "pw-never-shown" not in error.detail


def test_tls_goes_to_the_checked_address_with_the_typed_name_and_checks_the_certificate(quick_app):
    """The socket goes to 127.0.0.1 (the checked address) but the TLS server name is the
    host typed (localhost); without the private CA the certificate is refused."""
    names: list[str | None] = []
    with server_dir("mongotls") as folder:
        ca, cert, key = _certificates(folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cert), str(key))
        context.sni_callback = lambda sock, name, ctx: names.append(name)

        def tls_then_hang_up(conn: socket.socket) -> None:
            with conn, contextlib.suppress(OSError):
                conn.settimeout(2)
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(4096)

        with listener(tls_then_hang_up) as port:
            untrusted, _ = failure(quick_app, raw(host="localhost", port=port, sslEnabled=True))
            trusted, _ = failure(
                quick_app,
                raw(
                    host="localhost", port=port, sslEnabled=True, sslRootCertificate=ca.read_text()
                ),
            )
    assert untrusted.step == "tls"
    assert untrusted.field_errors == {"sslMode": "Certificate not trusted"}
    assert names and set(names) == {"localhost"}
    # With the CA the handshake passes (name checked); the stand-in then hangs up.
    assert trusted.step != "tls"
    assert trusted.field_errors == {"port": "No MongoDB server on this port"}


def test_tls_on_against_a_plain_server_is_a_handshake_failure(quick_app):
    def answer_plain(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(2)
            conn.recv(4096)
            conn.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")

    with listener(answer_plain) as port:
        error, _ = failure(quick_app, raw(port=port, sslEnabled=True, sslMode="require"))
    assert error.field_errors == {"sslEnabled": "TLS handshake failed"}


def test_srv_strings_are_refused_with_the_reason(quick_app):
    with quick_app.app_context(), pytest.raises(Exception) as caught:
        uc.verify_input(
            {
                "displayName": "m",
                "dialect": "MONGODB",
                "connectionString": "mongodb+srv://u:p@cluster0.example.invalid/app",
            }
        )
    fields = getattr(caught.value, "field_errors", {})
    assert any("mongodb+srv" in message for message in fields.values()), fields


# --- A MongoDB wire-protocol stand-in: the real pymongo handshake, commands and BSON ----------


def _wire_standin_handler(collections: dict[str, list[dict]], seen: list[str]):
    """Answer OP_QUERY hello and OP_MSG commands (hello, buildInfo, listCollections, aggregate,
    ping, endSessions) the way a MongoDB 7.0 standalone without authentication does."""
    import datetime as dt
    import struct

    import bson
    from bson import Int64

    def hello() -> dict:
        return {
            "ismaster": True,
            "isWritablePrimary": True,
            "helloOk": True,
            "maxBsonObjectSize": 16777216,
            "maxMessageSizeBytes": 48000000,
            "maxWriteBatchSize": 100000,
            "localTime": dt.datetime.now(dt.UTC),
            "logicalSessionTimeoutMinutes": 30,
            "connectionId": 1,
            "minWireVersion": 0,
            "maxWireVersion": 21,
            "readOnly": False,
            "ok": 1.0,
        }

    def answer(command: dict) -> dict:
        name = next(iter(command)).lower()
        seen.append(name)
        database = command.get("$db", "admin")
        if name in ("hello", "ismaster"):
            return hello()
        if name == "buildinfo":
            return {"version": "7.0.12", "ok": 1.0}
        if name == "listcollections":
            batch = [
                {"name": n, "type": "collection", "options": {}, "info": {}} for n in collections
            ]
            return {
                "cursor": {
                    "id": Int64(0),
                    "ns": f"{database}.$cmd.listCollections",
                    "firstBatch": batch,
                },
                "ok": 1.0,
            }
        if name == "aggregate":
            docs = collections[command["aggregate"]]
            size = command["pipeline"][0]["$sample"]["size"]
            return {
                "cursor": {
                    "id": Int64(0),
                    "ns": f"{database}.{command['aggregate']}",
                    "firstBatch": docs[:size],
                },
                "ok": 1.0,
            }
        return {"ok": 1.0}

    def read(conn: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise ConnectionError
            data += chunk
        return data

    def handle(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError, ConnectionError):
            conn.settimeout(5)
            while True:
                length, request_id, _, opcode = struct.unpack("<iiii", read(conn, 16))
                body = read(conn, length - 16)
                if opcode == 2004:  # OP_QUERY: the first hello
                    name_end = body.index(b"\x00", 4)
                    command = bson.decode(
                        body[name_end + 9 :][
                            : struct.unpack("<i", body[name_end + 9 : name_end + 13])[0]
                        ]
                    )
                    doc = bson.encode(answer(command))
                    payload = struct.pack("<iqii", 0, 0, 0, 1) + doc
                    reply_op = 1
                else:  # OP_MSG: flags, then a kind-0 section with the command
                    command = bson.decode(body[5 : 5 + struct.unpack("<i", body[5:9])[0]])
                    payload = struct.pack("<I", 0) + b"\x00" + bson.encode(answer(command))
                    reply_op = 2013
                conn.sendall(
                    struct.pack("<iiii", 16 + len(payload), request_id + 1000, request_id, reply_op)
                    + payload
                )

    return handle


def test_verify_and_introspect_against_a_wire_protocol_standin(quick_app):
    """No MongoDB server can be installed here: a loopback stand-in speaks the wire protocol
    (OP_QUERY/OP_MSG with real BSON), so pymongo's own handshake, command and cursor code
    run; verify names the version, introspection reads the sampled documents' fields."""
    from bson import ObjectId

    from webapp.dialects import get_dialect
    from webapp.dialects.base import Target

    seen: list[str] = []
    collections = {
        "orders": [
            {"_id": ObjectId(), "total": 9.5, "tags": ["a"]},
            {"_id": ObjectId(), "total": 3, "note": None},
        ],
        "users": [{"_id": ObjectId(), "email": "a@example.com"}],
    }
    values = raw(username="", password="", databaseName="shop")
    with listener(_wire_standin_handler(collections, seen)) as port:
        quick_app.config["VERIFY_TIMEOUT"] = 5.0
        with quick_app.app_context():
            result = uc.verify_input({**values, "host": "localhost", "port": port})
        dialect = get_dialect("MONGODB")
        connection = dialect.connect(
            Target({**values, "port": port, "sampleSize": 100}, "127.0.0.1", 5.0, port)
        )
        try:
            tables = list(dialect.introspect(connection))
        finally:
            connection.close()
    assert result.server_version == "MongoDB 7.0.12"
    assert {"buildinfo", "listcollections"} <= set(seen)
    assert [(t.schema, t.name) for t in tables] == [("shop", "orders"), ("shop", "users")]
    orders = {c["name"]: (c["type"], c["occurrence"]) for c in tables[0].columns}
    assert orders == {
        "_id": ("objectId", 1.0),
        "total": ("double|int", 1.0),
        "tags": ("array", 0.5),
        "note": ("null", 0.5),
    }
