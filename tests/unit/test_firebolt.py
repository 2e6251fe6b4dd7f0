"""Firebolt: error mapping and loopback failures only.

Firebolt is a cloud service: nothing of it runs here, and no test reaches it. The real
firebolt-sdk is pointed at loopback (the dialect's API endpoint is a `.firebolt.test` name; a
resolver standing in for DNS maps those names to 127.0.0.1, every other name goes through
Datadock's real egress check). A loopback HTTP stand-in answers the documented token and
engine-URL requests, or fails them; a silent listener never answers.
"""

from __future__ import annotations

import pytest

from tests.extras import needs_driver
from tests.servers import free_port
from tests.standins import http_standin, json_reply
from webapp.connect.targets import check_address
from webapp.core.refusal import ConnectionFailed
from webapp.dialects import get_dialect
from webapp.dialects.base import Target

pytestmark = needs_driver("FIREBOLT")
TIMEOUT = 2.0
VALUES = {
    "clientId": "svc-id",
    "clientSecret": "secret-never-shown",
    "accountName": "acme",
    "databaseName": "shop",
    "engineName": "",
}


def resolver(
    host: str, port: int, timeout: float, host_field: str = "host", port_field: str = "port"
) -> str:
    """DNS stand-in for the test names; anything else: the real egress check."""
    if host.endswith(".firebolt.test"):
        return "127.0.0.1"
    return check_address(host, port, timeout, host_field, port_field)


def attempt(app, port: int, **changes):
    """Connect through the real SDK to the loopback endpoint; the classified failure."""
    from webapp.dialects.firebolt import Firebolt

    dialect = Firebolt(api_endpoint=f"http://api.firebolt.test:{port}")
    target = Target({**VALUES, **changes}, None, TIMEOUT, check_address=resolver)
    with app.app_context():
        try:
            connection = dialect.connect(target)
        except ConnectionFailed as failure:
            return failure
        except Exception as exc:  # noqa: BLE001 - classified as verify does
            failure = dialect.classify(exc, target)
            assert "secret-never-shown" not in failure.detail
            return failure
    connection.close()
    raise AssertionError("connected")


def api(token_status: int = 200, account_status: int = 200, engine_url: str = ""):
    def answer(method, path, body):
        if path.startswith("/oauth/token"):
            if token_status != 200:
                return json_reply(
                    token_status, {"error": "access_denied", "error_description": "Unauthorized"}
                )
            return json_reply(
                200, {"access_token": "tok", "expires_in": 3600, "token_type": "Bearer"}
            )
        if path == "/web/v3/account/acme/engineUrl":
            if account_status != 200:
                return json_reply(account_status, {"message": "not found"})
            return json_reply(200, {"engineUrl": engine_url, "params": {}})
        return json_reply(404, {"message": "no route"})

    return answer


def test_the_driver_is_registered_with_its_fields():
    dialect = get_dialect("FIREBOLT")
    assert dialect.secret_names == ("clientSecret",)
    assert [f.name for f in dialect.fields] == [
        "clientId",
        "clientSecret",
        "accountName",
        "databaseName",
        "engineName",
    ]


def test_an_unknown_api_host_is_refused_before_any_connection(quick_app):
    from webapp.dialects.firebolt import Firebolt

    dialect = Firebolt(api_endpoint="http://api.nowhere.invalid")
    target = Target(dict(VALUES), None, TIMEOUT, check_address=resolver)
    with quick_app.app_context(), pytest.raises(ConnectionFailed) as caught:
        dialect.connect(target)
    assert caught.value.field_errors == {"accountName": "Host not found"}


def test_a_refused_port_says_the_api_could_not_be_reached(quick_app):
    failure = attempt(quick_app, free_port())
    assert failure.field_errors == {"accountName": "Firebolt's API could not be reached"}


def test_a_silent_api_costs_one_deadline(quick_app, silent_port):
    failure = attempt(quick_app, silent_port)
    assert failure.step == "auth"
    assert failure.field_errors == {"accountName": "Firebolt did not answer within 2 s"}


def test_a_rejected_secret_is_a_bad_login(quick_app):
    with http_standin(api(token_status=401)) as standin:
        failure = attempt(quick_app, standin.port)
    assert failure.field_errors == {
        "clientId": "Incorrect username or password",
        "clientSecret": "Incorrect username or password",
    }
    assert b"client_secret=secret-never-shown" in standin.requests[0]["body"]


def test_an_unknown_account(quick_app):
    with http_standin(api(account_status=404)) as standin:
        failure = attempt(quick_app, standin.port)
    assert failure.field_errors == {"accountName": "Account not found"}


def test_an_engine_url_pointing_at_a_refused_address_is_not_followed(quick_app):
    """The API's answer names the cloud metadata address: the egress check refuses it."""
    with http_standin(api(engine_url="http://169.254.169.254:80")) as standin:
        failure = attempt(quick_app, standin.port)
    assert failure.step == "dns"
    assert list(failure.field_errors) == ["accountName"]
    assert [r["path"] for r in standin.requests][-1] == "/web/v3/account/acme/engineUrl"
