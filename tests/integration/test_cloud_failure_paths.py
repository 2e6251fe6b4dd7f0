"""Cloud and optional-driver dialects on real failure paths, on loopback only.

No vendor server runs here (SQL Server, Oracle, ClickHouse, Trino, Databricks, PostHog,
Snowflake): every address below is 127.0.0.1 or a `.invalid` name. What is real: the installed
drivers, Datadock's DNS/TCP probes, the deadline against a listener that never answers, and
the drivers' own response parsing against loopback stand-ins that answer in the vendor's
documented shape (tests/standins.py).
"""

from __future__ import annotations

import time

import pytest

from tests.extras import dialect_params, needs_driver
from tests.servers import free_port, server_dir
from tests.standins import http_standin, json_reply
from webapp import sources as uc
from webapp.connect.errors import ConnectionFailed
from webapp.dialects import get_dialect
from webapp.dialects.base import Target

TIMEOUT = 2.0

HOSTED = {
    "SQL_SERVER": {
        "port": 1433,
        "databaseName": "master",
        "username": "sa",
        "password": "pw",
        "sslEnabled": False,
    },
    "ORACLE": {
        "port": 1521,
        "databaseName": "FREEPDB1",
        "username": "app",
        "password": "pw",
        "sslEnabled": False,
    },
    "CLICKHOUSE": {
        "port": 8123,
        "databaseName": "default",
        "username": "default",
        "password": "pw",
        "sslEnabled": False,
    },
    "TRINO": {"port": 8080, "databaseName": "hive", "username": "app", "sslEnabled": False},
    "DATABRICKS": {
        "port": 443,
        "databricksHttpPath": "/sql/1.0/warehouses/1234567890abcdef",
        "password": "dapi0123456789abcdef0123456789abcdef",
    },
    "POSTHOG": {
        "port": 443,
        "posthogProjectId": "12345",
        "password": "phx_abc",
        "sslEnabled": False,
    },
}


def raw(dialect: str, **changes) -> dict:
    values = {
        "displayName": "x",
        "dialect": dialect,
        "host": "127.0.0.1",
        **HOSTED.get(dialect, {}),
    }
    values.update(changes)
    return values


def failure(app, values) -> tuple[ConnectionFailed, float]:
    app.config["VERIFY_TIMEOUT"] = TIMEOUT
    with app.app_context():
        started = time.monotonic()
        with pytest.raises(ConnectionFailed) as caught:
            uc.verify_input(values)
        elapsed = time.monotonic() - started
    print(f"{values['dialect']} failed at {caught.value.step} in {elapsed:.2f} s")
    return caught.value, elapsed


def statuses(error: ConnectionFailed) -> dict[str, str]:
    return {s["name"]: s["status"] for s in error.steps}


@pytest.mark.parametrize("dialect", dialect_params(sorted(HOSTED)))
def test_a_name_that_does_not_exist_is_host_not_found(quick_app, dialect):
    error, _ = failure(quick_app, raw(dialect, host="warehouse.example.invalid"))
    assert error.field_errors == {"host": "Host not found"}
    assert statuses(error)["dns"] == "failed"


@pytest.mark.parametrize("dialect", dialect_params(sorted(HOSTED)))
def test_a_refused_port_is_incorrect_port(quick_app, dialect):
    error, _ = failure(quick_app, raw(dialect, port=free_port()))
    assert error.field_errors == {"port": "Incorrect port"}
    steps = statuses(error)
    assert steps["dns"] == "ok" and steps["tcp"] == "failed"


@pytest.mark.parametrize("dialect", dialect_params(sorted(HOSTED)))
def test_a_silent_server_costs_one_deadline_and_names_the_firewall(quick_app, dialect, silent_port):
    """The real driver against a listener that accepts and never answers: its own deadline
    (or Datadock's around it) holds, and the error is the host's, with the firewall hint."""
    error, elapsed = failure(quick_app, raw(dialect, port=silent_port))
    steps = statuses(error)
    assert steps["tcp"] == "ok"
    assert "firewall" in error.detail and "outbound address" in error.detail
    assert list(error.field_errors) == ["host"]
    assert "did not answer" in error.field_errors["host"]
    # A deadline that did not hold shows as several deadlines (FreeTDS without a fixed TDS
    # version retried for 9 s against a 2 s deadline).
    assert elapsed < 2 * TIMEOUT + 1.5


@needs_driver("ORACLE")
def test_oracle_deadline_holds_with_an_event_loop_running_in_the_caller(quick_app, silent_port):
    """Oracle's asyncio driver runs on its own loop thread, so a caller that already runs a
    loop in its thread (an async worker, Playwright's sync API) does not break it."""
    import asyncio
    import threading

    outcome = {}

    async def caller():
        outcome["error"], _ = failure(quick_app, raw("ORACLE", port=silent_port))

    # A thread of its own: the test runner's thread may already run a loop (Playwright's).
    thread = threading.Thread(target=lambda: asyncio.run(caller()))
    thread.start()
    thread.join(timeout=30)
    assert "did not answer" in outcome["error"].field_errors["host"]


# --- Real drivers, stand-in servers that answer like the vendor's -------------------------------


def clickhouse_error(code: int, name: str):
    body = f"Code: {code}. DB::Exception: {name}. ({name}) (version 24.8.4.13)\n".encode()
    return lambda method, path, body_in: (
        403 if code == 516 else 404,
        {"X-ClickHouse-Exception-Code": str(code)},
        body,
    )


@pytest.mark.parametrize(
    "code, name, field, message",
    [
        (516, "AUTHENTICATION_FAILED", "password", "Incorrect username or password"),
        (81, "UNKNOWN_DATABASE", "databaseName", "Database does not exist"),
    ],
)
@needs_driver("CLICKHOUSE")
def test_clickhouse_http_errors_reach_the_right_field(quick_app, code, name, field, message):
    with http_standin(clickhouse_error(code, name)) as standin:
        error, _ = failure(quick_app, raw("CLICKHOUSE", port=standin.port))
    assert error.field_errors[field] == message
    assert "Code:" not in error.detail  # the server's text stays in the log


@needs_driver("TRINO")
def test_trino_401_is_a_bad_login_and_the_request_is_pinned(quick_app):
    with http_standin(lambda m, p, b: (401, {"WWW-Authenticate": "Basic"}, b"")) as standin:
        error, _ = failure(quick_app, raw("TRINO", host="localhost", port=standin.port))
    assert error.field_errors == {
        "username": "Incorrect username or password",
        "password": "Incorrect username or password",
    }
    first = standin.requests[0]
    # Sent to the address Datadock checked, but named as the user typed it.
    assert first["headers"]["Host"] == f"localhost:{standin.port}"
    assert first["headers"]["X-Trino-Catalog"] == "hive"


@needs_driver("TRINO")
def test_trino_unknown_catalog(quick_app):
    error_body = {
        "id": "q1",
        "infoUri": "http://x/q1",
        "stats": {"state": "FAILED"},
        "error": {
            "message": "line 1:15: Catalog 'nope' not found",
            "errorCode": 44,
            "errorName": "CATALOG_NOT_FOUND",
            "errorType": "USER_ERROR",
        },
    }
    with http_standin(lambda m, p, b: json_reply(200, error_body)) as standin:
        error, _ = failure(quick_app, raw("TRINO", port=standin.port, databaseName="nope"))
    assert error.field_errors == {"databaseName": "Catalog does not exist"}
    assert statuses(error)["database"] == "failed"


@needs_driver("TRINO")
def test_trino_refuses_to_follow_the_server_to_another_host(quick_app):
    """A coordinator answering with a nextUri on another host is not followed there."""
    redirect = {
        "id": "q1",
        "infoUri": "x",
        "nextUri": "http://169.254.169.254/v1/statement/x",
        "stats": {"state": "QUEUED"},
    }
    with http_standin(lambda m, p, b: json_reply(200, redirect)) as standin:
        error, _ = failure(quick_app, raw("TRINO", port=standin.port))
    assert len(standin.requests) == 1  # the second request never left
    assert error.step in ("auth", "database", "connect", "tls")


def test_pinned_session_checks_the_certificate_against_the_name():
    """TLS to the checked address with the name's certificate check (a real handshake)."""
    import requests

    from tests.servers import _certificates
    from webapp.dialects.trino import pinned_session

    with server_dir("pintls") as folder:
        ca, cert, key = _certificates(folder)
        ok = lambda m, p, b: json_reply(200, {"ok": True})  # noqa: E731
        with http_standin(ok, tls=(cert, key)) as standin:
            good = pinned_session("localhost", "127.0.0.1", standin.port, tls=True)
            good.verify = str(ca)
            assert good.get(f"https://localhost:{standin.port}/", timeout=5).json() == {"ok": True}
            wrong = pinned_session("db.example.test", "127.0.0.1", standin.port, tls=True)
            wrong.verify = str(ca)
            with pytest.raises(requests.exceptions.SSLError):
                wrong.get(f"https://db.example.test:{standin.port}/", timeout=5)


def posthog_answer(project_status: int = 200, query_status: int = 200):
    def answer(method, path, body):
        if path == "/api/projects/12345/" and method == "GET":
            if project_status != 200:
                return json_reply(
                    project_status, {"type": "authentication_error", "code": "not_authenticated"}
                )
            return json_reply(200, {"id": 12345, "name": "Web app"})
        if path == "/api/projects/12345/query/" and query_status != 200:
            return json_reply(
                query_status, {"type": "authentication_error", "code": "permission_denied"}
            )
        if path == "/api/projects/12345/query/":
            kind = __import__("json").loads(body)["query"]["kind"]
            if kind == "HogQLQuery":
                return json_reply(200, {"results": [[1]], "columns": ["1"]})
            return json_reply(
                200,
                {
                    "tables": {
                        "events": {
                            "type": "posthog",
                            "name": "events",
                            "fields": {
                                "uuid": {"name": "uuid", "type": "string"},
                                "timestamp": {"name": "timestamp", "type": "datetime"},
                            },
                        },
                        "stripe_charges": {
                            "type": "data_warehouse",
                            "name": "stripe_charges",
                            "fields": {"id": {"name": "id", "type": "string"}},
                        },
                    }
                },
            )
        return json_reply(404, {"code": "not_found"})

    return answer


@pytest.mark.parametrize(
    "status, field, message",
    [
        (401, "password", "Incorrect API key"),
        (403, "password", "This key has no access to this project"),
        (404, "posthogProjectId", "Project not found"),
    ],
)
def test_posthog_api_statuses(quick_app, status, field, message):
    with http_standin(posthog_answer(status)) as standin:
        error, _ = failure(quick_app, raw("POSTHOG", port=standin.port))
    assert error.field_errors == {field: message}
    assert standin.requests[0]["headers"]["Authorization"] == "Bearer phx_abc"


def test_posthog_key_without_query_scope_fails_at_the_catalog_step(quick_app):
    """check_catalog's own field error passes through verify (not the generic catalog one)."""
    with http_standin(posthog_answer(query_status=403)) as standin:
        error, _ = failure(quick_app, raw("POSTHOG", port=standin.port))
    assert error.field_errors == {"password": "This key lacks the query:read scope"}
    steps = statuses(error)
    assert steps["auth"] == steps["database"] == "ok" and steps["catalog"] == "failed"


def test_posthog_verify_and_introspect_against_the_stand_in(quick_app):
    app = quick_app
    with http_standin(posthog_answer()) as standin, app.app_context():
        app.config["VERIFY_TIMEOUT"] = TIMEOUT
        result = uc.verify_input(raw("POSTHOG", port=standin.port))
        assert result.server_version == "PostHog (project Web app)"
        dialect = get_dialect("POSTHOG")
        values = uc.clean_input(raw("POSTHOG", port=standin.port)).values
        client = dialect.connect(Target(values, "127.0.0.1", TIMEOUT, standin.port))
        tables = list(dialect.introspect(client))
    assert [(t.schema, t.name, [c["name"] for c in t.columns]) for t in tables] == [
        ("posthog", "events", ["uuid", "timestamp"]),
        ("data_warehouse", "stripe_charges", ["id"]),
    ]


def test_posthog_untrusted_certificate_is_a_host_error(quick_app):
    from tests.servers import _certificates

    with server_dir("phtls") as folder:
        _, cert, key = _certificates(folder)
        with http_standin(posthog_answer(), tls=(cert, key)) as standin:
            error, _ = failure(
                quick_app, raw("POSTHOG", host="localhost", port=standin.port, sslEnabled=True)
            )
    assert error.field_errors == {"host": "Certificate not trusted"}
    assert statuses(error)["tls"] == "failed"


# --- Snowflake: the real connector against loopback (account host overridden) ----------------


def snowflake_login(code: str, message: str):
    body = {"data": {"nextAction": None}, "code": code, "message": message, "success": False}
    return lambda method, path, b: json_reply(200, body)


@pytest.mark.parametrize(
    "code, message, field, shown",
    [
        (
            "390100",
            "Incorrect username or password was specified.",
            "password",
            "Incorrect username or password",
        ),
        (
            "390201",
            "The requested database does not exist or not authorized.",
            "databaseName",
            "Database does not exist",
        ),
        (
            "390201",
            "The requested warehouse does not exist or not authorized.",
            "snowflakeWarehouse",
            "Warehouse does not exist",
        ),
        (
            "390189",
            "Role 'X' specified in the connect string is not granted to this user.",
            "snowflakeRole",
            "This role is not granted to the user",
        ),
        (
            "390144",
            "JWT token is invalid.",
            "snowflakePrivateKey",
            "This key is not registered for this user",
        ),
    ],
)
@needs_driver("SNOWFLAKE")
def test_snowflake_login_errors(code, message, field, shown):
    """The connector's Rust core parses a login answer from a loopback stand-in; Datadock's
    classify maps the exception it raises."""
    import snowflake.connector

    dialect = get_dialect("SNOWFLAKE")
    values = {
        "snowflakeAccountId": "acme-test",
        "username": "u",
        "password": "p",
        "databaseName": "ANALYTICS",
    }
    with (
        http_standin(snowflake_login(code, message)) as standin,
        pytest.raises(snowflake.connector.Error) as caught,
    ):
        snowflake.connector.connect(
            account="acme-test",
            user="u",
            password="p",
            host="127.0.0.1",
            port=standin.port,
            protocol="http",
            login_timeout=3,
            retry_max_attempts=1,
            enable_server_session_keep_alive_auto_detection=False,
        )
    failure_ = dialect.classify(caught.value, Target(values, None, TIMEOUT))
    assert failure_.field_errors[field] == shown
    assert message not in failure_.detail


@needs_driver("SNOWFLAKE")
def test_snowflake_login_deadline_against_a_silent_listener(silent_port):
    import snowflake.connector

    dialect = get_dialect("SNOWFLAKE")
    started = time.monotonic()
    with pytest.raises(snowflake.connector.Error) as caught:
        snowflake.connector.connect(
            account="acme-test",
            user="u",
            password="p",
            host="127.0.0.1",
            port=silent_port,
            protocol="http",
            login_timeout=2,
            retry_max_attempts=1,
            enable_server_session_keep_alive_auto_detection=False,
        )
    assert time.monotonic() - started < 2 * TIMEOUT + 1.5
    failure_ = dialect.classify(caught.value, Target({"snowflakeAccountId": "a"}, None, 2.0))
    assert "did not answer within 2 s" in failure_.field_errors["snowflakeAccountId"]
    assert "firewall" in failure_.detail
