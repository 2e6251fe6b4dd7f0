"""Helpers for the teams tests: members of a role made through real invitations, their
logged-in clients, and API keys of a scope."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.fixtures_app import csrf_token
from webapp.api_keys import create_key
from webapp.extensions import db
from webapp.members import invitations
from webapp.models import Organization, User

PASSWORD = "a long member password"


def org_named(name: str = "Acme") -> Organization:
    """The organization called `name` (inside an app context)."""
    return db.session.scalar(select(Organization).where(Organization.name == name))


def invite_and_accept(app: Flask, email: str, role: str, org: str = "Acme") -> int:
    """A member of `role` made through an invitation and its acceptance; their user id."""
    with app.app_context():
        new = invitations.create(org_named(org), email, role, "http://localhost")
        token = new.url.rsplit("/", 1)[1]
        return invitations.accept_with_password(token, email.split("@")[0], PASSWORD).id


def logged_in(app: Flask, email: str, password: str = PASSWORD) -> FlaskClient:
    """A fresh client logged in as `email`."""
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post(
        "/login", data={"csrf_token": token, "email": email, "password": password}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def key_of(app: Flask, scope: str, creator_email: str | None = None, org: str = "Acme") -> str:
    """The plaintext of a new key of `scope` (created by `creator_email` when given)."""
    with app.app_context():
        creator = (
            db.session.scalar(select(User).where(User.email == creator_email))
            if creator_email
            else None
        )
        _, plaintext = create_key(org_named(org), f"{scope} key", creator, scope=scope)
        return plaintext
