"""App fixtures: a Datadock app on a fresh SQLite store migrated with the real migrations.

The migrations run once per session into a template store (`migrated_store`); each test gets
its own copy of that file (SQLite's backup API, milliseconds) instead of running the whole
chain again (about a second a test)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from webapp import create_app
from webapp.extensions import db

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "a long admin password"


STORE_FILE = "datadock.sqlite3"  # the SQLite store's name in the instance folder (config.py)


@pytest.fixture(scope="session")
def migrated_store(tmp_path_factory) -> Path:
    """A SQLite store at the migrations' head, made once per session with the real migrations."""
    instance = tmp_path_factory.mktemp("template") / "instance"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATADOCK_INSTANCE_PATH", str(instance))
        for name in ("DATABASE_URL", "SECRET_KEY", "DATADOCK_ENCRYPTION_KEYS"):
            patch.delenv(name, raising=False)
        application = create_app({"TESTING": True, "SCHEDULER_ENABLED": False})
        with application.app_context():
            upgrade()
            db.session.remove()
            db.engine.dispose()
    return instance / STORE_FILE


def copy_store(template: Path, instance: Path) -> None:
    """Write a copy of the template store into `instance` (made if missing), WAL included."""
    instance.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(template)
    target = sqlite3.connect(instance / STORE_FILE)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


@pytest.fixture
def app(tmp_path, monkeypatch, migrated_store) -> Iterator[Flask]:
    """A fresh app and store per test; the scheduler is off unless a test starts it."""
    monkeypatch.setenv("DATADOCK_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATADOCK_ENCRYPTION_KEYS", raising=False)
    copy_store(migrated_store, tmp_path / "instance")
    application = create_app({"TESTING": True, "SCHEDULER_ENABLED": False, "VERIFY_TIMEOUT": 3.0})
    with application.app_context():
        upgrade()  # a no-op at head: the copy is there already
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


def page_text(client: FlaskClient, url: str) -> str:
    """The page at `url` with its CSRF tokens blanked: a token holds the second it was made,
    so two renderings of the same page differ in it when a second boundary falls between."""
    html = client.get(url).get_data(as_text=True)
    return re.sub(r'(name="csrf_token"[^>]*value=)"[^"]*"', r'\1""', html)


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
