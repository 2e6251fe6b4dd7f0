"""Structured logs: every line carries the request id that the response's X-Request-Id shows."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from webapp import logs, request_ids


@pytest.fixture
def output(app) -> Iterator[io.StringIO]:
    """What the app's own log handler (stderr in production) writes, captured."""
    handler = next(
        h for h in logging.getLogger().handlers if getattr(h, "_datadock_handler", False)
    )
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)
    logs.configure("INFO", "text")


@pytest.fixture
def logging_route(app):
    """A view that logs a line and one that fails, registered before the first request."""
    log = logging.getLogger("webapp.test_route")

    def speak() -> str:
        log.warning("hello from a request")
        return "ok"

    def fail() -> str:
        raise RuntimeError("boom")

    app.add_url_rule("/_test/log", view_func=speak)
    app.add_url_rule("/_test/fail", view_func=fail)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.config["SETUP_DONE"] = True  # no first-run redirect for these two
    return app


def test_a_request_id_is_made_or_kept_and_echoed(client):
    made = client.get("/setup").headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert client.get("/setup").headers["X-Request-Id"] != made
    kept = client.get("/setup", headers={"X-Request-Id": "edge-7f3a.42:1"})
    assert kept.headers["X-Request-Id"] == "edge-7f3a.42:1"
    for bad in ("has space", "x" * 129, "tab\tinside", "-leading-dash", 'quo"te'):
        replaced = client.get("/setup", headers={"X-Request-Id": bad}).headers["X-Request-Id"]
        assert re.fullmatch(r"[0-9a-f]{32}", replaced), bad


def test_text_log_lines_carry_the_request_id(logging_route, output, caplog):
    client = logging_route.test_client()
    response = client.get("/_test/log", headers={"X-Request-Id": "trace-abc-123"})
    assert response.status_code == 200
    line = next(x for x in output.getvalue().splitlines() if "hello from a request" in x)
    assert "WARNING webapp.test_route request_id=trace-abc-123 hello from a request" in line
    # The id is on the record itself, so every handler (here pytest's) sees it.
    record = next(r for r in caplog.records if r.getMessage() == "hello from a request")
    assert record.request_id == "trace-abc-123"


def test_json_log_lines_carry_the_request_id_also_for_errors(logging_route, output):
    logs.configure("INFO", "json")
    client = logging_route.test_client()
    ok = client.get("/_test/log")
    failed = client.get("/_test/fail")
    assert failed.status_code == 500
    entries = [json.loads(x) for x in output.getvalue().splitlines() if x.startswith("{")]
    hello = next(e for e in entries if e["message"] == "hello from a request")
    assert hello["requestId"] == ok.headers["X-Request-Id"]
    assert hello["level"] == "WARNING" and hello["logger"] == "webapp.test_route"
    crash = next(e for e in entries if "RuntimeError: boom" in e.get("exc", ""))
    assert crash["requestId"] == failed.headers["X-Request-Id"]


def test_work_outside_a_request_can_be_named(output):
    log = logging.getLogger("webapp.test_job")
    with request_ids.bind("sync-42"):
        log.warning("inside a job")
    log.warning("after the job")
    lines = output.getvalue().splitlines()
    assert any("request_id=sync-42 inside a job" in x for x in lines)
    assert any("request_id=- after the job" in x for x in lines)


def test_the_log_format_is_checked_at_start(monkeypatch):
    from webapp.config import ConfigError

    monkeypatch.setenv("DATADOCK_LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="DATADOCK_LOG_FORMAT must be json or text"):
        logs.configure_from_env()
