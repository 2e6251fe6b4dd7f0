"""Issue 14, bug 10: a host that accepts the TCP connection and never answers is named at the
step where it hangs, the server's first answer ("Server response"), not at Authentication;
with SSL on or off, for PostgreSQL (libpq waits for the reply to its startup or SSL request)
and MariaDB (PyMySQL waits for the server's greeting). The verify partial lists the passed
steps as passed, outside the red banner.

A real loopback listener that accepts and never answers (tests/servers.py), real drivers; no
timing is asserted (the deadline's figures belong to tests/bench).
"""

from __future__ import annotations

import re

import pytest

from tests.fixtures_app import csrf_token
from webapp import sources as uc
from webapp.connect.errors import ConnectionFailed

DEADLINE = 1.0


def silent(dialect: str, port: int, ssl: bool) -> dict:
    return {
        "displayName": "Silent",
        "dialect": dialect,
        "host": "127.0.0.1",
        "port": port,
        "databaseName": "d",
        "username": "u",
        "password": "p",
        "sslEnabled": ssl,
    }


@pytest.mark.parametrize("ssl", [False, True], ids=["ssl-off", "ssl-on"])
@pytest.mark.parametrize("dialect", ["POSTGRES", "MARIADB"])
def test_a_silent_host_fails_at_the_server_response_not_authentication(
    app, silent_port, dialect, ssl
):
    app.config["VERIFY_TIMEOUT"] = DEADLINE
    with app.app_context(), pytest.raises(ConnectionFailed) as caught:
        uc.verify_input(silent(dialect, silent_port, ssl))
    error = caught.value
    steps = {s["name"]: s["status"] for s in error.steps}
    assert error.step == "response"
    assert steps["dns"] == steps["tcp"] == "ok"  # the listener accepted
    assert steps["response"] == "failed"
    assert steps["auth"] == steps["database"] == steps["catalog"] == "not_run"
    assert steps["tls"] == "not_run"  # never reached, on or off
    assert f"127.0.0.1:{silent_port} accepted the connection but never answered within 1 s" in (
        error.detail
    )
    assert error.field_errors == {
        "host": "127.0.0.1 accepted the connection but did not answer within 1 s"
    }


def test_the_verify_partial_shows_passed_steps_as_passed_outside_the_banner(
    app, admin, silent_port
):
    app.config["VERIFY_TIMEOUT"] = DEADLINE
    token = csrf_token(admin, "/sources/new")
    form = {
        k: str(v) for k, v in silent("MARIADB", silent_port, False).items() if k != "sslEnabled"
    }
    html = admin.post(
        "/sources/verify",
        headers={"HX-Request": "true"},
        data={"csrf_token": token, "fieldsetDialect": "MARIADB", **form},
    ).get_data(as_text=True)
    banner = re.search(r'<div class="banner error">(.*?)</div>', html, re.S)
    assert banner and "accepted the connection but never answered" in banner.group(1)
    assert "<ol" not in banner.group(1)  # the checklist is not inside the red banner
    listed = re.findall(r'<li class="([\w ]+)" data-step="(\w+)"', html)
    by_step = {step: cls for cls, step in listed}
    assert by_step["dns"] == by_step["tcp"] == "ok passed"
    assert by_step["response"] == "failed"
    assert by_step["auth"] == "not_run"
    assert re.search(r'data-step="response">.*?Server response', html)
