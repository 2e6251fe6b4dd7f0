"""A stored source whose dialect this server no longer registers (a removed driver module):
its pages answer, they do not raise (mypy found the edit page passing None as the dialect)."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.unit.test_hardening import add_source
from webapp.extensions import db
from webapp.models import Source


def _orphan(app: Flask) -> int:
    source_id = add_source(app, name="Legacy")
    with app.app_context():
        db.session.get(Source, source_id).dialect = "RETIRED_ENGINE"
        db.session.commit()
    return source_id


def test_the_list_and_the_source_page_still_answer(app: Flask, admin: FlaskClient) -> None:
    source_id = _orphan(app)
    listing = admin.get("/sources")
    assert listing.status_code == 200
    assert "Legacy" in listing.get_data(as_text=True)
    page = admin.get(f"/sources/{source_id}")
    assert page.status_code == 200
    assert "Legacy" in page.get_data(as_text=True)


def test_the_edit_page_says_the_dialect_is_not_available(app: Flask, admin: FlaskClient) -> None:
    source_id = _orphan(app)
    response = admin.get(f"/sources/{source_id}/edit")
    assert response.status_code == 409
    assert "RETIRED_ENGINE is not available" in response.get_data(as_text=True)
