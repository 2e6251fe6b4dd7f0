"""Sessions end server-side: logout, a password change, a role change and removing a user end
every session of that user at once (a copied cookie included); every session has an absolute
lifetime beside the idle timeout; HSTS in production; first-run setup happens exactly once.

Copied cookies are replayed with the same User-Agent as the browser that logged in (Flask-Login's
strong session protection would drop them otherwise, which would prove nothing). Time is a clock
the tests move (`webapp.web.auth.clock`), never a sleep."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from flask_login.utils import encode_cookie
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from werkzeug.serving import make_server

from tests.fixtures_app import ADMIN_EMAIL, ADMIN_PASSWORD, csrf_token
from webapp import accounts, create_app
from webapp.extensions import db
from webapp.models import Installation, Membership, Organization, Role, User
from webapp.web import auth

MEMBER_EMAIL, MEMBER_PASSWORD = "member@example.com", "member password 123"
ENDED = "Your session has ended. Log in again."
UA = "Mozilla/5.0 (session-test)"


class Clock:
    """A clock the test moves: seconds since the epoch."""

    def __init__(self, now: float = 1_900_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, *, hours: float = 0, minutes: float = 0, seconds: float = 0) -> None:
        self.now += hours * 3600 + minutes * 60 + seconds


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(auth, "clock", fake)
    return fake


def login(client: FlaskClient, email: str, password: str):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"csrf_token": token, "email": email, "password": password})


def logout(client: FlaskClient):
    return client.post("/logout", data={"csrf_token": csrf_token(client, "/sources")})


def copy_of(app: Flask, browser: FlaskClient) -> FlaskClient:
    """Another client holding a copy of the browser's session cookie (same User-Agent)."""
    thief = app.test_client()
    thief.set_cookie("session", browser.get_cookie("session").value)
    return thief


def user(email: str) -> User:
    return db.session.scalar(db.select(User).where(User.email == email))


def assert_ended(client: FlaskClient, message: str = ENDED) -> None:
    """The next request is sent to the login page with the message, and the session is gone."""
    response = client.get("/sources")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert message in client.get("/login").get_data(as_text=True)
    with client.session_transaction() as session:
        assert "_user_id" not in session
    assert client.get("/sources").status_code == 302


@pytest.fixture
def member(app: Flask, admin: FlaskClient) -> FlaskClient:
    """A second account (a member of the admin's organization), logged in."""
    with app.app_context():
        created = accounts.create_admin("Acme", MEMBER_EMAIL, MEMBER_PASSWORD)
        db.session.scalar(db.select(Membership).filter_by(user_id=created.id)).role = "viewer"
        db.session.commit()
    client = app.test_client()
    assert login(client, MEMBER_EMAIL, MEMBER_PASSWORD).status_code == 302
    return client


# --- logout and copied cookies -------------------------------------------------------------


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    """The app under a real threaded WSGI server on loopback; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def _form_token(browser: requests.Session, url: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', browser.get(url, timeout=10).text)
    assert match, url
    return match.group(1)


def test_a_copied_cookie_stops_working_at_logout_over_http(served):
    browser = requests.Session()
    browser.headers["User-Agent"] = UA
    response = browser.post(
        served + "/setup",
        timeout=30,
        allow_redirects=False,
        data={
            "csrf_token": _form_token(browser, served + "/setup"),
            "organization": "Acme",
            "email": ADMIN_EMAIL,
            "password": ADMIN_PASSWORD,
            "confirm": ADMIN_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert "remember_token" not in response.headers.get("Set-Cookie", "")  # no remember-me
    copied = browser.cookies.get("session")
    thief = requests.Session()
    thief.headers["User-Agent"] = UA
    thief.cookies.set("session", copied)
    # The copy works while the session lives (so the refusal below is the logout's doing).
    assert thief.get(served + "/sources", timeout=10, allow_redirects=False).status_code == 200

    token = _form_token(browser, served + "/sources")
    browser.post(served + "/logout", data={"csrf_token": token}, timeout=10)

    refused = thief.get(served + "/sources", timeout=10, allow_redirects=False)
    assert refused.status_code == 302 and refused.headers["Location"].endswith("/login")
    # Still refused on every later try, and the logged-out browser's own old cookie too.
    thief.cookies.set("session", copied)
    assert thief.get(served + "/sources", timeout=10, allow_redirects=False).status_code == 302
    again = requests.Session()
    again.headers["User-Agent"] = UA
    again.cookies.set("session", copied)
    assert again.get(served + "/audit", timeout=10, allow_redirects=False).status_code == 302


def test_logout_ends_the_users_sessions_in_every_browser(app, admin, member):
    laptop, phone = admin, app.test_client()
    assert login(phone, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 302
    assert phone.get("/sources").status_code == 200
    logout(laptop)
    assert_ended(phone)
    assert member.get("/sources").status_code == 200  # another user's session is untouched
    assert login(phone, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 302  # logging in again works
    assert phone.get("/sources").status_code == 200


def test_a_session_id_without_the_generation_is_refused(app, admin):
    with app.app_context():
        user_id = user(ADMIN_EMAIL).id
    with admin.session_transaction() as session:
        session["_user_id"] = str(user_id)  # the format before session generations
    assert_ended(admin)


# --- password, role, removal ---------------------------------------------------------------


def _change_password(found: User) -> None:
    accounts.change_password(found, "a brand new password")


def _change_role(found: User) -> None:
    org = db.session.scalar(db.select(Organization))
    accounts.change_role(found, org.id, Role.ADMIN.value)


CHANGES: dict[str, Callable[[User], None]] = {
    "end_sessions": accounts.end_sessions,
    "password": _change_password,
    "role": _change_role,
    "removal": accounts.remove_user,
}


@pytest.mark.parametrize("change", CHANGES)
def test_each_change_ends_every_session_of_that_user_at_once(app, admin, member, change):
    copied = copy_of(app, member)
    assert copied.get("/sources").status_code == 200
    with app.app_context():
        CHANGES[change](user(MEMBER_EMAIL))
    assert_ended(member)
    assert_ended(copied)
    assert admin.get("/sources").status_code == 200  # the other user stays logged in


def test_after_a_password_change_only_the_new_password_logs_in(app, member):
    with app.app_context():
        accounts.change_password(user(MEMBER_EMAIL), "a brand new password")
    fresh = app.test_client()
    assert login(fresh, MEMBER_EMAIL, MEMBER_PASSWORD).status_code == 422
    assert login(fresh, MEMBER_EMAIL, "a brand new password").status_code == 302


def test_after_a_role_change_the_new_login_has_the_new_role(app, member):
    assert member.get("/audit").status_code == 403
    with app.app_context():
        _change_role(user(MEMBER_EMAIL))
    assert_ended(member)
    assert login(member, MEMBER_EMAIL, MEMBER_PASSWORD).status_code == 302
    assert member.get("/audit").status_code == 200


def test_refused_changes_keep_the_sessions(app, member):
    with app.app_context():
        found = user(MEMBER_EMAIL)
        with pytest.raises(accounts.AccountError, match="at least 12"):
            accounts.change_password(found, "short")
        org = db.session.scalar(db.select(Organization))
        with pytest.raises(accounts.AccountError, match="Choose one of"):
            accounts.change_role(found, org.id, "owner")
        with pytest.raises(accounts.AccountError, match="not a member"):
            accounts.change_role(found, org.id + 1, Role.ADMIN.value)
    assert member.get("/sources").status_code == 200


def test_a_removed_users_id_reused_by_a_new_account_does_not_revive_the_cookie(app, member):
    with app.app_context():
        old_id = user(MEMBER_EMAIL).id
        accounts.remove_user(user(MEMBER_EMAIL))
        assert db.session.scalar(db.select(Membership).filter_by(user_id=old_id)) is None
        newcomer = accounts.create_admin("Acme", "newcomer@example.com", "newcomer password 1")
        reused = newcomer.id == old_id
    assert reused  # SQLite hands the freed id out again: the case this test is about
    assert_ended(member)


def test_a_remember_cookie_is_never_a_way_in(app, admin):
    """No remember-me cookie is issued; one forged with the signing key gets no session, for an
    ended generation nor for the current one (it carries no login time)."""
    with app.app_context():
        found = user(ADMIN_EMAIL)
        with app.test_request_context():
            current = encode_cookie(found.get_id())
        accounts.end_sessions(found)
        found = user(ADMIN_EMAIL)
        with app.test_request_context():
            fresh = encode_cookie(found.get_id())
    for cookie in (current, fresh):
        browser = app.test_client()
        browser.set_cookie("remember_token", cookie)
        response = browser.get("/sources")
        assert response.status_code == 302 and "/login" in response.headers["Location"]
        assert browser.get("/sources").status_code == 302
        assert browser.get("/audit").status_code == 302


# --- absolute lifetime ---------------------------------------------------------------------


def test_a_busy_session_still_ends_12_hours_after_login(clock, app, admin):
    assert "SESSION_MAX_HOURS" not in app.config or app.config["SESSION_MAX_HOURS"] == 12
    for _ in range(14):  # a request every 50 minutes: never idle, 11 h 40 min in all
        clock.advance(minutes=50)
        assert admin.get("/sources").status_code == 200
    clock.advance(minutes=20)  # exactly 12 h after login: still in
    assert admin.get("/sources").status_code == 200
    clock.advance(seconds=1)
    assert_ended(admin, "Your session ended 12 hours after you logged in. Log in again.")
    assert login(admin, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 302
    assert admin.get("/sources").status_code == 200  # a new login starts a new lifetime


def test_the_lifetime_is_configurable_and_htmx_requests_are_redirected(clock, app, admin):
    app.config["SESSION_MAX_HOURS"] = 0.5
    clock.advance(minutes=29)
    assert admin.get("/sources").status_code == 200
    clock.advance(minutes=2)
    response = admin.get("/sources", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"].endswith("/login")
    assert "ended 0.5 hours after you logged in" in admin.get("/login").get_data(as_text=True)


def test_the_idle_timeout_uses_the_same_clock(clock, app, admin):
    clock.advance(minutes=59)
    assert admin.get("/sources").status_code == 200
    clock.advance(minutes=61)
    assert_ended(admin, "You were logged out after 60 minutes without activity.")


# --- HSTS ----------------------------------------------------------------------------------

HSTS = "max-age=31536000; includeSubDomains"


def test_hsts_is_sent_in_production_only(tmp_path, monkeypatch, client):
    """Production is the DATADOCK_PRODUCTION setting (what DATADOCK_ENV=production sets)."""
    assert "Strict-Transport-Security" not in client.get("/setup").headers
    monkeypatch.setenv("DATADOCK_INSTANCE_PATH", str(tmp_path / "prod"))
    production = create_app(
        {"TESTING": True, "SCHEDULER_ENABLED": False, "DATADOCK_PRODUCTION": True}
    )
    with production.app_context():
        upgrade()
    browser = production.test_client()
    for url in ("/setup", "/login", "/static/app.css", "/api/v1/data-sources"):
        assert browser.get(url).headers.get("Strict-Transport-Security") == HSTS, url
    with production.app_context():
        db.engine.dispose()


# --- first-run setup -----------------------------------------------------------------------


def test_setup_after_setup_says_it_is_already_set_up(app, admin):
    late = app.test_client()
    token = csrf_token(late, "/login")
    response = late.post(
        "/setup",
        data={
            "csrf_token": token,
            "organization": "Other",
            "email": "late@example.com",
            "password": ADMIN_PASSWORD,
            "confirm": ADMIN_PASSWORD,
        },
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("/login")
    assert "Datadock is already set up" in late.get("/login").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Organization)) == 1
        with pytest.raises(accounts.AlreadySetUp):
            accounts.set_up("Other", "late@example.com", ADMIN_PASSWORD)
        assert db.session.get(Installation, 1) is not None


def test_a_claimed_installation_refuses_setup_even_without_users(app):
    with app.app_context():
        db.session.add(Installation(id=1))
        db.session.commit()
        with pytest.raises(accounts.AlreadySetUp):
            accounts.set_up("Acme", ADMIN_EMAIL, ADMIN_PASSWORD)
        assert not accounts.has_users()


# --- the migration -------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrate.sqlite3'}"
    from tests.integration.jobs_helpers import fresh_database

    pg = request.getfixturevalue("pg")
    name = fresh_database(pg, "sessions")
    return f"postgresql+psycopg://{pg.user}:{pg.password}@{pg.host}:{pg.port}/{name}"


def test_the_migration_gives_existing_users_generations_and_claims_setup(
    store_url, tmp_path, monkeypatch
):
    monkeypatch.setenv("DATADOCK_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    application = create_app(
        {"TESTING": True, "SCHEDULER_ENABLED": False, "SQLALCHEMY_DATABASE_URI": store_url}
    )
    with application.app_context():
        upgrade(revision="5b1c0e2a9d41")
        for email in ("a@example.com", "b@example.com"):
            db.session.execute(
                text(
                    "INSERT INTO users (email, password_hash, created_at) "
                    "VALUES (:e, 'x', CURRENT_TIMESTAMP)"
                ),
                {"e": email},
            )
        db.session.commit()
        upgrade(revision="6c1d2e3f4a51")
        generations = db.session.scalars(text("SELECT session_generation FROM users")).all()
        assert len(set(generations)) == 2
        assert all(re.fullmatch(r"[0-9a-f]{32}", g) for g in generations)
        assert db.session.scalar(text("SELECT count(*) FROM installation")) == 1
        db.session.commit()
        downgrade(revision="5b1c0e2a9d41")
        db.session.execute(text("DELETE FROM users"))
        db.session.commit()
        upgrade(revision="6c1d2e3f4a51")  # an empty store: setup not claimed yet
        assert db.session.scalar(text("SELECT count(*) FROM installation")) == 0
        db.session.remove()
        db.engine.dispose()
