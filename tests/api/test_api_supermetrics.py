"""The Supermetrics face: POST /v1/teams/{team_id}/data-source-connections answers an
onboarding link; the link is completed on its public page against a real throwaway PostgreSQL;
every error case of the contract in Supermetrics' shape; CORS; public UUIDs and absolute
Location headers of the Basedash face."""

from __future__ import annotations

import json
import re
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask

from tests.api.conftest import Api, make_org
from tests.fixtures_app import csrf_token
from webapp.api_keys import create_key
from webapp.extensions import db
from webapp.models import AuditEvent, Event, OnboardingLink, Organization, Source, utcnow
from webapp.records import vault

# The README's example request, sent verbatim.
EXAMPLE = {"data_source_id": "POSTGRES", "display_name": "Acme warehouse", "expires_in": 86400}
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$")


def test_the_example_is_the_readmes_verbatim():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### Onboarding links (Supermetrics face)", 1)[1]
    sent = re.search(r"-d '([^']+)'", section).group(1)
    assert json.loads(sent) == EXAMPLE and "/v1/teams/1/data-source-connections" in section


def connections(api: Api) -> str:
    return f"/v1/teams/{api.org_id}/data-source-connections"


def post(api: Api, body=None, **kwargs):
    headers = {"Authorization": f"Bearer {api.key}", **kwargs.pop("headers", {})}
    return api.client.post(connections(api), json=body, headers=headers, **kwargs)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"meta", "error"}
    assert body["meta"]["request_id"] == response.headers["X-Request-Id"]
    assert body["error"]["code"] == code
    assert body["error"]["message"] and isinstance(body["error"]["description"], str)
    return body["error"]


def token_of(connect_url: str) -> str:
    return connect_url.rsplit("/connect/", 1)[1]


def pg_fields(pg, **changes) -> dict:
    return {
        "host": pg.host,
        "port": str(pg.port),
        "databaseName": pg.database,
        "username": pg.user,
        "password": pg.password,
        "sslEnabled": "y",
        "sslMode": "prefer",
        **changes,
    }


def complete(client, connect_url: str, fields: dict, who: str = "Dana DBA"):
    path = connect_url.split("localhost", 1)[1]
    token = csrf_token(client, path)
    return client.post(path, data={"csrf_token": token, "completedBy": who, **fields})


def test_the_documented_example_answers_201_with_an_absolute_location_and_connect_url(
    app: Flask, api: Api
):
    response = post(api, EXAMPLE)
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"meta", "data"}
    assert body["meta"]["request_id"] == response.headers["X-Request-Id"]
    data = body["data"]
    assert set(data) == {"connection_id", "login_url", "connect_url"}
    assert UUID_RE.match(data["connection_id"]) and data["login_url"] is None
    assert re.match(r"^http://localhost/connect/[A-Za-z0-9_-]{43}$", data["connect_url"])
    assert response.headers["Location"] == (
        f"http://localhost/v1/teams/{api.org_id}/data-source-connections/{data['connection_id']}"
    )
    assert response.headers["X-RateLimit-Limit"] and response.headers["X-RateLimit-Remaining"]
    with app.app_context():
        link = db.session.scalar(db.select(OnboardingLink))
        # Only the token's hash is stored.
        assert token_of(data["connect_url"]) not in link.token_hash
        assert link.dialect == "POSTGRES" and link.display_name == "Acme warehouse"
        assert timedelta(hours=23) < link.expires_at - utcnow() <= timedelta(days=1)
        audit = db.session.scalar(db.select(AuditEvent).filter_by(action="onboarding_link.created"))
        assert audit.actor.startswith("API key")
    shown = api.client.get(
        response.headers["Location"].removeprefix("http://localhost"),
        headers={"Authorization": f"Bearer {api.key}"},
    ).get_json()["data"]
    assert shown["status"] == "pending" and shown["data_source"] is None


def test_connect_url_and_location_follow_base_url(app: Flask, api: Api):
    app.config["BASE_URL"] = "https://datadock.example.test/"
    response = post(api, {"data_source_id": "postgres"})
    assert response.status_code == 201
    data = response.get_json()["data"]
    assert data["connect_url"].startswith("https://datadock.example.test/connect/")
    assert response.headers["Location"].startswith(
        f"https://datadock.example.test/v1/teams/{api.org_id}/data-source-connections/"
    )


def test_the_link_completes_once_into_a_synced_source_audited_with_who_and_where(
    app: Flask, api: Api, pg
):
    data = post(api, EXAMPLE).get_json()["data"]
    browser = app.test_client()  # no account, no session
    page = browser.get(data["connect_url"].removeprefix("http://localhost"))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Acme" in html and "Connect PostgreSQL" in html
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert 'name="dialect"' not in html or 'type="hidden"' in html  # no dialect picker
    assert "MySQL" not in html
    wrong = complete(browser, data["connect_url"], pg_fields(pg, password="not it"))
    assert wrong.status_code == 422
    assert pg.password not in wrong.get_data(as_text=True)
    done = complete(browser, data["connect_url"], pg_fields(pg))
    assert done.status_code == 200, done.get_data(as_text=True)
    assert "Acme warehouse" in done.get_data(as_text=True)
    again = browser.get(data["connect_url"].removeprefix("http://localhost"))
    assert again.status_code == 410 and "already used" in again.get_data(as_text=True)
    with app.app_context():
        source = db.session.scalar(db.select(Source))
        assert source.display_name == "Acme warehouse" and source.last_sync_status == "PENDING"
        assert vault().decrypt(source.secrets_blob) == {"password": pg.password}
        done_audit = db.session.scalar(
            db.select(AuditEvent).filter_by(action="onboarding_link.completed")
        )
        assert done_audit.actor == "Dana DBA (onboarding link)"
        assert done_audit.ip_address == "127.0.0.1" and done_audit.target_id == source.id
        created = db.session.scalar(db.select(AuditEvent).filter_by(action="source.created"))
        assert created.actor == "Dana DBA (onboarding link)"
        event = db.session.scalar(db.select(Event).filter_by(type="source.connected"))
        assert event.source_id == source.id
        assert event.payload["data"]["completedBy"] == "Dana DBA"
        assert event.payload["data"]["ipAddress"] == "127.0.0.1"
        public_id = source.public_id
    shown = api.client.get(
        f"{connections(api)}/{data['connection_id']}",
        headers={"Authorization": f"Bearer {api.key}"},
    ).get_json()["data"]
    assert shown["status"] == "completed" and shown["completed_by"] == "Dana DBA"
    assert shown["data_source"]["id"] == public_id
    # The source's public UUID works wherever its id does.
    by_uuid = api.get(f"/{public_id}")
    assert by_uuid.status_code == 200 and by_uuid.get_json()["data"]["publicId"] == public_id
    assert api.get(f"/{public_id.upper()}").status_code == 200
    events = api.client.get(
        f"/api/public/organizations/{api.org_id}/events",
        headers={"Authorization": f"Bearer {api.key}"},
    )
    assert events.status_code == 200, events.get_data(as_text=True)
    assert [e["type"] for e in events.get_json()["data"]] == ["source.connected"]


def test_two_simultaneous_completions_make_one_source(app: Flask, api: Api, pg):
    """Two browsers post the same link at once: one saves, the other is told the link is in
    use or used; one source is stored."""
    url = post(api, EXAMPLE).get_json()["data"]["connect_url"]
    path = url.removeprefix("http://localhost")
    browsers = [app.test_client(), app.test_client()]
    tokens = [csrf_token(b, path) for b in browsers]
    start = threading.Barrier(2)
    statuses: list[int] = []

    def submit(index: int) -> None:
        start.wait()
        answer = browsers[index].post(
            path, data={"csrf_token": tokens[index], "completedBy": f"DBA {index}", **pg_fields(pg)}
        )
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) in ([200, 409], [200, 410]), statuses
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Source)) == 1


def test_revoked_and_expired_links_say_so(app: Flask, api: Api):
    revoked = post(api, {"data_source_id": "POSTGRES"}).get_json()["data"]
    answer = api.client.delete(
        f"{connections(api)}/{revoked['connection_id']}",
        headers={"Authorization": f"Bearer {api.key}"},
    )
    assert answer.status_code == 200 and answer.get_json()["data"]["status"] == "revoked"
    page = app.test_client().get(revoked["connect_url"].removeprefix("http://localhost"))
    assert page.status_code == 410 and "revoked" in page.get_data(as_text=True)
    expired = post(api, {"data_source_id": "POSTGRES", "expires_in": 300}).get_json()["data"]
    with app.app_context():
        link = db.session.scalar(
            db.select(OnboardingLink).filter_by(public_id=expired["connection_id"])
        )
        link.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    page = app.test_client().get(expired["connect_url"].removeprefix("http://localhost"))
    assert page.status_code == 410 and "expired" in page.get_data(as_text=True)
    assert app.test_client().get("/connect/not-a-token").status_code == 404


def test_authentication_errors(app: Flask, api: Api):
    missing = api.client.post(connections(api), json=EXAMPLE)
    assert_error(missing, 401, "API_KEY_INVALID")
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    bad = api.client.post(
        connections(api), json=EXAMPLE, headers={"Authorization": "Bearer ddk_not-a-key"}
    )
    assert_error(bad, 401, "API_KEY_INVALID")
    with app.app_context():
        org = db.session.get(Organization, api.org_id)
        _, read_key = create_key(org, "reader", scope="read")
    denied = api.client.post(
        connections(api), json=EXAMPLE, headers={"Authorization": f"Bearer {read_key}"}
    )
    assert "write" in assert_error(denied, 403, "ACCESS_DENIED")["description"]


def test_another_team_and_unknown_connections_are_not_found(app: Flask, api: Api, other_api: Api):
    other = api.client.post(
        f"/v1/teams/{other_api.org_id}/data-source-connections",
        json=EXAMPLE,
        headers={"Authorization": f"Bearer {api.key}"},
    )
    assert_error(other, 404, "NOT_FOUND")
    assert_error(
        api.client.post(
            "/v1/teams/abc/data-source-connections",
            json=EXAMPLE,
            headers={"Authorization": f"Bearer {api.key}"},
        ),
        404,
        "NOT_FOUND",
    )
    theirs = post(other_api, EXAMPLE).get_json()["data"]["connection_id"]
    for connection_id in (theirs, str(uuid.uuid4()), "nope"):
        assert_error(
            api.client.get(
                f"{connections(api)}/{connection_id}",
                headers={"Authorization": f"Bearer {api.key}"},
            ),
            404,
            "NOT_FOUND",
        )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "data_source_id"),
        ({"data_source_id": "NOSQL"}, "data_source_id"),
        ({"data_source_id": 7}, "data_source_id"),
        ({"data_source_id": "POSTGRES", "expires_in": 10}, "expires_in"),
        ({"data_source_id": "POSTGRES", "expires_in": "3600"}, "expires_in"),
        ({"data_source_id": "POSTGRES", "expires_in": True}, "expires_in"),
        ({"data_source_id": "POSTGRES", "display_name": ["x"]}, "display_name"),
        ({"data_source_id": "POSTGRES", "display_name": "x" * 121}, "display_name"),
    ],
)
def test_validation_is_422_invalid_parameter_naming_the_field(api: Api, body, field):
    error = assert_error(post(api, body), 422, "INVALID_PARAMETER")
    assert field in error["description"]


def test_a_taken_display_name_and_bad_json_are_refused(app: Flask, api: Api):
    with app.app_context():
        db.session.add(
            Source(
                organization_id=api.org_id,
                display_name="Acme Warehouse",
                dialect="POSTGRES",
                host="db.invalid",
                port=5432,
            )
        )
        db.session.commit()
    assert (
        "display_name" in assert_error(post(api, EXAMPLE), 422, "INVALID_PARAMETER")["description"]
    )
    for raw in (b"{", b"[]", b"null"):
        response = api.client.post(
            connections(api),
            data=raw,
            headers={"Authorization": f"Bearer {api.key}", "Content-Type": "application/json"},
        )
        assert_error(response, 400, "INVALID_PARAMETER")
    wrong_method = api.client.put(connections(api), headers={"Authorization": f"Bearer {api.key}"})
    assert_error(wrong_method, 405, "METHOD_NOT_ALLOWED")


def test_rate_limit_is_429_with_retry_after_and_rate_headers(app: Flask, api: Api):
    app.config["API_RATE_LIMIT"] = (2, 60)
    assert post(api, EXAMPLE).status_code == 201
    second = post(api, {"data_source_id": "POSTGRES"})
    assert second.headers["X-RateLimit-Remaining"] == "0"
    limited = post(api, {"data_source_id": "POSTGRES"})
    assert_error(limited, 429, "RATE_LIMIT_EXCEEDED")
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["X-RateLimit-Limit"] == "2"


def test_cors_answers_allowed_origins_only(app: Flask, api: Api):
    app.config["CORS_ORIGINS"] = ["https://app.example.test"]
    preflight = api.client.options(
        connections(api),
        headers={
            "Origin": "https://app.example.test",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example.test"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    other = api.client.options(
        connections(api),
        headers={"Origin": "https://evil.example.test", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in other.headers
    real = post(api, EXAMPLE, headers={"Origin": "https://app.example.test"})
    assert real.headers["Access-Control-Allow-Origin"] == "https://app.example.test"
    assert "Location" in real.headers["Access-Control-Expose-Headers"]
    assert "Origin" in real.headers["Vary"]


def test_basedash_face_location_is_absolute(app: Flask, api: Api, pg):
    body = {
        "type": "direct",
        "dialect": "POSTGRES",
        "displayName": "Warehouse",
        "host": pg.host,
        "port": pg.port,
        "databaseName": pg.database,
        "username": pg.user,
        "password": pg.password,
        "sslEnabled": False,
    }
    response = api.post(json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    data = response.get_json()["data"]
    assert response.headers["Location"] == f"http://localhost{api.url('/' + data['id'])}"
    assert UUID_RE.match(data["publicId"])


def test_the_org_id_is_not_a_team_of_another_key(app: Flask):
    org_id, key = make_org(app, "Initech", "admin@initech.example")
    client = app.test_client()
    response = client.post(
        f"/v1/teams/{org_id}/data-source-connections",
        json=EXAMPLE,
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 201
