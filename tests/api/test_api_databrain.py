"""The DataBrain face, POST /api/v2/datasource, against the throwaway PostgreSQL and MariaDB:
DataBrain's documented example request unchanged (hosts pointed at the test servers), the
wait for the first schema sync, and each of DataBrain's error codes."""

from __future__ import annotations

import threading

import psycopg
import pytest

from tests.api.conftest import Api
from tests.polling import wait_until
from webapp import sources as uc
from webapp.api_keys import create_key
from webapp.extensions import db
from webapp.jobs import scheduler
from webapp.models import Organization, Source

URL = "/api/v2/datasource"


def documented_example(pg) -> dict:
    """DataBrain's postgres example, as its docs show it, with the test server's address."""
    return {
        "datasourceType": "postgres",
        "credentials": {
            "name": "My Postgres",
            "host": pg.host,
            "port": pg.port,
            "username": pg.user,
            "password": pg.password,
            "database": pg.database,
            "schema": "public",
            "sslMode": "require",
            "sshTunnel": "disable",
        },
    }


def post(api: Api, body=None, key: str | None = None, **kwargs):
    headers = {"Authorization": f"Bearer {key or api.key}"}
    if body is not None:
        kwargs["json"] = body
    return api.client.post(URL, headers=headers, **kwargs)


def source_named(app, name: str) -> Source | None:
    with app.app_context():
        return db.session.scalar(db.select(Source).filter_by(display_name=name))


def error_of(response) -> dict:
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"])
    return body["error"]


def test_documented_example_waits_for_the_schema_and_answers_the_name(app, api: Api, pg):
    app.config.update(SCHEDULER_TICK_SECONDS=0.2, HEALTH_INTERVAL=0)
    scheduler.start(app)
    response = post(api, documented_example(pg))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"name": "My Postgres"}
    assert response.headers["Cache-Control"] == "no-store"
    assert int(response.headers["X-RateLimit-Remaining"]) >= 0
    source = source_named(app, "My Postgres")
    # The schema was cached before the answer, as DataBrain documents.
    assert source.has_completed_first_sync and source.last_sync_status == "SUCCESS"
    assert source.include_schemas == "public" and source.settings["sslMode"] == "require"
    assert source.ssl_enabled is True and source.settings.get("sshEnabled") is False
    with app.app_context():
        tables, _ = uc.snapshot_tables(db.session.get(Source, source.id), limit=100)
    assert tables and {t.schema_name for t in tables} == {"public"}
    assert pg.password not in response.get_data(as_text=True)


def test_past_the_bound_it_answers_and_the_sync_goes_on(app, api: Api, pg):
    app.config["DATABRAIN_SCHEMA_WAIT_SECONDS"] = 0  # and no scheduler: the sync stays queued
    response = post(api, documented_example(pg))
    assert response.status_code == 200 and response.get_json() == {"name": "My Postgres"}
    assert source_named(app, "My Postgres").last_sync_status == "PENDING"


def test_mariadb_as_mysql_with_ssl_disabled(app, api: Api, mariadb):
    app.config["DATABRAIN_SCHEMA_WAIT_SECONDS"] = 0
    body = {
        "datasourceType": "mysql",
        "credentials": {
            "name": "Shop",
            "host": mariadb.host,
            "port": mariadb.port,
            "username": mariadb.user,
            "password": mariadb.password,
            "database": mariadb.database,
            "sslMode": "disable",
        },
    }
    response = post(api, body)
    assert response.status_code == 200, response.get_data(as_text=True)
    source = source_named(app, "Shop")
    assert source.dialect == "MYSQL" and source.ssl_enabled is False


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"credentials": {"name": "x"}}, "datasourceType", "Required"),
        (
            {"datasourceType": "mongodb", "credentials": {"name": "x"}},
            "datasourceType",
            "supported: postgres, redshift, mysql",
        ),
        ({"datasourceType": "postgres"}, "credentials", "Required"),
        ({"datasourceType": "postgres", "credentials": "host=x"}, "credentials", "Required"),
        (
            {"datasourceType": "postgres", "credentials": {"host": "db.example"}},
            "credentials.name",
            "Required",
        ),
        (
            {"datasourceType": "postgres", "credentials": {"name": "x", "hostname": "h"}},
            "credentials.hostname",
            "Unknown field for postgres",
        ),
        (
            {"datasourceType": "postgres", "credentials": {"name": "x", "sshTunnel": "yes"}},
            "credentials.sshTunnel",
            '"enable" or "disable"',
        ),
        (
            {"datasourceType": "postgres", "credentials": {"name": "x", "port": "5432"}},
            "credentials.port",
            "whole number",
        ),
        (
            {
                "datasourceType": "snowflake",
                "credentials": {
                    "name": "x",
                    "host": "acme.snowflakecomputing.com",
                    "username": "u",
                    "database": "d",
                    "credentials": "Key-pair authentication",
                },
            },
            "credentials.privateKey",
            "Required with Key-pair",
        ),
        (
            {"datasourceType": "postgres", "credentials": {"name": "x"}, "extra": 1},
            "extra",
            "Unknown",
        ),
    ],
)
def test_invalid_request_body(api: Api, body, field, words):
    response = post(api, body)
    error = error_of(response)
    assert response.status_code == 400 and error["code"] == "INVALID_REQUEST_BODY"
    assert words in error["fieldErrors"][field], error


def test_missing_fields_are_named_by_databrain(api: Api):
    response = post(api, {"datasourceType": "postgres", "credentials": {"name": "Bare"}})
    error = error_of(response)
    assert response.status_code == 400 and error["code"] == "INVALID_REQUEST_BODY"
    assert {
        "credentials.host",
        "credentials.database",
        "credentials.username",
    } <= set(error["fieldErrors"])
    # PostgreSQL takes a login without a password (trust auth), so it is not a missing field
    assert "credentials.password" not in error["fieldErrors"]


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b""])
def test_a_body_that_is_not_an_object(api: Api, raw):
    response = post(api, data=raw, content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "INVALID_REQUEST_BODY"


def test_name_exists(app, api: Api, pg):
    app.config["DATABRAIN_SCHEMA_WAIT_SECONDS"] = 0
    assert post(api, documented_example(pg)).status_code == 200
    again = documented_example(pg)
    again["credentials"]["name"] = "MY POSTGRES"
    response = post(api, again)
    error = error_of(response)
    assert response.status_code == 400 and error["code"] == "DATASOURCE_NAME_ERROR"
    assert error["fieldErrors"] == {"credentials.name": "This name is already used"}


def test_credential_test_failed_stores_nothing(app, api: Api, pg):
    body = documented_example(pg)
    body["credentials"]["password"] = "not the password"
    response = post(api, body)
    error = error_of(response)
    assert response.status_code == 400 and error["code"] == "CREDENTIAL_TEST_FAILED"
    assert error["fieldErrors"] == {
        "credentials.username": "Incorrect username or password",
        "credentials.password": "Incorrect username or password",
    }
    assert "not the password" not in response.get_data(as_text=True)
    assert source_named(app, "My Postgres") is None
    body["credentials"].update(password=pg.password, database="nope")
    missing = error_of(post(api, body))
    assert missing["fieldErrors"] == {"credentials.database": "Database does not exist"}


def test_authentication_error(app, api: Api, pg):
    for headers in ({}, {"Authorization": "Bearer ddk_not_a_key"}, {"Authorization": "Basic x"}):
        response = api.client.post(URL, json=documented_example(pg), headers=headers)
        assert response.status_code == 401
        assert error_of(response)["code"] == "AUTHENTICATION_ERROR"
    with app.app_context():
        org = db.session.get(Organization, api.org_id)
        _, read_key = create_key(org, "reader", scope="read")
    response = post(api, documented_example(pg), key=read_key)
    assert response.status_code == 403
    assert "needs a write key" in error_of(response)["message"]
    assert source_named(app, "My Postgres") is None


def test_schema_cache_failed_keeps_the_source_and_says_why(app, api: Api, pg):
    """The login works for the connection test, then the password changes on the server
    before the first sync runs: the sync fails, the answer says so, the source is kept."""
    role, password = "databrain_flaky", "flaky-password-1"
    with psycopg.connect(pg.superuser_dsn(), autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {role}")
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    app.config["DATABRAIN_SCHEMA_WAIT_SECONDS"] = 60
    app.config.update(SCHEDULER_TICK_SECONDS=0.2, HEALTH_INTERVAL=0)
    body = documented_example(pg)
    body["credentials"].update(username=role, password=password)

    def break_login_then_run_jobs() -> None:
        wait_until(lambda: source_named(app, "My Postgres") is not None, timeout=60)
        with psycopg.connect(pg.superuser_dsn(), autocommit=True) as conn:
            conn.execute(f"ALTER ROLE {role} PASSWORD 'rotated-password-2'")
        scheduler.start(app)

    helper = threading.Thread(target=break_login_then_run_jobs)
    helper.start()
    try:
        response = post(api, body)
    finally:
        helper.join()
        with psycopg.connect(pg.superuser_dsn(), autocommit=True) as conn:
            conn.execute(f"DROP ROLE IF EXISTS {role}")
    error = error_of(response)
    assert response.status_code == 500 and error["code"] == "SCHEMA_CACHE_FAILED"
    assert "rejected the username or password" in error["message"]
    assert "rotated-password-2" not in response.get_data(as_text=True)
    source = source_named(app, "My Postgres")
    assert source is not None and source.last_sync_status == "FAILED"


def test_create_datasource_failed_hides_the_internals(app, api: Api, pg, monkeypatch):
    """A stand-in for a store that breaks mid-create (nothing real fails that way here)."""

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire /secret/path")

    monkeypatch.setattr(uc, "create_source", broken)
    response = post(api, documented_example(pg))
    error = error_of(response)
    assert response.status_code == 500 and error["code"] == "CREATE_DATASOURCE_FAILED"
    assert "disk on fire" not in response.get_data(as_text=True)


def test_unknown_paths_and_methods_answer_in_databrain_shape(api: Api):
    get = api.client.get(URL, headers={"Authorization": f"Bearer {api.key}"})
    assert get.status_code == 405 and error_of(get)["code"] == "INVALID_REQUEST"
    nowhere = api.client.get("/api/v2/nowhere")
    assert nowhere.status_code == 404 and error_of(nowhere)


def test_ssh_tunnel_with_a_private_key_through_the_real_sshd(app, api: Api, pg, sshd):
    app.config["DATABRAIN_SCHEMA_WAIT_SECONDS"] = 0
    body = documented_example(pg)
    key = sshd.keys["ed25519-openssh"]
    body["credentials"].update(
        sshTunnel="enable",
        sshHost=sshd.host,
        sshPort=sshd.port,
        sshUsername=sshd.user,
        sshPrivateKey=key.private,
    )
    before = sshd.log_path.read_text().count("Accepted publickey")
    response = post(api, body)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert sshd.log_path.read_text().count("Accepted publickey") == before + 1
    source = source_named(app, "My Postgres")
    assert source.settings["sshEnabled"] is True and source.settings["sshHost"] == sshd.host
    assert key.private not in response.get_data(as_text=True)
