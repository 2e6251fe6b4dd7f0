"""Hardened pages: headers as served, cookies, login throttling, idle sessions, who may use
every route, labelled inputs, and no inline script or style anywhere."""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from tests.fixtures_app import ADMIN_EMAIL, ADMIN_PASSWORD, csrf_token
from webapp import create_app
from webapp.accounts import create_admin
from webapp.dialects import DIALECTS
from webapp.extensions import db
from webapp.models import Membership, Organization, Role, Source
from webapp.records import vault

ROOT = Path(__file__).resolve().parents[2]
MEMBER_EMAIL, MEMBER_PASSWORD = "member@example.com", "member password 123"
# Routes anyone may open, and why.
PUBLIC = {
    "web.setup": "first-run setup; closes itself once an account exists",
    "web.login": "the way in",
    "web.logout": "ending a session needs no role (POST with CSRF)",
    "web.index": "redirects to the sources list, which checks",
    "web.sso_start": "single sign-on's way in (POST with CSRF; 404 unless configured)",
    "web.sso_callback": "the provider's way back (state checked once; 404 unless configured)",
    "web.accept_invitation": "an invitation link: its single-use token is the credential",
    "web.connect_page": "an onboarding link: its single-use token is the credential",
    "web.connect_verify": "an onboarding link's Verify (POST with CSRF; the token again)",
}
# Prefixes of routes authenticated by a token instead of the session.
TOKEN_ROUTES = ("/api/", "/hooks/", "/metrics", "/v1/")  # /metrics: DATADOCK_METRICS_TOKEN


STORED_SECRET = "stored-secret-value"


def add_source(app: Flask, name: str = "Warehouse", password: str = STORED_SECRET) -> int:
    """A saved source row (no server needed to list, show, edit or delete it)."""
    with app.app_context():
        org = db.session.scalar(db.select(Organization))
        source = Source(
            organization_id=org.id,
            display_name=name,
            dialect="POSTGRES",
            host="db.example.com",
            port=5432,
            database_name="app",
            username="reader",
            secrets_blob=vault().encrypt({"password": password}),
        )
        db.session.add(source)
        db.session.commit()
        return source.id


def login(client: FlaskClient, email: str, password: str):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"csrf_token": token, "email": email, "password": password})


@pytest.fixture
def member(app: Flask, admin: FlaskClient) -> FlaskClient:
    """A client logged in as a member (not admin) of the admin's organization."""
    with app.app_context():
        user = create_admin("Acme", MEMBER_EMAIL, MEMBER_PASSWORD)
        row = db.session.scalar(db.select(Membership).filter_by(user_id=user.id))
        row.role = Role.VIEWER.value
        db.session.commit()
    client = app.test_client()
    assert login(client, MEMBER_EMAIL, MEMBER_PASSWORD).status_code == 302
    return client


# --- headers and cookies -------------------------------------------------------------------

EXPECTED_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def test_every_page_is_served_with_the_security_headers(app, admin):
    source_id = add_source(app)
    pages = [
        "/sources",
        "/sources/new",
        f"/sources/{source_id}",
        f"/sources/{source_id}/edit",
        f"/sources/{source_id}/delete",
        f"/sources/{source_id}/sync-panel",
        "/audit",
        "/static/app.css",
        "/no-such-page",
    ]
    for url in pages:
        response = admin.get(url)
        assert response.status_code in (200, 404), url
        for name, value in EXPECTED_HEADERS.items():
            assert response.headers.get(name) == value, (url, name)
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"]), url


def session_cookie(response) -> str:
    return next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))


def test_production_session_cookie_is_secure_httponly_and_lax(tmp_path, monkeypatch):
    monkeypatch.setenv("DATADOCK_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("DATADOCK_ENV", "production")
    monkeypatch.setenv("DATADOCK_ALLOW_SQLITE_IN_PRODUCTION", "true")  # the test's own store
    monkeypatch.setenv("SECRET_KEY", "a production secret key for the test")
    monkeypatch.setenv("DATADOCK_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    application = create_app({"SCHEDULER_ENABLED": False})
    with application.app_context():
        upgrade()
    cookie = session_cookie(application.test_client().get("/setup"))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    with application.app_context():
        db.engine.dispose()


def test_development_cookie_is_httponly_and_lax_without_secure(client):
    cookie = session_cookie(client.get("/setup"))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


# --- no inline script or style -------------------------------------------------------------


def test_no_template_has_inline_script_style_or_event_handlers():
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        for pattern in (
            r"<script(?![^>]*\bsrc=)[^>]*>",
            r"<style\b",
            r"\sstyle\s*=",
            r"\son[a-z]+\s*=",
            r"javascript:",
            r"hx-on",
        ):
            offenders += [f"{path.name}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert offenders == []


# --- login throttling and passwords --------------------------------------------------------


def throttle_message(response) -> str:
    match = re.search(
        r'<div class="banner error" role="alert" id="login-throttled">([^<]+)</div>',
        response.get_data(as_text=True),
    )
    assert match, "no throttling banner"
    return match.group(1)


def minutes(seconds: int) -> str:
    n = -(-seconds // 60)
    return f"{n} minute" + ("" if n == 1 else "s")


def test_login_is_throttled_per_account_with_a_clear_message(admin, app):
    app.config["LOGIN_RATE_LIMIT"] = (3, 900)
    other = app.test_client()
    for _ in range(3):
        assert login(other, ADMIN_EMAIL, "wrong password!!").status_code == 422
    refused = login(other, ADMIN_EMAIL, ADMIN_PASSWORD)  # even the right password now waits
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])  # until the current 15-minute window ends
    assert 1 <= wait <= 900
    assert throttle_message(refused) == f"Too many login attempts. Try again in {minutes(wait)}."
    assert other.get("/sources").status_code == 302  # not logged in
    # Another account from elsewhere is not affected by this account's limit... nor is a
    # second address limit reached yet.
    assert login(app.test_client(), MEMBER_EMAIL, "whatever it is!").status_code == 422


def test_login_is_throttled_per_address(admin, app):
    app.config["LOGIN_ADDRESS_RATE_LIMIT"] = (4, 600)
    other = app.test_client()
    for n in range(4):
        assert login(other, f"nobody{n}@example.com", "wrong password!!").status_code == 422
    refused = login(other, "someone-else@example.com", "wrong password!!")
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= 600
    assert throttle_message(refused) == f"Too many login attempts. Try again in {minutes(wait)}."
    # Another address still gets in (the test client's address is set per request).
    ok = other.post(
        "/login",
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
        data={
            "csrf_token": csrf_token(other, "/login"),
            "email": ADMIN_EMAIL,
            "password": ADMIN_PASSWORD,
        },
    )
    assert ok.status_code == 302


def test_passwords_shorter_than_12_characters_are_refused(client):
    token = csrf_token(client, "/setup")
    response = client.post(
        "/setup",
        data={
            "csrf_token": token,
            "organization": "Acme",
            "email": "a@example.com",
            "password": "elevenchars",
            "confirm": "elevenchars",
        },
    )
    assert response.status_code == 422
    assert "Use at least 12 characters" in response.get_data(as_text=True)


# --- sessions ------------------------------------------------------------------------------


def test_idle_session_ends_after_the_configured_minutes(admin, app):
    app.config["SESSION_IDLE_MINUTES"] = 30
    assert admin.get("/sources").status_code == 200
    with admin.session_transaction() as session:
        session["seen"] = int(time.time()) - 29 * 60  # active 29 minutes ago: still in
    assert admin.get("/sources").status_code == 200
    with admin.session_transaction() as session:
        assert session["seen"] >= int(time.time()) - 5  # the request refreshed it
        session["seen"] = int(time.time()) - 31 * 60
    response = admin.get("/sources")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    page = admin.get("/login").get_data(as_text=True)
    assert "You were logged out after 30 minutes without activity." in page
    assert admin.get("/sources").status_code == 302  # the session is gone, not just hidden
    with admin.session_transaction() as session:
        assert "_user_id" not in session


def test_idle_htmx_request_is_sent_to_the_login_page(admin, app):
    source_id = add_source(app)
    with admin.session_transaction() as session:
        session["seen"] = int(time.time()) - 61 * 60
    response = admin.get(f"/sources/{source_id}/sync-panel", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"].endswith("/login")


def test_logout_clears_the_session(admin):
    token = csrf_token(admin, "/sources")
    admin.post("/logout", data={"csrf_token": token})
    with admin.session_transaction() as session:
        assert "_user_id" not in session and "seen" not in session


# --- who may use every route ---------------------------------------------------------------


def _url(rule, source_id: int, public_id: str = "") -> str:
    values = {}
    for name, converter in rule._converters.items():
        is_int = type(converter).__name__ == "IntegerConverter"
        if type(converter).__name__ == "UUIDConverter":  # a source's public id
            values[name] = public_id
            continue
        values[name] = source_id if is_int else "x" * 20
    return rule.build(values, append_unknown=False)[1]


def test_every_route_declares_who_may_use_it_and_members_get_403_on_admin_routes(
    app, admin, member
):
    source_id = add_source(app)
    with app.app_context():
        public_id = db.session.get(Source, source_id).public_id
    anonymous = app.test_client()
    anonymous_token = csrf_token(anonymous, "/login")
    member_token = csrf_token(member, "/sources")
    checked = {"admin": 0, "editor": 0, "viewer": 0, "token": 0}
    for rule in app.url_map.iter_rules():
        endpoint = rule.endpoint
        if endpoint == "static" or endpoint in PUBLIC:
            continue
        url = _url(rule, source_id, public_id)
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        if rule.rule.startswith(TOKEN_ROUTES):
            for method in methods:
                response = anonymous.open(url, method=method, json={})
                if rule.rule.endswith("openapi.json"):
                    assert response.status_code == 200, url
                else:
                    assert response.status_code in (401, 403, 404), (method, url)
            checked["token"] += 1
            continue
        access = getattr(app.view_functions[endpoint], "access", None)
        assert access in ("admin", "editor", "viewer"), (
            f"{endpoint} ({rule.rule}) declares no role (@admin/editor/viewer_required)"
        )
        for method in methods:
            data = {"csrf_token": member_token} if method != "GET" else None
            response = member.open(url, method=method, data=data)
            if access != "viewer":  # the `member` fixture is a viewer
                assert response.status_code == 403, (method, url, response.status_code)
            else:
                assert response.status_code < 400, (method, url, response.status_code)
            data = {"csrf_token": anonymous_token} if method != "GET" else None
            response = anonymous.open(url, method=method, data=data)
            assert response.status_code == 302, (method, url)
            assert "/login" in response.headers["Location"], (method, url)
        checked[access] += 1
    assert checked["editor"] >= 8 and checked["viewer"] >= 3, checked
    # The member's refusals changed nothing.
    with app.app_context():
        assert db.session.get(Source, source_id).display_name == "Warehouse"


def test_member_sees_sources_but_no_admin_controls(app, member):
    source_id = add_source(app)
    listing = member.get("/sources").get_data(as_text=True)
    assert "Warehouse" in listing and "Add data source" not in listing
    detail = member.get(f"/sources/{source_id}").get_data(as_text=True)
    for control in ("Edit", "Sync now", "Delete", "Audit log", "API keys"):
        assert f">{control}<" not in detail, control


# --- accessibility: every input has a label ------------------------------------------------


class _Controls(HTMLParser):
    """Collects form controls, labels' `for`, and controls nested in a label."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.in_label = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "label":
            self.in_label += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        if tag in ("input", "select", "textarea") and a.get("type") not in (
            "hidden",
            "submit",
            "button",
        ):
            self.controls.append({**a, "_tag": tag, "_wrapped": "1" if self.in_label else ""})

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.in_label -= 1


def unlabelled(html: str) -> list[str]:
    parser = _Controls()
    parser.feed(html)
    return [
        f"{c['_tag']} {c.get('name')}"
        for c in parser.controls
        if not (c["_wrapped"] or c.get("aria-label") or c.get("id") in parser.label_for)
    ]


def test_every_input_on_every_page_is_labelled_and_described(app, admin, client):
    source_id = add_source(app)
    urls = [
        "/sources",
        f"/sources/{source_id}",
        f"/sources/{source_id}/edit",
        f"/sources/{source_id}/delete",
        "/audit",
    ]
    urls += [f"/sources/new?dialect={key}" for key in DIALECTS]
    for url in urls:
        html = admin.get(url).get_data(as_text=True)
        assert unlabelled(html) == [], url
        # Every field's error slot is named by its input's aria-describedby.
        for name in re.findall(r'<p class="field-error" id="(\w+)-error"', html):
            control = re.search(rf'<(?:input|select|textarea)[^>]*\bid="{name}"[^>]*>', html)
            if control:
                assert f"{name}-error" in control.group(0), (url, name)
    anonymous = app.test_client()
    assert unlabelled(anonymous.get("/login").get_data(as_text=True)) == []


def test_verify_result_is_a_live_region(admin):
    html = admin.get("/sources/new").get_data(as_text=True)
    assert re.search(r'id="verify-result"[^>]*role="status"[^>]*aria-live="polite"', html)


def test_empty_states_say_what_to_do_next(admin, member):
    admin_list = admin.get("/sources").get_data(as_text=True)
    assert "No data sources yet" in admin_list and 'href="/sources/new"' in admin_list
    assert "An admin of your organization can add one." in member.get("/sources").get_data(
        as_text=True
    )
    audit = admin.get("/audit").get_data(as_text=True)
    assert "Nothing recorded yet" in audit and 'href="/sources/new"' in audit


# --- without JavaScript --------------------------------------------------------------------


def test_without_javascript_changing_the_dialect_re_renders_and_saves_nothing(app, admin):
    token = csrf_token(admin, "/sources/new")
    page = admin.get("/sources/new").get_data(as_text=True)
    assert '<noscript><button type="submit" name="changeDialect"' in page
    assert '<input type="hidden" name="fieldsetDialect" value="POSTGRES">' in page
    for url in ("/sources/new", "/sources/verify"):  # Save or Verify pressed after the change
        response = admin.post(
            url,
            data={
                "csrf_token": token,
                "fieldsetDialect": "POSTGRES",
                "dialect": "MYSQL",
                "displayName": "Shop",
                "host": "db.example.com",
                "port": "5432",
                "username": "reader",
                "password": "typed-secret-value",
            },
        )
        html = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert "<legend>MySQL connection</legend>" in html
        assert 'value="Shop"' in html and 'value="db.example.com"' in html
        assert re.search(r'id="port"[^>]*value="3306"', html)  # not PostgreSQL's 5432
        assert "typed-secret-value" not in html
        assert 'class="field-error" id="host-error"></p>' in html  # nothing was verified
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Source)) == 0


def test_without_javascript_delete_opens_a_confirmation_page(app, admin):
    source_id = add_source(app)
    detail = admin.get(f"/sources/{source_id}").get_data(as_text=True)
    assert f'<form method="get" action="/sources/{source_id}/delete"' in detail
    page = admin.get(f"/sources/{source_id}/delete").get_data(as_text=True)
    assert f'<form method="post" action="/sources/{source_id}/delete">' in page
    with app.app_context():
        assert db.session.get(Source, source_id) is not None  # a GET deletes nothing
