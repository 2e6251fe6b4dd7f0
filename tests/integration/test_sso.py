"""Single sign-on against a real OpenID Connect provider on loopback (oidc-provider-mock,
which signs real ID tokens with its own key and serves discovery, keys and the token
endpoint). The browser's part — the provider's login form — is a POST to its authorize
endpoint with `requests`; Datadock's part runs through the Flask test client.

The provider puts a user's extra claims into the ID token over its own, so a user with
`aud` or `nonce` claims gets a properly signed token with the wrong audience or nonce: that
is how the refused tokens below are made. It does not check PKCE (it ignores
code_challenge); the tests check that Datadock sends an S256 challenge and keeps the verifier.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask_migrate import upgrade
from sqlalchemy import select

from tests.fixtures_app import ADMIN_EMAIL, ADMIN_PASSWORD, csrf_token
from tests.integration.jobs_helpers import fresh_database
from webapp import create_app, oidc
from webapp.extensions import db
from webapp.members import invitations
from webapp.models import AuditEvent, Membership, Organization, SsoState, User

with warnings.catch_warnings():  # its Authlib imports warn; Authlib's own "always" filter
    import authlib.deprecate  # noqa: F401  (comes first, so the "ignore" below wins)

    warnings.simplefilter("ignore", DeprecationWarning)
    import oidc_provider_mock

SECRET = "client-secret-never-shown"
USERS = [
    oidc_provider_mock.User(
        sub="alice-sub",
        claims={"email": "Alice@Example.com", "email_verified": True, "name": "Alice"},
    ),
    oidc_provider_mock.User(sub="admin-sub", claims={"email": ADMIN_EMAIL, "email_verified": True}),
    oidc_provider_mock.User(
        sub="admin-impostor", claims={"email": ADMIN_EMAIL, "email_verified": True}
    ),
    oidc_provider_mock.User(
        sub="unverified-sub", claims={"email": "carol@example.com", "email_verified": False}
    ),
    oidc_provider_mock.User(
        sub="outsider-sub", claims={"email": "dave@elsewhere.test", "email_verified": True}
    ),
    oidc_provider_mock.User(sub="no-email-sub", claims={}),
    oidc_provider_mock.User(
        sub="wrong-aud-sub",
        claims={"email": "erin@example.com", "email_verified": True, "aud": "another-client"},
    ),
    oidc_provider_mock.User(
        sub="bad-nonce-sub",
        claims={"email": "frank@example.com", "email_verified": True, "nonce": "not-this-sign-in"},
    ),
]


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """The provider's issuer URL (a loopback port of its own)."""
    with oidc_provider_mock.run_server_in_thread(
        port=0, require_nonce=True, user_claims=USERS
    ) as server:
        host, port = server.server_address[:2]
        assert host in ("127.0.0.1", "::1"), host
        yield f"http://{'127.0.0.1' if host == '127.0.0.1' else '[::1]'}:{port}"


@pytest.fixture
def sso_app(app, admin, provider):
    """The app (set up: Acme and its admin) with SSO configured."""
    app.config.update(
        OIDC_ISSUER=provider,
        OIDC_CLIENT_ID="datadock",
        OIDC_CLIENT_SECRET=SECRET,
        OIDC_PROVIDER_NAME="Acme ID",
        OIDC_ALLOWED_DOMAINS=[],
        OIDC_DEFAULT_ROLE=None,
    )
    return app


def start(client) -> str:
    """Press "Sign in with …": the provider's authorize URL Datadock redirects to."""
    token = csrf_token(client, "/login")
    response = client.post("/login/sso", data={"csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def authorize(url: str, sub: str) -> str:
    """The provider's login form: sign in as `sub`; the callback path Datadock gets back."""
    response = requests.post(url, data={"sub": sub}, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:500]
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login/sso/callback"
    return f"{location.path}?{location.query}"


def sso(client, sub: str):
    """The whole flow for `sub`; Datadock's answer to the callback."""
    return client.get(authorize(start(client), sub))


def invite(app, email: str, role: str) -> None:
    with app.app_context():
        org = db.session.scalar(select(Organization))
        invitations.create(org, email, role, "http://localhost")


def role_of(app, email: str) -> str | None:
    with app.app_context():
        return db.session.scalar(select(Membership.role).join(User).where(User.email == email))


def failures(app) -> list[dict]:
    with app.app_context():
        return [
            event.details
            for event in db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "auth.sign_in_failed")
                .order_by(AuditEvent.id)
            )
        ]


def assert_refused(response, words: str) -> str:
    html = response.get_data(as_text=True)
    assert response.status_code == 403, html[:2000]
    assert 'id="sso-error"' in html and words in html, html[:3000]
    assert SECRET not in html
    return html


def test_login_page_shows_the_button_only_when_configured(app, admin, provider):
    anonymous = app.test_client()
    assert "Sign in with" not in anonymous.get("/login").get_data(as_text=True)
    csrf = csrf_token(anonymous, "/login")
    assert anonymous.post("/login/sso", data={"csrf_token": csrf}).status_code == 404
    app.config.update(
        OIDC_ISSUER=provider,
        OIDC_CLIENT_ID="datadock",
        OIDC_CLIENT_SECRET=SECRET,
        OIDC_PROVIDER_NAME="Acme ID",
    )
    html = anonymous.get("/login").get_data(as_text=True)
    assert "Sign in with Acme ID" in html and SECRET not in html
    # The start is a form POST: without its CSRF token it is refused.
    assert anonymous.post("/login/sso").status_code == 400


def test_an_invited_email_signs_in_with_the_invitations_role(sso_app, caplog):
    caplog.set_level(logging.INFO)
    invite(sso_app, "alice@example.com", "editor")
    client = sso_app.test_client()
    url = start(client)
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    assert query["nonce"] and query["state"] and query["client_id"] == ["datadock"]
    assert "openid" in query["scope"][0].split()
    with sso_app.app_context():  # state data (PKCE verifier, nonce) waits in the store
        stored = db.session.scalars(select(SsoState)).all()
        assert len(stored) == 1 and "code_verifier" in stored[0].value
    response = client.get(authorize(url, "alice-sub"))
    assert response.status_code == 303 and response.headers["Location"].endswith("/sources")
    assert client.get("/sources").status_code == 200
    assert role_of(sso_app, "alice@example.com") == "editor"
    with sso_app.app_context():
        user = db.session.scalar(select(User).where(User.email == "alice@example.com"))
        assert (user.oidc_issuer, user.oidc_subject) == (sso_app.config["OIDC_ISSUER"], "alice-sub")
        assert user.password_hash == "" and user.name == "Alice"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "sso.sign_in"))
        assert event.actor == "alice@example.com" and event.details["created"] is True
        assert db.session.scalars(select(SsoState)).all() == []  # taken once
    # The password form does not let an SSO-made account in with an empty password.
    other = sso_app.test_client()
    token = csrf_token(other, "/login")
    refused = other.post(
        "/login", data={"csrf_token": token, "email": "alice@example.com", "password": ""}
    )
    assert refused.status_code == 422
    # Signing in again finds the linked identity (and keeps the role).
    again = sso_app.test_client()
    assert sso(again, "alice-sub").status_code == 303
    assert role_of(sso_app, "alice@example.com") == "editor"
    assert SECRET not in caplog.text


def test_without_an_invitation_the_default_role_applies_or_the_sign_in_is_refused(sso_app):
    client = sso_app.test_client()
    assert_refused(sso(client, "alice-sub"), "There is no invitation for alice@example.com")
    assert client.get("/sources").status_code == 302  # not signed in
    assert failures(sso_app)[-1] == {"method": "sso", "reason": "no_invitation"}
    sso_app.config["OIDC_DEFAULT_ROLE"] = "viewer"
    assert sso(client, "alice-sub").status_code == 303
    assert role_of(sso_app, "alice@example.com") == "viewer"


def test_a_password_account_with_the_same_verified_email_is_linked(sso_app):
    client = sso_app.test_client()
    assert sso(client, "admin-sub").status_code == 303
    assert role_of(sso_app, ADMIN_EMAIL) == "admin"
    with sso_app.app_context():
        user = db.session.scalar(select(User).where(User.email == ADMIN_EMAIL))
        assert user.oidc_subject == "admin-sub"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "sso.sign_in"))
        assert event.details["linked"] is True
    # The password still works, and another subject with that email is refused.
    other = sso_app.test_client()
    token = csrf_token(other, "/login")
    assert (
        other.post(
            "/login", data={"csrf_token": token, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        ).status_code
        == 302
    )
    assert_refused(
        sso(sso_app.test_client(), "admin-impostor"), "already linked to another Acme ID account"
    )


def test_email_rules_refuse_unverified_missing_and_foreign_addresses(sso_app):
    sso_app.config.update(OIDC_DEFAULT_ROLE="viewer", OIDC_ALLOWED_DOMAINS=["example.com"])
    assert_refused(
        sso(sso_app.test_client(), "unverified-sub"),
        "has not verified the email address carol@example.com",
    )
    assert_refused(
        sso(sso_app.test_client(), "outsider-sub"),
        "Email addresses at elsewhere.test may not sign in here",
    )
    assert_refused(sso(sso_app.test_client(), "no-email-sub"), "did not share an email address")
    assert [f["reason"] for f in failures(sso_app)] == ["email_unverified", "domain", "no_email"]
    with sso_app.app_context():
        assert db.session.scalar(select(User).where(User.email == "carol@example.com")) is None


def test_a_token_for_another_audience_or_nonce_is_refused(sso_app):
    sso_app.config["OIDC_DEFAULT_ROLE"] = "viewer"
    assert_refused(
        sso(sso_app.test_client(), "wrong-aud-sub"),
        "issued for another application (wrong audience)",
    )
    assert_refused(sso(sso_app.test_client(), "bad-nonce-sub"), "nonce mismatch")
    assert [f["reason"] for f in failures(sso_app)] == ["id_token.aud", "id_token.nonce"]
    with sso_app.app_context():
        assert db.session.scalar(select(User).where(User.email == "erin@example.com")) is None


def test_a_replayed_or_missing_state_is_refused(sso_app):
    sso_app.config["OIDC_DEFAULT_ROLE"] = "viewer"
    client = sso_app.test_client()
    callback = authorize(start(client), "alice-sub")
    cookie_before = client.get_cookie("session").value
    assert client.get(callback).status_code == 303
    # The same callback again, in a fresh browser and with a copy of the earlier cookie.
    fresh = sso_app.test_client()
    assert_refused(fresh.get(callback), "already used")
    fresh.set_cookie("session", cookie_before)
    assert_refused(fresh.get(callback), "already used")
    # No state at all, and a state from another browser.
    code = parse_qs(urlsplit(callback).query)["code"][0]
    assert_refused(fresh.get(f"/login/sso/callback?code={code}"), "already used")
    other = sso_app.test_client()
    stolen = authorize(start(other), "alice-sub")
    assert_refused(sso_app.test_client().get(stolen), "did not start here")
    # Shown once, anywhere, a state is spent: even its own browser starts again.
    assert_refused(other.get(stolen), "already used")
    assert {f["reason"] for f in failures(sso_app)} == {"state"}


def test_the_provider_cancelling_is_a_message(sso_app):
    client = sso_app.test_client()
    url = start(client)
    response = requests.post(url, data={"action": "deny"}, allow_redirects=False, timeout=10)
    location = urlsplit(response.headers["Location"])
    assert_refused(client.get(f"{location.path}?{location.query}"), "cancelled at Acme ID")


def test_discovery_is_read_once_and_an_unreachable_issuer_is_a_message(sso_app, monkeypatch):
    sso_app.config["OIDC_DEFAULT_ROLE"] = "viewer"
    assert sso(sso_app.test_client(), "alice-sub").status_code == 303
    _, client = sso_app.extensions[oidc.NAME]
    loaded_at = client.server_metadata["_loaded_at"]
    assert sso(sso_app.test_client(), "admin-sub").status_code == 303
    assert sso_app.extensions[oidc.NAME][1].server_metadata["_loaded_at"] == loaded_at
    # A closed port: refused at once, and a message instead of a 500.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    sso_app.config["OIDC_ISSUER"] = f"http://127.0.0.1:{closed}"
    anonymous = sso_app.test_client()
    token = csrf_token(anonymous, "/login")
    assert_refused(
        anonymous.post("/login/sso", data={"csrf_token": token}), "Acme ID did not answer"
    )


def test_an_unresponsive_issuer_costs_one_timeout(sso_app, silent_port, monkeypatch):
    monkeypatch.setattr(oidc, "TIMEOUT", 1.0)
    sso_app.config["OIDC_ISSUER"] = f"http://127.0.0.1:{silent_port}"
    anonymous = sso_app.test_client()
    token = csrf_token(anonymous, "/login")
    assert_refused(
        anonymous.post("/login/sso", data={"csrf_token": token}), "Acme ID did not answer"
    )


class ForeignDiscovery(BaseHTTPRequestHandler):
    """A discovery document that names another issuer than the one it is served from."""

    def do_GET(self) -> None:
        body = json.dumps(
            {
                "issuer": "http://127.0.0.1:1",
                "jwks_uri": "http://127.0.0.1:1/k",
                "authorization_endpoint": "http://127.0.0.1:1/a",
                "token_endpoint": "http://127.0.0.1:1/t",
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_discovery_document_for_another_issuer_is_refused(sso_app):
    server = ThreadingHTTPServer(("127.0.0.1", 0), ForeignDiscovery)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        sso_app.config["OIDC_ISSUER"] = f"http://127.0.0.1:{server.server_address[1]}"
        anonymous = sso_app.test_client()
        token = csrf_token(anonymous, "/login")
        assert_refused(
            anonymous.post("/login/sso", data={"csrf_token": token}),
            "discovery document names another issuer",
        )
    finally:
        server.shutdown()
        server.server_close()


def test_sign_in_attempts_count_against_the_address_limit(sso_app):
    sso_app.config["LOGIN_ADDRESS_RATE_LIMIT"] = (3, 900)
    client = sso_app.test_client()
    url = start(client)  # 1
    assert_refused(client.get("/login/sso/callback?state=made-up"), "did not start here")  # 2
    client.get(authorize(url, "alice-sub"))  # 3 (no invitation: refused, counted)
    token = csrf_token(client, "/login")
    response = client.post("/login/sso", data={"csrf_token": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 429 and "Too many sign-in attempts" in html
    assert "throttled" not in {f["reason"] for f in failures(sso_app)}


def test_the_audit_log_names_why_a_sign_in_was_refused(sso_app, admin):
    assert_refused(sso(sso_app.test_client(), "unverified-sub"), "has not verified")
    html = admin.get("/audit").get_data(as_text=True)
    assert "Failed sign-in" in html and "email not verified by the provider" in html
    assert "carol@example.com" in html


@pytest.mark.parametrize(
    ("listed", "used"),
    [
        (None, "client_secret_basic"),
        (["client_secret_basic", "client_secret_post"], "client_secret_basic"),
        (["client_secret_post"], "client_secret_post"),
        (["private_key_jwt"], "client_secret_basic"),
    ],
)
def test_the_secret_goes_to_the_token_endpoint_the_way_the_provider_lists(listed, used):
    assert oidc.auth_method({"token_endpoint_auth_methods_supported": listed}) == used


def test_sign_in_and_a_refused_replay_on_a_postgresql_store(pg, provider, tmp_path, monkeypatch):
    name = fresh_database(pg, "ssostore")
    monkeypatch.setenv("DATADOCK_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    application = create_app(
        {
            "TESTING": True,
            "SCHEDULER_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://{pg.user}:{pg.password}@{pg.host}:{pg.port}/{name}",
            "OIDC_ISSUER": provider,
            "OIDC_CLIENT_ID": "datadock",
            "OIDC_CLIENT_SECRET": SECRET,
            "OIDC_PROVIDER_NAME": "Acme ID",
            "OIDC_DEFAULT_ROLE": "editor",
        }
    )
    try:
        with application.app_context():
            upgrade()
        setup = application.test_client()
        token = csrf_token(setup, "/setup")
        assert (
            setup.post(
                "/setup",
                data={
                    "csrf_token": token,
                    "organization": "Acme",
                    "email": ADMIN_EMAIL,
                    "password": ADMIN_PASSWORD,
                    "confirm": ADMIN_PASSWORD,
                },
            ).status_code
            == 302
        )
        client = application.test_client()
        callback = authorize(start(client), "alice-sub")
        assert client.get(callback).status_code == 303
        assert role_of(application, "alice@example.com") == "editor"
        assert_refused(application.test_client().get(callback), "already used")
    finally:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
