"""Notification channels and events through the JSON API: create (the signing secret once,
URLs never again, the egress policy at creation), validation errors in the one shape, the
delivery log with a real loopback receiver, Redeliver, events paginated, other organizations'
channels unseen, and the OpenAPI entries."""

from __future__ import annotations

import json

from openapi_spec_validator import validate as validate_openapi

from tests.integration.notify_helpers import webhook_receiver
from webapp.core.signatures import verify
from webapp.extensions import db
from webapp.jobs import deliveries
from webapp.models import NotificationChannel
from webapp.openapi import build_document

# A mail server setting for tests that create email channels and never run their deliveries.
NO_MAIL_SENT = "smtp://127.0.0.1:9"


def call(api, method: str, path: str, body=None):
    return api.client.open(
        f"/api/public/organizations/{api.org_id}{path}",
        method=method,
        headers={"Authorization": f"Bearer {api.key}"},
        data=None if body is None else json.dumps(body),
        content_type="application/json",
    )


def test_a_webhook_channel_shows_its_secret_once_and_never_its_url(app, api):
    with webhook_receiver() as receiver:
        url = receiver.url("/hook?token=very-secret-token")
        created = call(api, "POST", "/notification-channels", {"type": "webhook", "url": url})
        assert created.status_code == 201, created.get_json()
        data = created.get_json()["data"]
        secret = data["signingSecret"]
        assert secret.startswith("whsec_") and data["host"] == "127.0.0.1"
        assert data["events"] == [
            "source.unhealthy",
            "source.recovered",
            "sync.failed",
            "schema.changed",
            "source.connected",
        ]
        assert created.headers["Location"].endswith(f"/notification-channels/{data['id']}")
        for answer in (
            call(api, "GET", "/notification-channels"),
            call(api, "GET", f"/notification-channels/{data['id']}"),
        ):
            text = answer.get_data(as_text=True)
            assert answer.status_code == 200
            assert "very-secret-token" not in text and secret not in text
        with app.app_context():
            stored = db.session.get(NotificationChannel, int(data["id"]))
            assert b"very-secret-token" not in stored.secrets_blob
            assert secret.encode() not in stored.secrets_blob

        tested = call(api, "POST", f"/notification-channels/{data['id']}/test")
        assert tested.status_code == 202 and tested.get_json()["data"]["status"] == "pending"
        with app.app_context():
            assert deliveries.run_due("api-test") == 1
        [request] = receiver.requests
        assert request.path == "/hook?token=very-secret-token"
        assert verify(secret, request.headers["X-Datadock-Signature"], request.body)
        assert request.headers["Host"] == f"127.0.0.1:{receiver.port}"

        log = call(api, "GET", f"/notification-channels/{data['id']}/deliveries").get_json()
        [entry] = log["data"]
        assert (entry["status"], entry["responseCode"], entry["attempts"]) == ("delivered", 200, 1)
        assert entry["id"] == request.headers["X-Datadock-Delivery"]
        again = call(
            api, "POST", f"/notification-channels/{data['id']}/deliveries/{entry['id']}/redeliver"
        )
        assert again.status_code == 202 and again.get_json()["data"]["id"] != entry["id"]
        missing = call(
            api, "POST", f"/notification-channels/{data['id']}/deliveries/nope/redeliver"
        )
        assert missing.status_code == 404

        events = call(api, "GET", "/events?limit=1").get_json()
        assert [e["type"] for e in events["data"]] == ["test"]
        assert events["pagination"] == {"nextCursor": None, "hasMore": False}


def test_bad_channels_get_field_errors(app, api):
    app.config["SMTP_URL"] = NO_MAIL_SENT
    cases = [
        ({"type": "pager"}, "type"),
        ({"type": "webhook"}, "url"),
        ({"type": "webhook", "url": "ftp://example.com/x"}, "url"),
        ({"type": "webhook", "url": "http://user:pw@127.0.0.1/x"}, "url"),
        ({"type": "webhook", "url": "http://169.254.169.254/latest"}, "url"),
        ({"type": "slack", "url": "http://[::ffff:169.254.169.254]/hook"}, "url"),
        ({"type": "email", "addresses": ["not an address"]}, "addresses"),
        ({"type": "email", "addresses": []}, "addresses"),
        ({"type": "email", "addresses": ["a@example.com"], "events": ["nope"]}, "events"),
        ({"type": "email", "addresses": ["a@example.com"], "sourceIds": ["999"]}, "sourceIds"),
        ({"type": "email", "addresses": ["a@example.com"], "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        answer = call(api, "POST", "/notification-channels", body)
        assert answer.status_code == 400, (body, answer.get_json())
        error = answer.get_json()["error"]
        assert error["title"] == "ValidationError" and field in error["fieldErrors"], body
    blocked = call(
        api,
        "POST",
        "/notification-channels",
        {"type": "webhook", "url": "http://169.254.169.254/latest"},
    )
    assert "link-local" in blocked.get_json()["error"]["detail"]
    assert call(api, "POST", "/notification-channels", "[]").status_code == 400
    app.config["SMTP_URL"] = None
    unconfigured = call(
        api, "POST", "/notification-channels", {"type": "email", "addresses": ["a@example.com"]}
    )
    assert "DATADOCK_SMTP_URL" in unconfigured.get_json()["error"]["fieldErrors"]["type"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(NotificationChannel)) == 0


def test_other_organizations_channels_and_events_are_unseen(app, api, other_api):
    app.config["SMTP_URL"] = NO_MAIL_SENT
    created = call(
        api,
        "POST",
        "/notification-channels",
        {"type": "email", "addresses": ["ops@example.com"], "name": "Ops"},
    )
    assert created.status_code == 201
    channel_id = created.get_json()["data"]["id"]
    assert "signingSecret" not in created.get_json()["data"]
    assert call(other_api, "GET", f"/notification-channels/{channel_id}").status_code == 404
    assert call(other_api, "GET", "/notification-channels").get_json()["data"] == []
    call(api, "POST", f"/notification-channels/{channel_id}/test")
    assert call(other_api, "GET", "/events").get_json()["data"] == []
    wrong_org = api.client.get(
        f"/api/public/organizations/{other_api.org_id}/events",
        headers={"Authorization": f"Bearer {api.key}"},
    )
    assert wrong_org.status_code == 404
    assert call(api, "GET", "/events?type=bogus").status_code == 400
    assert call(api, "DELETE", f"/notification-channels/{channel_id}").status_code == 200
    assert call(api, "GET", f"/notification-channels/{channel_id}").status_code == 404


def test_the_events_list_pages_by_cursor(app, api):
    app.config["SMTP_URL"] = NO_MAIL_SENT
    channel = call(
        api, "POST", "/notification-channels", {"type": "email", "addresses": ["ops@example.com"]}
    ).get_json()["data"]
    for _ in range(3):
        call(api, "POST", f"/notification-channels/{channel['id']}/test")
    first = call(api, "GET", "/events?limit=2").get_json()
    assert len(first["data"]) == 2 and first["pagination"]["hasMore"]
    rest = call(api, "GET", f"/events?limit=2&cursor={first['pagination']['nextCursor']}")
    assert len(rest.get_json()["data"]) == 1
    ids = [e["id"] for e in first["data"] + rest.get_json()["data"]]
    assert len(set(ids)) == 3


def test_the_openapi_document_lists_the_operations():
    document = build_document()
    validate_openapi(document)
    paths = document["paths"]
    channels = "/api/public/organizations/{orgId}/notification-channels"
    assert paths[channels]["post"]["x-required-scope"] == "admin"
    assert paths["/api/public/organizations/{orgId}/events"]["get"]["x-required-scope"] == "read"
    assert "signingSecret" in document["components"]["schemas"]["NotificationChannel"]["properties"]
    assert channels + "/{channelId}/deliveries/{deliveryId}/redeliver" in paths
