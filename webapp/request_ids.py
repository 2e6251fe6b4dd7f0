"""One id per request: a valid incoming X-Request-Id is kept, else one is generated; it is put in
`g.request_id`, echoed in the response's X-Request-Id header and written on every log line
logged while the request runs (webapp/logs.py). Outside a request, `bind` names the work."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask, g, has_request_context, request
from werkzeug.wrappers import Response

HEADER = "X-Request-Id"
# What a client may send: short, printable, nothing a log line or a header could be split by.
_VALID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_bound: ContextVar[str | None] = ContextVar("datadock_request_id", default=None)


def new_id() -> str:
    """A fresh id (32 hex characters)."""
    return uuid.uuid4().hex


def current() -> str | None:
    """The id of the request being served, or the one bound by `bind`, or None."""
    if has_request_context():
        value = g.get("request_id")
        if value:
            return value
    return _bound.get()


@contextmanager
def bind(value: str) -> Iterator[str]:
    """Name work done outside a request (a job, a command) for the log lines it writes."""
    token = _bound.set(value)
    try:
        yield value
    finally:
        _bound.reset(token)


def init_app(app: Flask) -> None:
    """Assign the id before any other hook runs and echo it on every response."""

    def assign() -> None:
        incoming = request.headers.get(HEADER, "")
        g.request_id = incoming if _VALID.match(incoming) else new_id()

    def echo(response: Response) -> Response:
        response.headers[HEADER] = g.get("request_id") or new_id()
        return response

    # First in line: a hook that answers early (setup redirect, throttling) still has an id.
    app.before_request_funcs.setdefault(None, []).insert(0, assign)
    app.after_request(echo)
