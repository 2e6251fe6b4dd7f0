"""API fixtures: an organization with an admin and an API key, and a client that sends it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from webapp.accounts import create_admin
from webapp.api_keys import create_key
from webapp.extensions import db
from webapp.models import Organization, Source
from webapp.records import vault

PASSWORD = "a long admin password"
STORED_SECRET = "stored-secret-value"


@dataclass
class Api:
    """Calls /api/public/organizations/<org>/data-sources… with a bearer key."""

    client: FlaskClient
    org_id: int
    key: str
    headers: dict[str, str] = field(default_factory=dict)

    def url(self, path: str = "") -> str:
        return f"/api/public/organizations/{self.org_id}/data-sources{path}"

    def call(self, method: str, path: str = "", **kwargs: Any):
        headers = {
            "Authorization": f"Bearer {self.key}",
            **self.headers,
            **kwargs.pop("headers", {}),
        }
        return self.client.open(self.url(path), method=method, headers=headers, **kwargs)

    def get(self, path: str = "", **kwargs: Any):
        return self.call("GET", path, **kwargs)

    def post(self, path: str = "", **kwargs: Any):
        return self.call("POST", path, **kwargs)

    def patch(self, path: str = "", **kwargs: Any):
        return self.call("PATCH", path, **kwargs)

    def delete(self, path: str = "", **kwargs: Any):
        return self.call("DELETE", path, **kwargs)


def make_org(app: Flask, name: str, email: str) -> tuple[int, str]:
    """An organization with an admin and an API key: (org id, key plaintext)."""
    with app.app_context():
        create_admin(name, email, PASSWORD)
        org = db.session.scalar(db.select(Organization).filter_by(name=name))
        _, plaintext = create_key(org, f"{name} tests")
        return org.id, plaintext


def add_source(
    app: Flask,
    org_id: int,
    name: str = "Stored",
    host: str = "db.invalid",
    password: str = STORED_SECRET,
) -> int:
    """A source row written directly (no server needed to read, list or delete it)."""
    with app.app_context():
        source = Source(
            organization_id=org_id,
            display_name=name,
            dialect="POSTGRES",
            host=host,
            port=5432,
            database_name="app",
            username="reader",
            ssl_enabled=True,
            settings={"sslMode": "require"},
            secrets_blob=vault().encrypt({"password": password}),
        )
        db.session.add(source)
        db.session.commit()
        return source.id


@pytest.fixture
def api(app: Flask) -> Api:
    """A client of the first organization, "Acme"."""
    org_id, key = make_org(app, "Acme", "admin@example.com")
    return Api(app.test_client(), org_id, key)


@pytest.fixture
def other_api(app: Flask, api: Api) -> Api:
    """A client of a second organization, "Globex"."""
    org_id, key = make_org(app, "Globex", "admin@globex.example")
    return Api(app.test_client(), org_id, key)
