"""Onboarding links on the pages: the admins' "Send an onboarding link" page, and the public
/connect/<token> page's guards (CSRF, the per-address limit, one completion at a time, nothing
of the organization but its name, no secret pre-filled); public UUIDs in page URLs."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from tests.fixtures_app import ADMIN_EMAIL, csrf_token
from tests.unit.test_hardening import STORED_SECRET, add_source
from webapp.extensions import db
from webapp.models import AuditEvent, OnboardingLink, Source, utcnow

PAGE = "/sources/onboarding-links"


def make_link(admin: FlaskClient, dialect: str = "POSTGRES", name: str = "") -> str:
    token = csrf_token(admin, PAGE)
    response = admin.post(
        PAGE,
        data={"csrf_token": token, "dialect": dialect, "displayName": name, "expiresInDays": "2"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    match = re.search(
        r'id="new-link" type="text" readonly value="([^"]+)"', response.get_data(as_text=True)
    )
    assert match
    return match.group(1).removeprefix("http://localhost")


def test_admins_make_a_link_shown_once_and_revoke_it(app: Flask, admin: FlaskClient):
    assert "Send an onboarding link" in admin.get("/sources").get_data(as_text=True)
    path = make_link(admin, name="Customer DB")
    assert path.startswith("/connect/")
    listing = admin.get(PAGE).get_data(as_text=True)
    assert "Customer DB" in listing and "Pending" in listing
    assert path.split("/")[-1] not in listing  # the link is shown once
    with app.app_context():
        link = db.session.scalar(db.select(OnboardingLink))
        assert (link.expires_at - link.created_at) == timedelta(days=2)
        assert link.created_by == ADMIN_EMAIL
        connection_id = link.public_id
    token = csrf_token(admin, PAGE)
    revoked = admin.post(f"{PAGE}/{connection_id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 302
    page = app.test_client().get(path)
    assert page.status_code == 410 and "revoked" in page.get_data(as_text=True)
    with app.app_context():
        actions = [e.action for e in db.session.scalars(db.select(AuditEvent))]
    assert "onboarding_link.created" in actions and "onboarding_link.revoked" in actions


def test_the_page_refuses_a_bad_lifetime_next_to_its_field(admin: FlaskClient):
    token = csrf_token(admin, PAGE)
    response = admin.post(
        PAGE, data={"csrf_token": token, "dialect": "POSTGRES", "expiresInDays": "90"}
    )
    assert response.status_code == 422
    assert re.search(r'id="expiresInDays-error">[^<]+<', response.get_data(as_text=True))


def test_the_public_page_shows_only_the_org_name_and_never_a_secret(app: Flask, admin: FlaskClient):
    add_source(app, "Secret project")
    path = make_link(admin)
    html = app.test_client().get(path).get_data(as_text=True)
    assert "Acme" in html and "Connect PostgreSQL to Acme" in html
    for hidden in ("Secret project", ADMIN_EMAIL, STORED_SECRET, "Members", "Sources"):
        assert hidden not in html, hidden
    assert re.search(r'<input[^>]+name="password"[^>]*>', html)
    assert not re.search(r'<input[^>]+name="password"[^>]+value="[^"]', html)


def test_posts_need_the_pages_csrf_token(app: Flask, admin: FlaskClient):
    path = make_link(admin)
    browser = app.test_client()
    browser.get(path)
    fields = {
        "completedBy": "Dana",
        "displayName": "X",
        "host": "127.0.0.1",
        "port": "1",
        "databaseName": "d",
        "username": "u",
        "password": "p",
    }
    assert browser.post(path, data=fields).status_code == 400
    assert browser.post(path + "/verify", data=fields).status_code == 400
    with app.app_context():
        assert db.session.scalar(db.select(Source).filter_by(display_name="X")) is None


def test_the_public_page_is_limited_per_address(app: Flask, admin: FlaskClient):
    path = make_link(admin)
    app.config["CONNECT_RATE_LIMIT"] = (3, 600)
    browser = app.test_client()
    assert [browser.get(path).status_code for _ in range(3)] == [200, 200, 200]
    limited = browser.get(path)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert "Too many attempts" in limited.get_data(as_text=True)


def test_a_link_being_completed_refuses_a_second_completion(app: Flask, admin: FlaskClient):
    path = make_link(admin, name="Busy DB")
    browser = app.test_client()
    token = csrf_token(browser, path)
    with app.app_context():
        link = db.session.scalar(db.select(OnboardingLink))
        link.claimed_until = utcnow() + timedelta(minutes=1)  # another completion verifying
        db.session.commit()
    response = browser.post(
        path,
        data={
            "csrf_token": token,
            "completedBy": "Dana",
            "host": "127.0.0.1",
            "port": "1",
            "databaseName": "d",
            "username": "u",
            "password": "p",
        },
    )
    assert response.status_code == 409 and "being used" in response.get_data(as_text=True)


def test_a_refused_completion_keeps_the_link_usable_and_names_the_fields(
    app: Flask, admin: FlaskClient
):
    add_source(app, "Taken")
    path = make_link(admin)
    browser = app.test_client()
    token = csrf_token(browser, path)
    response = browser.post(
        path,
        data={
            "csrf_token": token,
            "completedBy": "",
            "displayName": "Taken",
            "host": "db.invalid",
            "port": "5432",
            "databaseName": "d",
            "username": "u",
            "password": "typed-secret",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "typed-secret" not in html
    assert re.search(r'id="completedBy-error">Enter your name', html)
    response = browser.post(
        path,
        data={
            "csrf_token": token,
            "completedBy": "Dana",
            "displayName": "taken",
            "host": "db.invalid",
            "port": "5432",
            "databaseName": "d",
            "username": "u",
            "password": "typed-secret",
        },
    )
    assert response.status_code == 422
    assert re.search(
        r'id="displayName-error">This name is already used', response.get_data(as_text=True)
    )
    with app.app_context():
        link = db.session.scalar(db.select(OnboardingLink))
        assert link.completed_at is None and link.claimed_until is None
    assert browser.get(path).status_code == 200


def test_page_urls_take_a_public_uuid(app: Flask, admin: FlaskClient):
    source_id = add_source(app)
    with app.app_context():
        public_id = db.session.get(Source, source_id).public_id
    detail = admin.get(f"/sources/{public_id}")
    assert detail.status_code == 308 and detail.headers["Location"] == f"/sources/{source_id}"
    edit = admin.get(f"/sources/{public_id.upper()}/edit?x=1")
    assert edit.headers["Location"] == f"/sources/{source_id}/edit?x=1"
    assert admin.get("/sources/00000000-0000-4000-8000-000000000000").status_code == 404


def test_the_egress_policy_applies_to_what_the_link_holder_types(app: Flask, admin: FlaskClient):
    path = make_link(admin, name="Metadata")
    browser = app.test_client()
    token = csrf_token(browser, path)
    response = browser.post(
        path,
        data={
            "csrf_token": token,
            "completedBy": "Mallory",
            "host": "169.254.169.254",
            "port": "80",
            "databaseName": "d",
            "username": "u",
            "password": "p",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "link-local or cloud metadata" in html
    assert re.search(r'id="host-error">This address is not allowed', html)
    with app.app_context():
        assert db.session.scalar(db.select(Source).filter_by(display_name="Metadata")) is None
        verify = db.session.scalar(db.select(AuditEvent).filter_by(action="source.verified"))
        assert verify is None or verify.actor == "Mallory (onboarding link)"


def test_link_tokens_are_redacted_in_access_log_lines():
    import logging

    from webapp.web.connect_pages import RedactConnectTokens

    record = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '127.0.0.1 - - "GET /connect/%s HTTP/1.1" 200 -',
        ("abcDEF_123",),
        None,
    )
    RedactConnectTokens().filter(record)
    assert record.getMessage() == '127.0.0.1 - - "GET /connect/[redacted] HTTP/1.1" 200 -'
