"""The audit log of a source's whole life through the pages, against a real PostgreSQL."""

from __future__ import annotations

import re

import psycopg
import pytest

from tests.fixtures_app import ADMIN_EMAIL, csrf_token
from tests.integration.test_secrets_never_leak import (  # noqa: F401 - probe_role is a fixture
    ROLE,
    SAVED,
    probe_role,
)
from webapp.extensions import db
from webapp.models import AuditEvent, Source


def form(pg, **changes) -> dict:
    raw = {
        "displayName": "Orders DB",
        "dialect": "POSTGRES",
        "host": pg.host,
        "port": str(pg.port),
        "databaseName": pg.database,
        "username": pg.user,
        "password": pg.password,
        "sslEnabled": "y",
    }
    raw.update(changes)
    return raw


def test_create_verify_edit_sync_delete_are_recorded_newest_first(app, admin, pg):
    token = csrf_token(admin, "/sources/new")
    hx = {"HX-Request": "true"}
    admin.post(
        "/sources/verify",
        headers=hx,
        data={**form(pg, password="not the password"), "csrf_token": token},
    )
    admin.post("/sources/verify", headers=hx, data={**form(pg), "csrf_token": token})
    assert admin.post("/sources/new", data={**form(pg), "csrf_token": token}).status_code == 302
    with app.app_context():
        source_id = db.session.scalar(db.select(Source.id))
    # Edit: a new description and schema filter; the password is left blank (kept).
    secret_description = "Holds the quarterly numbers"
    edited = admin.post(
        f"/sources/{source_id}/edit",
        data={
            **form(pg, password="", description=secret_description, includeSchemas="public"),
            "csrf_token": token,
        },
    )
    assert edited.status_code == 302, edited.get_data(as_text=True)
    admin.post(f"/sources/{source_id}/sync", data={"csrf_token": token})
    admin.post(f"/sources/{source_id}/delete", data={"csrf_token": token})

    with app.app_context():
        events = list(db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id)))
    assert [e.action for e in events] == [
        "source.verified",
        "source.verified",
        "source.created",
        "source.updated",
        "source.sync_requested",
        "source.deleted",
    ]
    assert {e.actor for e in events} == {ADMIN_EMAIL}
    assert {e.ip_address for e in events} == {"127.0.0.1"}
    failed, ok, created, updated, synced, deleted = events
    assert failed.details == {
        "result": "failure",
        "step": "auth",
        "fields": ["password", "username"],
        "dialect": "POSTGRES",
    }
    assert ok.details == {"result": "success", "dialect": "POSTGRES"}
    assert failed.target_id is None and failed.target_name == "Orders DB"
    assert created.target_id == source_id and created.details == {"dialect": "POSTGRES"}
    # Which fields changed, by name; the password was kept, so it is not among them.
    assert updated.details == {"changed": ["description", "includeSchemas"]}
    assert synced.details == {"trigger": "manual"}
    assert deleted.target_id == source_id and deleted.target_name == "Orders DB"

    html = admin.get("/audit").get_data(as_text=True)
    assert re.findall(r'<tr data-action="([\w.]+)">', html) == [
        "source.deleted",
        "source.sync_requested",
        "source.updated",
        "source.created",
        "source.verified",
        "source.verified",
    ]
    assert "Changed: description, includeSchemas" in html
    assert "Failed at Authentication (password, username)" in html
    assert "Succeeded" in html
    assert secret_description not in html  # names of fields, never their values
    assert pg.password not in html


@pytest.mark.usefixtures("probe_role")
def test_a_changed_password_is_recorded_by_name_never_by_value(app, admin, pg):
    token = csrf_token(admin, "/sources/new")
    first = form(pg, username=ROLE, password=SAVED)
    assert admin.post("/sources/new", data={**first, "csrf_token": token}).status_code == 302
    with app.app_context():
        source_id = db.session.scalar(db.select(Source.id))
    new_password = "Rotated-Probe-Secret-4b4b"
    with psycopg.connect(pg.superuser_dsn(pg.database), autocommit=True) as conn:
        conn.execute(f"ALTER ROLE {ROLE} PASSWORD '{new_password}'")
    response = admin.post(
        f"/sources/{source_id}/edit",
        data={**first, "displayName": "Orders", "password": new_password, "csrf_token": token},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        event = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.action == "source.updated"
    assert event.details == {"changed": ["displayName", "password"]}
    assert event.target_name == "Orders"
    assert new_password not in repr(event.details) and SAVED not in repr(event.details)
