"""Pages without a database server: setup, login, roles, CSRF, validation, headers."""

import re

from tests.fixtures_app import ADMIN_EMAIL, ADMIN_PASSWORD, csrf_token
from webapp.accounts import create_admin
from webapp.extensions import db
from webapp.models import Membership, Role


def test_first_visit_leads_to_setup_then_setup_closes(client):
    assert client.get("/").headers["Location"].endswith("/setup")
    assert client.get("/sources").headers["Location"].endswith("/setup")
    token = csrf_token(client, "/setup")
    short = client.post(
        "/setup",
        data={
            "csrf_token": token,
            "organization": "Acme",
            "email": "a@example.com",
            "password": "short",
            "confirm": "short",
        },
    )
    assert short.status_code == 422
    assert "at least 12 characters" in short.get_data(as_text=True)
    ok = client.post(
        "/setup",
        data={
            "csrf_token": token,
            "organization": "Acme",
            "email": ADMIN_EMAIL,
            "password": ADMIN_PASSWORD,
            "confirm": ADMIN_PASSWORD,
        },
    )
    assert ok.status_code == 302
    assert client.get("/setup").headers["Location"].endswith("/login")


def test_password_is_stored_hashed(admin, app):
    with app.app_context():
        row = db.session.execute(db.text("select password_hash from users")).scalar_one()
    assert ADMIN_PASSWORD not in row and row.startswith(("scrypt:", "pbkdf2:"))


def test_login_and_logout(admin, app):
    token = csrf_token(admin, "/sources")
    assert admin.post("/logout", data={"csrf_token": token}).status_code == 302
    assert admin.get("/sources").status_code == 302
    token = csrf_token(admin, "/login")
    bad = admin.post(
        "/login", data={"csrf_token": token, "email": ADMIN_EMAIL, "password": "wrong password!"}
    )
    assert bad.status_code == 422 and "Incorrect email or password" in bad.get_data(as_text=True)
    good = admin.post(
        "/login", data={"csrf_token": token, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert good.status_code == 302
    assert admin.get("/sources").status_code == 200


def test_post_without_csrf_is_refused(admin):
    response = admin.post("/sources/verify", data={"displayName": "x", "dialect": "POSTGRES"})
    assert response.status_code == 400


def test_members_cannot_add_edit_or_delete(admin, app, client):
    with app.app_context():
        member = create_admin("Acme", "member@example.com", "member password 123")
        membership = db.session.scalar(db.select(Membership).filter_by(user_id=member.id))
        membership.role = Role.VIEWER.value
        db.session.commit()
    other = app.test_client()
    token = csrf_token(other, "/login")
    other.post(
        "/login",
        data={
            "csrf_token": token,
            "email": "member@example.com",
            "password": "member password 123",
        },
    )
    page = other.get("/sources")
    assert page.status_code == 200 and "Add data source" not in page.get_data(as_text=True)
    assert other.get("/sources/new").status_code == 403
    token = csrf_token(other, "/sources")
    for url in (
        "/sources/new",
        "/sources/verify",
        "/sources/1/edit",
        "/sources/1/delete",
        "/sources/1/sync",
    ):
        assert other.post(url, data={"csrf_token": token}).status_code == 403, url


def test_bad_input_is_refused_under_each_field_before_connecting(admin):
    token = csrf_token(admin, "/sources/new")
    response = admin.post(
        "/sources/verify",
        headers={"HX-Request": "true"},
        data={
            "csrf_token": token,
            "displayName": "",
            "dialect": "POSTGRES",
            "host": "db host=evil",
            "port": "70000",
            "databaseName": "d" * 64,
            "username": "",
            "password": "",
        },
    )
    html = response.get_data(as_text=True)
    slots = dict(re.findall(r'<p class="field-error" id="(\w+)-error"[^>]*>([^<]*)</p>', html))
    # Every field's slot is swapped (so an earlier try's errors clear); these hold errors.
    assert {
        "displayName",
        "description",
        "maxPoolSize",
        "dialect",
        "connectionString",
        "host",
        "sslEnabled",
        "sshHost",
        "sslMode",
    } <= set(slots)
    assert {k: v for k, v in slots.items() if v} == {
        "displayName": "Display name is required",
        "host": "Enter a host name or IP address (letters, digits, dots and dashes)",
        "port": "Port must be between 1 and 65535",
        "databaseName": "Database name must be at most 63 characters",
        "username": "Username is required",
    }
    assert "Check the highlighted fields" in html


def test_without_htmx_the_whole_page_comes_back_with_errors_and_aria(admin):
    token = csrf_token(admin, "/sources/new")
    response = admin.post(
        "/sources/new",
        data={
            "csrf_token": token,
            "displayName": "Prod",
            "dialect": "POSTGRES",
            "host": "",
            "port": "5432",
            "databaseName": "app",
            "username": "u",
            "password": "secret-pw",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'<input aria-describedby="host-help host-error" aria-invalid="true"', html)
    assert '<p class="field-error" id="host-error">Host is required</p>' in html
    assert 'value="Prod"' in html
    assert "secret-pw" not in html


def test_dialect_swap_partial_keeps_shared_values_but_never_secrets(admin):
    response = admin.get(
        "/sources/fieldset?dialect=POSTGRES&host=db.example.com&port=6543&password=leak-me"
    )
    html = response.get_data(as_text=True)
    assert 'id="dialect-fields"' in html
    assert 'value="db.example.com"' in html and 'value="6543"' in html
    assert "leak-me" not in html


def test_security_headers(client):
    response = client.get("/setup")
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_create_admin_command(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "datadock",
            "create-admin",
            "--org",
            "Ops",
            "--email",
            "ops@example.com",
            "--password",
            "twelve chars!",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Created admin ops@example.com" in result.output
    again = runner.invoke(
        args=[
            "datadock",
            "create-admin",
            "--org",
            "Ops",
            "--email",
            "ops@example.com",
            "--password",
            "twelve chars!",
        ]
    )
    assert again.exit_code != 0 and "already exists" in again.output
    short = runner.invoke(
        args=[
            "datadock",
            "create-admin",
            "--org",
            "Ops",
            "--email",
            "x@example.com",
            "--password",
            "short",
        ]
    )
    assert short.exit_code != 0 and "at least 12" in short.output
