"""Who may call the API, how often, and the error shape of every refusal (no server needed:
sources are written to the store directly, hosts are under .invalid)."""

from __future__ import annotations

import logging
import re

from tests.api.conftest import Api, add_source
from tests.fixtures_app import csrf_token
from webapp import api_keys
from webapp.extensions import db
from webapp.models import ApiKey, Source

HEX32 = re.compile(r"^[0-9a-f]{32}$")


def error_of(response, status: int, title: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["title"] == title and error["detail"]
    assert isinstance(error["fieldErrors"], dict)
    assert response.headers["X-Request-Id"]
    assert response.headers["X-RateLimit-Limit"].isdigit()
    assert response.headers["X-RateLimit-Remaining"].isdigit()
    return error


def test_without_a_key_the_api_answers_401_in_the_error_shape(api: Api):
    response = api.client.get(api.url())
    error_of(response, 401, "Unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in response.get_json()["error"]["detail"]
    wrong_scheme = api.client.get(api.url(), headers={"Authorization": f"Basic {api.key}"})
    error_of(wrong_scheme, 401, "Unauthorized")


def test_unknown_and_revoked_keys_are_refused(app, api: Api):
    assert api.get().status_code == 200
    forged = Api(api.client, api.org_id, api.key[:-4] + "AAAA")
    error_of(forged.get(), 401, "Unauthorized")
    with app.app_context():
        key = db.session.scalar(db.select(ApiKey))
        api_keys.revoke_key(key)
    error = error_of(api.get(), 401, "Unauthorized")
    assert "revoked" in error["detail"]


def test_a_logged_in_session_is_not_api_authentication(api: Api):
    token = csrf_token(api.client, "/login")
    login = api.client.post(
        "/login",
        data={
            "csrf_token": token,
            "email": "admin@example.com",
            "password": "a long admin password",
        },
    )
    assert login.status_code == 302
    assert api.client.get("/sources").status_code == 200  # the session works for pages …
    error_of(api.client.get(api.url()), 401, "Unauthorized")  # … and not for the API


def test_request_ids_are_echoed_when_valid_and_generated_otherwise(api: Api):
    mine = api.get(headers={"X-Request-Id": "deploy-42.step:7"})
    assert mine.headers["X-Request-Id"] == "deploy-42.step:7"
    for bad in ("has space", "x" * 200, "\u00e9t\u00e9"):
        response = api.get(headers={"X-Request-Id": bad})
        assert HEX32.match(response.headers["X-Request-Id"]), bad
    assert HEX32.match(api.get().headers["X-Request-Id"])


def test_rate_limit_per_key_answers_429_with_retry_information(app, api: Api, other_api: Api):
    app.config["API_RATE_LIMIT"] = (3, 60)
    remaining = [api.get().headers["X-RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    refused = api.get()
    error = error_of(refused, 429, "RateLimitExceeded")
    assert refused.headers["X-RateLimit-Limit"] == "3"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert 0 < error["retryAfterMs"] <= 60_000
    assert int(refused.headers["Retry-After"]) == -(-error["retryAfterMs"] // 1000)
    # Another organization's key has its own window.
    assert other_api.get().status_code == 200


def test_requests_without_a_valid_key_are_limited_per_address(app, api: Api):
    app.config["API_RATE_LIMIT"] = (2, 60)
    anonymous = [api.client.get(api.url()).status_code for _ in range(3)]
    assert anonymous == [401, 401, 429]
    assert api.get().status_code == 200  # a valid key counts in its own window


def test_another_organization_and_its_sources_are_not_found_alike(app, api: Api, other_api: Api):
    theirs = add_source(app, other_api.org_id, "Theirs")
    mine = add_source(app, api.org_id, "Mine")
    # My key on their organization: every endpoint is the same 404.
    foreign = Api(api.client, other_api.org_id, api.key)
    bodies = set()
    for response in (
        foreign.get(),
        foreign.post(json={}),
        foreign.post("/verify", json={}),
        foreign.get(f"/{theirs}"),
        foreign.delete(f"/{theirs}"),
        api.get(f"/{theirs}"),
        api.patch(f"/{theirs}", json={}),
        api.delete(f"/{theirs}"),
        api.post(f"/{theirs}/sync"),
        api.get(f"/{theirs}/schema"),
        api.get(f"/{theirs}/health"),
        api.get(f"/{theirs}/syncs"),
        api.get("/999999"),
        api.get("/abc"),
        Api(api.client, 999999, api.key).get(),
        Api(api.client, "x", api.key).get(),
    ):
        error = error_of(response, 404, "NotFound")
        bodies.add((error["detail"], tuple(error["fieldErrors"])))
    assert len(bodies) == 1  # never says which of the cases it was
    with app.app_context():
        assert db.session.get(Source, theirs) is not None  # the refused delete deleted nothing
    listed = [s["id"] for s in api.get().get_json()["data"]]
    assert listed == [str(mine)]


def test_a_body_that_is_not_a_json_object_is_invalid_json(api: Api):
    for body in (b"", b"not json", b"[1, 2]", b"null", b'"text"', b'{"port": NaN}'):
        response = api.post(data=body, content_type="application/json")
        error_of(response, 400, "InvalidJson")


def test_field_level_validation_names_each_bad_field(api: Api):
    response = api.post(
        json={
            "dialect": "POSTGRES",
            "displayName": "x",
            "host": "db.invalid",
            "port": "5432",
            "databseName": "typo",
            "sslEnabled": "yes",
            "maxPoolSize": 500,
            "unsetPassword": True,
            "bigQueryJsonKey": "{}",
            "snowflakeAccountId": None,
            "sshEnabled": False,
        }
    )
    errors = error_of(response, 400, "ValidationError")["fieldErrors"]
    assert errors == {
        "type": 'Required: "direct" (a direct database connection)',
        "port": "Port must be a whole number",
        "databseName": "Unknown field",
        "sslEnabled": "Must be true or false",
        "unsetPassword": "Only when updating a data source",
        "bigQueryJsonKey": "Not a field of PostgreSQL",
    }
    wrong_type = api.post(json={"type": "ssh", "dialect": "NOPE", "displayName": "x"})
    errors = error_of(wrong_type, 400, "ValidationError")["fieldErrors"]
    assert errors["type"].startswith('Must be "direct"')
    assert errors["dialect"].startswith("Choose one of: POSTGRES")


def test_the_dialects_own_rules_come_back_per_field(api: Api):
    response = api.post(
        json={
            "type": "direct",
            "dialect": "POSTGRES",
            "displayName": "",
            "host": "db host=evil",
            "port": 70000,
            "databaseName": "d" * 64,
            "username": "u",
            "password": "p",
            "maxPoolSize": 0,
        }
    )
    errors = error_of(response, 400, "ValidationError")["fieldErrors"]
    assert set(errors) == {"displayName", "host", "port", "databaseName", "maxPoolSize"}
    assert errors["port"] == "Port must be between 1 and 65535"


def test_unknown_paths_and_methods_answer_json_errors(api: Api):
    missing = api.client.get(
        "/api/public/nothing-here", headers={"Authorization": f"Bearer {api.key}"}
    )
    error_of(missing, 404, "NotFound")
    wrong = api.call("PUT")
    error_of(wrong, 405, "MethodNotAllowed")
    assert "POST" in wrong.headers["Allow"]


def test_an_unexpected_failure_is_500_without_internals(app, api: Api, monkeypatch, caplog):
    from webapp import sources

    def broken(*_args, **_kwargs):
        raise RuntimeError("internal detail: /srv/datadock/secret.py line 3")

    monkeypatch.setattr(sources, "list_sources_page", broken)
    with caplog.at_level(logging.ERROR):
        response = api.get(headers={"X-Request-Id": "trace-me-1"})
    error = error_of(response, 500, "InternalServerError")
    assert "internal detail" not in response.get_data(as_text=True)
    assert "X-Request-Id" in error["detail"]
    logged = [r for r in caplog.records if r.exc_info and "internal detail" in str(r.exc_info[1])]
    assert logged and logged[0].request_id == "trace-me-1"


def test_the_openapi_document_is_public_and_rate_limited(api: Api):
    response = api.client.get("/api/public/openapi.json")
    assert response.status_code == 200 and response.get_json()["openapi"] == "3.1.0"
    assert response.headers["X-RateLimit-Remaining"].isdigit()
    assert HEX32.match(response.headers["X-Request-Id"])


def test_api_requests_do_not_redirect_to_setup_before_the_first_account(client):
    response = client.get("/api/public/organizations/1/data-sources")
    error_of(response, 401, "Unauthorized")
    assert client.get("/api/public/openapi.json").status_code == 200
