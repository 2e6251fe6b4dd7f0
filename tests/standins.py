"""Loopback HTTP(S) stand-ins for cloud services that cannot run here (Snowflake, PostHog,
ClickHouse Cloud, a Trino coordinator): they answer one canned response in the service's
documented shape, so the real driver's own parsing and error classes are exercised."""

from __future__ import annotations

import contextlib
import json
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

Reply = tuple[int, dict[str, str], bytes]


@dataclass
class Standin:
    """A running stand-in: where it listens and what it was asked."""

    port: int
    requests: list[dict[str, Any]] = field(default_factory=list)


def json_reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    """A JSON answer."""
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


@contextlib.contextmanager
def http_standin(
    answer: Callable[[str, str, bytes], Reply], tls: tuple[Path, Path] | None = None
) -> Iterator[Standin]:
    """Serve `answer(method, path, body)` on 127.0.0.1; with `tls` = (cert, key), over HTTPS."""
    record: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _reply(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            record.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": body,
                }
            )
            status, headers, data = answer(self.command, self.path, body)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _reply

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(tls[0]), str(tls[1]))
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Standin(server.server_address[1], record)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=2)
