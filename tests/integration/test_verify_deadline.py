"""Verify's cheaper path (issue 11): no separate TCP probe while things work, the TCP probe
after a failure, the deadline honoured to the fraction of a second Datadock was given (libpq
would floor it), and the audit event written after the answer, still written.

Real servers throughout (throwaway PostgreSQL and MariaDB, loopback listeners). The deadline
figures themselves are measured by tests/bench/bench_verify.py; here only generous upper
bounds are checked, never a tight timing.
"""

from __future__ import annotations

import socket
import time

import pytest

from tests.servers import free_port
from webapp import audit
from webapp import sources as uc
from webapp.connect.errors import ConnectionFailed
from webapp.connect.verify import BY_DRIVER
from webapp.extensions import db
from webapp.models import AuditEvent

STEPS = ["fields", "dns", "tcp", "ssh", "response", "tls", "auth", "database", "catalog"]


def pg_values(server, **changes):
    raw = {
        "displayName": "Deadline DB",
        "dialect": "POSTGRES",
        "host": server.host,
        "port": server.port,
        "databaseName": server.database,
        "username": server.user,
        "password": server.password,
        "sslEnabled": False,
    }
    return {**raw, **changes}


def failed(app, raw) -> tuple[ConnectionFailed, float]:
    with app.app_context():
        started = time.monotonic()
        with pytest.raises(ConnectionFailed) as caught:
            uc.verify_input(raw)
        return caught.value, time.monotonic() - started


def test_success_lists_every_step_and_tcp_as_opened_by_the_driver(app, pg):
    with app.app_context():
        result = uc.verify_input(pg_values(pg))
    assert [s["name"] for s in result.steps] == STEPS
    statuses = {s["name"]: s["status"] for s in result.steps}
    assert statuses == {
        "fields": "ok",
        "dns": "ok",
        "tcp": "ok",
        "ssh": "skipped",
        "response": "ok",
        "tls": "skipped",
        "auth": "ok",
        "database": "ok",
        "catalog": "ok",
    }
    tcp = next(s for s in result.steps if s["name"] == "tcp")
    assert tcp["detail"] == BY_DRIVER
    assert result.server_version.startswith("PostgreSQL ")


def test_a_refused_port_is_still_named_by_the_probe_after_the_failure(app, pg):
    error, _ = failed(app, pg_values(pg, port=free_port()))
    assert error.step == "tcp" and error.field_errors == {"port": "Incorrect port"}
    assert [s["status"] for s in error.steps][:3] == ["ok", "ok", "failed"]


@pytest.mark.parametrize("dialect", ["POSTGRES", "MARIADB"])
def test_a_fractional_deadline_is_honoured_against_a_silent_host(app, silent_port, dialect):
    """2.5 s: libpq alone would stop at 2 s (its connect_timeout is whole seconds)."""
    app.config["VERIFY_TIMEOUT"] = 2.5
    raw = {
        "displayName": "x",
        "dialect": dialect,
        "host": "127.0.0.1",
        "port": silent_port,
        "databaseName": "d",
        "username": "u",
        "password": "p",
        "sslEnabled": False,
    }
    error, took = failed(app, raw)
    statuses = {s["name"]: s["status"] for s in error.steps}
    # Accepted, never answered: the server's first answer failed, not the authentication.
    assert statuses["tcp"] == "ok" and statuses["response"] == "failed"
    assert statuses["auth"] == "not_run"
    assert "accepted the connection but never answered within 2.5 s" in error.detail
    assert "firewall" in error.detail
    assert error.field_errors == {
        "host": "127.0.0.1 accepted the connection but did not answer within 2.5 s"
    }
    assert took < 2.5 + 2  # generous: the bench measures the figure itself


def test_a_host_that_accepts_nothing_times_out_at_tcp(app):
    """A listener whose backlog is full: the kernel drops further SYNs, so TCP never opens."""
    app.config["VERIFY_TIMEOUT"] = 1.5
    with socket.socket() as full:
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        port = full.getsockname()[1]
        fillers = []
        try:
            for _ in range(8):  # fill the accept queue (never accepted)
                filler = socket.socket()
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))
                fillers.append(filler)
            raw = {
                "displayName": "x",
                "dialect": "POSTGRES",
                "host": "127.0.0.1",
                "port": port,
                "databaseName": "d",
                "username": "u",
                "password": "p",
                "sslEnabled": False,
            }
            error, took = failed(app, raw)
        finally:
            for filler in fillers:
                filler.close()
    assert error.step == "tcp"
    assert "Timed out after 1.5 s" in error.detail
    assert took < 1.5 + 2


def test_the_audit_event_is_recorded_after_the_answer(app, admin, pg):
    response = admin.post(
        "/sources/verify",
        headers={"HX-Request": "true"},
        data={
            **{k: str(v) for k, v in pg_values(pg).items() if k != "sslEnabled"},
            "csrf_token": _token(admin),
        },
    )
    assert "Connection verified." in response.get_data(as_text=True)
    with app.app_context():
        audit.settle()
        events = db.session.scalars(db.select(AuditEvent)).all()
    assert [(e.action, e.details["result"]) for e in events] == [("source.verified", "success")]
    assert events[0].actor_user_id is not None and events[0].ip_address == "127.0.0.1"


def _token(client) -> str:
    from tests.fixtures_app import csrf_token

    return csrf_token(client, "/sources/new")
