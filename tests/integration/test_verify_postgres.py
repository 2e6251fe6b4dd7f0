"""Verify against real throwaway PostgreSQL servers (scram-sha-256), on loopback only."""

from __future__ import annotations

import re
import time

import pytest

from tests.fixtures_app import csrf_token
from tests.servers import free_port
from webapp import sources as uc
from webapp.connect.errors import ConnectionFailed
from webapp.extensions import db
from webapp.models import Source

BAD_LOGIN = "Incorrect username or password"


def values(server, **changes):
    """Form-style input for the throwaway server, with `changes` applied."""
    raw = {
        "displayName": "Test DB",
        "dialect": "POSTGRES",
        "host": server.host,
        "port": server.port,
        "databaseName": server.database,
        "username": server.user,
        "password": server.password,
        "sslEnabled": True,
    }
    raw.update(changes)
    return raw


def failure(app, raw) -> ConnectionFailed:
    with app.app_context():
        started = time.monotonic()
        with pytest.raises(ConnectionFailed) as caught:
            uc.verify_input(raw)
        print(f"verify failed at {caught.value.step} in {time.monotonic() - started:.3f} s")
    return caught.value


def test_success_reports_version_and_round_trip(app, pg):
    with app.app_context():
        result = uc.verify_input(values(pg))
    assert result.server_version.startswith("PostgreSQL 1")
    assert result.elapsed_ms >= 0


def test_wrong_password(app, pg):
    error = failure(app, values(pg, password="not-the-password"))
    assert error.field_errors == {"username": BAD_LOGIN, "password": BAD_LOGIN}
    assert error.step == "auth"
    assert "not-the-password" not in error.detail


def test_unknown_user_looks_like_a_wrong_password(app, pg):
    error = failure(app, values(pg, username="nobody_here"))
    assert error.field_errors == {"username": BAD_LOGIN, "password": BAD_LOGIN}


def test_unknown_database(app, pg):
    error = failure(app, values(pg, databaseName="no_such_db"))
    assert error.field_errors == {"databaseName": "Database does not exist"}


def test_refused_port(app, pg):
    error = failure(app, values(pg, port=free_port()))
    assert error.field_errors == {"port": "Incorrect port"}
    assert "refused" in error.detail


def test_host_not_found(app, pg):
    error = failure(app, values(pg, host="db.nowhere.invalid"))
    assert error.field_errors == {"host": "Host not found"}


def test_unresponsive_host_names_the_host_and_the_firewall(app, silent_port):
    app.config["VERIFY_TIMEOUT"] = 2.0
    raw = {
        "displayName": "x",
        "dialect": "POSTGRES",
        "host": "127.0.0.1",
        "port": silent_port,
        "databaseName": "d",
        "username": "u",
        "password": "p",
        "sslEnabled": False,
    }
    error = failure(app, raw)
    # TCP connects (the listener accepts); the server never answers the login.
    steps = {s["name"]: s["status"] for s in error.steps}
    assert steps == {
        "fields": "ok",
        "dns": "ok",
        "tcp": "ok",
        "ssh": "skipped",
        "response": "failed",
        "tls": "not_run",
        "auth": "not_run",
        "database": "not_run",
        "catalog": "not_run",
    }
    assert f"127.0.0.1:{silent_port}" in error.detail
    assert "firewall" in error.detail and "outbound address" in error.detail
    assert "127.0.0.1" in error.field_errors["host"]


def test_ssl_required_but_the_server_has_none(app, pg_nossl):
    error = failure(app, values(pg_nossl, sslEnabled=True))
    assert error.field_errors == {"sslEnabled": "The server does not support SSL"}


def test_ssl_off_but_the_server_requires_it(app, pg_ssl_only):
    error = failure(app, values(pg_ssl_only, sslEnabled=False))
    assert error.field_errors == {"sslEnabled": "The server requires SSL"}


def test_ssl_off_against_a_server_without_ssl_connects(app, pg_nossl):
    with app.app_context():
        assert uc.verify_input(values(pg_nossl, sslEnabled=False)).server_version


def test_verify_partial_over_http_puts_the_error_under_password(admin, pg):
    token = csrf_token(admin, "/sources/new")
    raw = values(pg, password="wrong-password-here")
    raw["sslEnabled"] = "y"
    response = admin.post(
        "/sources/verify", headers={"HX-Request": "true"}, data={"csrf_token": token, **raw}
    )
    html = response.get_data(as_text=True)
    assert re.search(rf'id="password-error" hx-swap-oob="true">{BAD_LOGIN}<', html)
    assert re.search(rf'id="username-error" hx-swap-oob="true">{BAD_LOGIN}<', html)
    assert "Could not connect." in html
    assert "wrong-password-here" not in html

    raw["password"] = pg.password
    response = admin.post(
        "/sources/verify", headers={"HX-Request": "true"}, data={"csrf_token": token, **raw}
    )
    html = response.get_data(as_text=True)
    assert "Connection verified." in html and "PostgreSQL" in html
    assert pg.password not in html
    with admin.application.app_context():  # Verify stores nothing
        assert db.session.scalar(db.select(db.func.count()).select_from(Source)) == 0
