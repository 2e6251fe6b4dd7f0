"""The API keys page: admins create a key (shown once, only its hash stored) and revoke it;
members never see the page."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.fixtures_app import csrf_token
from webapp.accounts import create_admin
from webapp.extensions import db
from webapp.models import ApiKey, AuditEvent, Membership, Organization, Role

KEY = re.compile(r'id="new-key-value"[^>]*value="(ddk_[A-Za-z0-9_-]{43})"')


def create(admin: FlaskClient, name: str = "Provisioning script") -> str:
    token = csrf_token(admin, "/settings/api-keys")
    page = admin.post("/settings/api-keys", data={"csrf_token": token, "name": name})
    assert page.status_code == 201, page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    match = KEY.search(page.get_data(as_text=True))
    assert match, "the new key is shown"
    return match.group(1)


def store_files(app: Flask) -> list[Path]:
    store = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    with app.app_context():
        db.session.execute(db.text("PRAGMA wal_checkpoint(FULL)"))
    return sorted(store.parent.glob(store.name + "*"))


def test_a_new_key_is_shown_once_and_only_its_hash_is_stored(app, admin):
    key = create(admin)
    later = admin.get("/settings/api-keys").get_data(as_text=True)
    assert key not in later and key[:12] + "…" in later and "Provisioning script" in later
    files = store_files(app)
    assert files
    for path in files:  # the store file, its WAL and shared memory
        content = path.read_bytes()
        assert key.encode() not in content, path
        assert key[12:].encode() not in content, path
    assert any(hashlib.sha256(key.encode()).hexdigest().encode() in p.read_bytes() for p in files)
    with app.app_context():
        org_id = db.session.scalar(db.select(Organization.id))
    listed = app.test_client().get(
        f"/api/public/organizations/{org_id}/data-sources",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert listed.status_code == 200
    with app.app_context():
        stored = db.session.scalar(db.select(ApiKey))
        assert stored.last_used_at is not None and stored.created_by_id is not None


def test_revoking_a_key_makes_the_api_refuse_it_and_is_audited(app, admin):
    key = create(admin, "CI")
    with app.app_context():
        row = db.session.scalar(db.select(ApiKey))
        org_id, key_id = row.organization_id, row.id
    url = f"/api/public/organizations/{org_id}/data-sources"
    headers = {"Authorization": f"Bearer {key}"}
    assert app.test_client().get(url, headers=headers).status_code == 200
    token = csrf_token(admin, "/settings/api-keys")
    assert admin.post(f"/settings/api-keys/{key_id}/revoke").status_code == 400  # no CSRF
    done = admin.post(f"/settings/api-keys/{key_id}/revoke", data={"csrf_token": token})
    assert done.status_code == 302
    page = admin.get("/settings/api-keys").get_data(as_text=True)
    assert "Revoked" in page and "Requests with it now get 401" in page
    assert app.test_client().get(url, headers=headers).status_code == 401
    with app.app_context():
        events = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [(e.action, e.target_type, e.target_id, e.target_name) for e in events] == [
            ("api_key.created", "api_key", key_id, "CI"),
            ("api_key.revoked", "api_key", key_id, "CI"),
        ]
        assert events[0].actor == "admin@example.com"


def test_a_key_needs_a_name(admin):
    token = csrf_token(admin, "/settings/api-keys")
    page = admin.post("/settings/api-keys", data={"csrf_token": token, "name": "  "})
    assert page.status_code == 422 and "ddk_" not in page.get_data(as_text=True)


def test_another_organizations_key_cannot_be_revoked_here(app, admin):
    from webapp.api_keys import create_key

    with app.app_context():
        create_admin("Globex", "admin@globex.example", "a long admin password")
        globex = db.session.scalar(db.select(Organization).filter_by(name="Globex"))
        theirs, _ = create_key(globex, "Theirs")
        theirs_id = theirs.id
    token = csrf_token(admin, "/settings/api-keys")
    assert (
        admin.post(f"/settings/api-keys/{theirs_id}/revoke", data={"csrf_token": token}).status_code
        == 404
    )
    assert "Theirs" not in admin.get("/settings/api-keys").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ApiKey, theirs_id).revoked_at is None


@pytest.fixture
def member(app: Flask, admin: FlaskClient) -> FlaskClient:
    with app.app_context():
        user = create_admin("Acme", "member@example.com", "member password 123")
        row = db.session.scalar(db.select(Membership).filter_by(user_id=user.id))
        row.role = Role.VIEWER.value
        db.session.commit()
    client = app.test_client()
    token = csrf_token(client, "/login")
    client.post(
        "/login",
        data={
            "csrf_token": token,
            "email": "member@example.com",
            "password": "member password 123",
        },
    )
    return client


def test_members_cannot_see_or_use_the_api_keys_page(app, admin, member):
    assert "API keys" in admin.get("/sources").get_data(as_text=True)
    assert "API keys" not in member.get("/sources").get_data(as_text=True)
    assert member.get("/settings/api-keys").status_code == 403
    token = csrf_token(member, "/sources")
    assert (
        member.post("/settings/api-keys", data={"csrf_token": token, "name": "sneaky"}).status_code
        == 403
    )
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ApiKey)) == 0
