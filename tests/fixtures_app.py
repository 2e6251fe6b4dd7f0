"""App fixtures: a Datadock app on a fresh SQLite store migrated with the real migrations."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from webapp import create_app
from webapp.extensions import db

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "a long admin password"


@pytest.fixture
def app(tmp_path, monkeypatch) -> Iterator[Flask]:
    """A fresh app and store per test; the scheduler is off unless a test starts it."""
    monkeypatch.setenv("DATADOCK_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATADOCK_ENCRYPTION_KEYS", raising=False)
    application = create_app({"TESTING": True, "SCHEDULER_ENABLED": False, "VERIFY_TIMEOUT": 3.0})
    with application.app_context():
        upgrade()
    yield application
    runner = application.extensions.get("datadock_runner")
    if runner is not None:
        runner.stop(wait=True)
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def quick_app(tmp_path_factory) -> Iterator[Flask]:
    """One app per test module for tests that read and write no stored row (validation,
    verify): an empty in-memory store, no migrations, so they start in milliseconds."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATADOCK_INSTANCE_PATH", str(tmp_path_factory.mktemp("instance")))
        patch.delenv("DATABASE_URL", raising=False)
        yield create_app(
            {
                "TESTING": True,
                "SCHEDULER_ENABLED": False,
                "VERIFY_TIMEOUT": 3.0,
                "SQLALCHEMY_DATABASE_URI": "sqlite://",
            }
        )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser-like client with no account yet."""
    return app.test_client()


def csrf_token(client: FlaskClient, url: str) -> str:
    """The CSRF token of the form served at `url`."""
    html = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


@pytest.fixture
def admin(client: FlaskClient) -> FlaskClient:
    """A client logged in as the admin created through the setup page."""
    token = csrf_token(client, "/setup")
    response = client.post(
        "/setup",
        data={
            "csrf_token": token,
            "organization": "Acme",
            "email": ADMIN_EMAIL,
            "password": ADMIN_PASSWORD,
            "confirm": ADMIN_PASSWORD,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client
