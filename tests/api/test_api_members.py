"""Members and invitations through the API, and key scopes: a read key reads, a write key
changes sources, only an admin key touches members; too small a scope is 403 Forbidden in the
error shape, before any 404; a removed member's keys get 401; expired keys get 401."""

from __future__ import annotations

from datetime import timedelta

from tests.api.conftest import Api, add_source
from tests.fixtures_app import csrf_token
from tests.teams_helpers import PASSWORD, invite_and_accept, key_of, logged_in
from webapp.extensions import db
from webapp.models import ApiKey, utcnow


def members_api(api: Api, key: str | None = None) -> Api:
    """The same client, rooted at /organizations/<org> instead of …/data-sources."""

    class Org(Api):
        def url(self, path: str = "") -> str:
            return f"/api/public/organizations/{self.org_id}{path}"

    return Org(api.client, api.org_id, key or api.key)


def error(response, status: int, title: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()["error"]
    assert body["title"] == title and body["detail"] and isinstance(body["fieldErrors"], dict)
    return body


def test_invite_list_revoke_and_accept_through_the_api(app, api: Api):
    org = members_api(api)
    created = org.post("/invitations", json={"email": "Ana@Corp.Local", "role": "viewer"})
    assert created.status_code == 201, created.get_data(as_text=True)
    data = created.get_json()["data"]
    assert set(data) >= {"id", "email", "role", "url", "expiresAt"}
    assert data["email"] == "ana@corp.local" and data["role"] == "viewer"
    assert data["url"].startswith("http://localhost/invitations/")
    listed = org.get("/invitations").get_json()["data"]
    assert [i["email"] for i in listed] == ["ana@corp.local"] and "url" not in listed[0]
    # Revoked: the link says so.
    assert org.delete(f"/invitations/{data['id']}").get_json() == {"data": {"success": True}}
    path = data["url"].removeprefix("http://localhost")
    revoked = app.test_client().get(path)
    assert revoked.status_code == 410 and "revoked" in revoked.get_data(as_text=True)
    assert org.get("/invitations").get_json()["data"] == []
    # A new one (POST …/members invites too), accepted in a fresh browser.
    again = org.post("/members", json={"email": "ana@corp.local", "role": "editor"})
    assert again.status_code == 201
    path = again.get_json()["data"]["url"].removeprefix("http://localhost")
    browser = app.test_client()
    token = csrf_token(browser, path)
    assert (
        browser.post(
            path,
            data={"csrf_token": token, "name": "Ana", "password": PASSWORD, "confirm": PASSWORD},
        ).status_code
        == 302
    )
    members = {m["email"]: m for m in org.get("/members").get_json()["data"]}
    assert members["ana@corp.local"]["role"] == "editor"
    assert members["ana@corp.local"]["signIn"] == "password"
    assert members["ana@corp.local"]["name"] == "Ana"


def test_bad_invitations_get_field_errors_with_reasons(api: Api):
    org = members_api(api)
    bad = error(
        org.post("/invitations", json={"email": "ana@@corp", "role": "viewer"}),
        400,
        "ValidationError",
    )
    assert "@" in bad["fieldErrors"]["email"]
    bad = error(
        org.post("/invitations", json={"email": "ana@corp.local", "role": "owner"}),
        400,
        "ValidationError",
    )
    assert "viewer" in bad["fieldErrors"]["role"]
    error(
        org.post("/invitations", json={"email": "a@b.test", "role": "viewer", "x": 1}),
        400,
        "ValidationError",
    )
    error(org.post("/invitations", data="not json"), 400, "InvalidJson")
    member = error(
        org.post("/invitations", json={"email": "admin@example.com", "role": "viewer"}),
        400,
        "ValidationError",
    )
    assert "already a member" in member["fieldErrors"]["email"]


def test_an_email_of_another_organization_cannot_be_invited(api: Api, other_api: Api):
    body = error(
        members_api(api).post(
            "/invitations", json={"email": "admin@globex.example", "role": "viewer"}
        ),
        400,
        "ValidationError",
    )
    assert "another organization" in body["fieldErrors"]["email"]


def test_role_changes_end_sessions_and_the_last_admin_stays(app, api: Api):
    org = members_api(api)
    invite_and_accept(app, "ed@corp.local", "editor")
    editor = logged_in(app, "ed@corp.local")
    assert editor.get("/sources").status_code == 200
    members = {m["email"]: m for m in org.get("/members").get_json()["data"]}
    changed = org.patch(f"/members/{members['ed@corp.local']['id']}", json={"role": "viewer"})
    assert changed.status_code == 200 and changed.get_json()["data"]["role"] == "viewer"
    ended = editor.get("/sources")
    assert ended.status_code == 302 and "/login" in ended.headers["Location"]
    admin_id = members["admin@example.com"]["id"]
    last = error(org.patch(f"/members/{admin_id}", json={"role": "editor"}), 400, "ValidationError")
    assert "at least one admin" in last["fieldErrors"]["role"]
    error(org.delete(f"/members/{admin_id}"), 400, "ValidationError")
    error(org.patch("/members/999999", json={"role": "viewer"}), 404, "NotFound")


def test_scopes_read_write_admin_and_403_before_404(app, api: Api, other_api: Api):
    source_id = add_source(app, api.org_id)
    read = Api(api.client, api.org_id, key_of(app, "read"))
    write = Api(api.client, api.org_id, key_of(app, "write"))
    assert read.get().status_code == 200 and read.get(f"/{source_id}").status_code == 200
    refused = error(read.delete(f"/{source_id}"), 403, "Forbidden")
    assert "read" in refused["detail"] and "write" in refused["detail"]
    error(read.delete("/999999"), 403, "Forbidden")  # never a 404 it could learn from
    error(members_api(api, read.key).get("/members"), 403, "Forbidden")
    error(members_api(api, write.key).post("/invitations", json={}), 403, "Forbidden")
    assert write.delete(f"/{source_id}").status_code == 200
    # An admin key of another organization: the one 404.
    error(Api(other_api.client, api.org_id, other_api.key).get(), 404, "NotFound")
    error(
        members_api(Api(other_api.client, api.org_id, other_api.key)).get("/members"),
        404,
        "NotFound",
    )


def test_keys_show_scope_creator_expiry_and_stop_with_their_creator(app, api: Api):
    org = members_api(api)
    invite_and_accept(app, "ops@example.test", "admin")
    theirs = key_of(app, "admin", creator_email="ops@example.test")
    mine = members_api(api, theirs)
    assert mine.get("/members").status_code == 200
    with app.app_context():
        key_id = db.session.scalar(db.select(ApiKey.id).where(ApiKey.name == "admin key"))
    shown = org.get(f"/api-keys/{key_id}").get_json()["data"]
    assert shown["scope"] == "admin" and shown["createdBy"] == "ops@example.test"
    assert shown["expiresAt"] is None and shown["lastUsedAt"] is not None
    assert theirs not in str(shown) and shown["prefix"] == theirs[:12]
    members = {m["email"]: m for m in org.get("/members").get_json()["data"]}
    # Demoted to viewer: their admin key can only read now.
    org.patch(f"/members/{members['ops@example.test']['id']}", json={"role": "viewer"})
    error(mine.get("/members"), 403, "Forbidden")
    assert Api(api.client, api.org_id, theirs).get().status_code == 200
    # Removed: their key gets 401 at once.
    assert org.delete(f"/members/{members['ops@example.test']['id']}").status_code == 200
    error(Api(api.client, api.org_id, theirs).get(), 401, "Unauthorized")


def test_an_expired_key_gets_401(app, api: Api):
    key = key_of(app, "read")
    with app.app_context():
        row = db.session.scalar(db.select(ApiKey).where(ApiKey.name == "read key"))
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    body = error(Api(api.client, api.org_id, key).get(), 401, "Unauthorized")
    assert "expired" in body["detail"]
