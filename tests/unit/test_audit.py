"""The audit log without a database server: actors, addresses, the page and its pages."""

from __future__ import annotations

import re

from flask import g
from flask_migrate import upgrade

from tests.fixtures_app import ADMIN_EMAIL, csrf_token, page_text
from tests.unit.test_hardening import add_source
from webapp import audit, create_app
from webapp import sources as uc
from webapp.extensions import db
from webapp.models import ApiKey, AuditEvent, Organization, Source


def org_id(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(Organization.id))


def rows(html: str) -> list[str]:
    return re.findall(r'<tr data-action="([\w.]+)">', html)


def test_page_lists_events_newest_first_in_pages_of_50(app, admin):
    oid = org_id(app)
    with app.app_context():
        for n in range(120):
            audit.record(
                oid,
                "source.sync_requested",
                target_type="source",
                target_id=n,
                target_name=f"db-{n:03}",
                details={"trigger": "manual"},
            )
            db.session.commit()
    first = admin.get("/audit").get_data(as_text=True)
    names = re.findall(r"<td>(db-\d+)</td>", first)
    assert len(names) == 50 and names[0] == "db-119" and names[-1] == "db-070"
    assert "120 events, newest first · page 1 of 3" in first
    assert 'rel="next"' in first and 'rel="prev"' not in first
    last = page_text(admin, "/audit?page=3")
    assert re.findall(r"<td>(db-\d+)</td>", last)[-1] == "db-000"
    assert len(re.findall(r"<td>(db-\d+)</td>", last)) == 20
    assert page_text(admin, "/audit?page=99") == last  # clamped
    assert admin.get("/audit?page=x").status_code == 200


def test_an_organization_sees_only_its_own_events(app, admin):
    with app.app_context():
        other = Organization(name="Other")
        db.session.add(other)
        db.session.commit()
        audit.record(other.id, "source.deleted", target_name="their-secret-project")
        audit.record(org_id(app), "source.deleted", target_name="our-project")
        db.session.commit()
    html = admin.get("/audit").get_data(as_text=True)
    assert "our-project" in html and "their-secret-project" not in html


def test_actor_is_the_logged_in_user_or_the_api_key_and_the_address_is_kept(app, admin):
    source_id = add_source(app)
    token = csrf_token(admin, f"/sources/{source_id}")
    # (The session is bound to the address it logged in from: the test client's 127.0.0.1.)
    assert admin.post(f"/sources/{source_id}/sync", data={"csrf_token": token}).status_code == 302
    with app.app_context():
        event = db.session.scalar(db.select(AuditEvent))
        assert (event.actor, event.action, event.ip_address) == (
            ADMIN_EMAIL,
            "source.sync_requested",
            "127.0.0.1",
        )
        assert event.actor_user_id is not None and event.target_id == source_id
        key = ApiKey(
            organization_id=event.organization_id,
            name="deploy bot",
            prefix="ddk_ab12",
            key_hash="x" * 64,
        )
        db.session.add(key)
        db.session.commit()
        with app.test_request_context("/api/public/x", environ_base={"REMOTE_ADDR": "10.9.8.7"}):
            g.api_key = key
            uc.request_sync(db.session.get(Source, source_id), trigger="api")
        latest = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert latest.actor == "API key deploy bot (ddk_ab12…)"
        assert latest.actor_api_key_id == key.id and latest.actor_user_id is None
        assert latest.ip_address == "10.9.8.7" and latest.details == {"trigger": "api"}
        # Outside a request (a command, a job) the actor is "system".
        audit.record(event.organization_id, "source.deleted", target_name="x")
        db.session.commit()
        assert (
            db.session.scalars(db.select(AuditEvent.actor).order_by(AuditEvent.id.desc())).first()
            == "system"
        )
    html = admin.get("/audit").get_data(as_text=True)
    assert rows(html)[:3] == ["source.deleted", "source.sync_requested", "source.sync_requested"]
    assert "<td>127.0.0.1</td>" in html and "<td>10.9.8.7</td>" in html
    assert "API key deploy bot (ddk_ab12…)" in html
    assert "Requested a schema sync" in html and "Trigger: manual" in html


def test_behind_a_trusted_proxy_the_forwarded_address_is_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("DATADOCK_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("DATADOCK_ENCRYPTION_KEYS", raising=False)
    app = create_app({"TESTING": True, "SCHEDULER_ENABLED": False, "TRUSTED_PROXIES": 1})
    with app.app_context():
        upgrade()
    # Every request of this browser comes through the proxy, from the same client address.
    client = app.test_client()
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.9"
    token = csrf_token(client, "/setup")
    client.post(
        "/setup",
        data={
            "csrf_token": token,
            "organization": "Acme",
            "email": ADMIN_EMAIL,
            "password": "a long admin password",
            "confirm": "a long admin password",
        },
    )
    source_id = add_source(app)
    response = client.post(
        f"/sources/{source_id}/delete", data={"csrf_token": csrf_token(client, "/sources")}
    )
    assert response.status_code == 302
    with app.app_context():
        event = db.session.scalar(db.select(AuditEvent))
        assert event.action == "source.deleted" and event.ip_address == "203.0.113.9"
        db.engine.dispose()


def test_delete_removes_secrets_snapshots_history_and_health_but_keeps_the_audit(app, admin):
    from webapp.models import HealthCheck, SchemaSnapshot, SchemaTable, SyncRun

    source_id = add_source(app)
    keep_id = add_source(app, name="Other")
    with app.app_context():
        for sid in (source_id, keep_id):
            snapshot = SchemaSnapshot(source_id=sid, complete=True)
            db.session.add(snapshot)
            db.session.flush()
            db.session.add_all(
                [
                    SchemaTable(
                        snapshot_id=snapshot.id,
                        schema_name="public",
                        name="t",
                        kind="table",
                        columns=[],
                    ),
                    SyncRun(source_id=sid, status="SUCCESS"),
                    HealthCheck(source_id=sid, healthy=True, latency_ms=3),
                ]
            )
            db.session.get(Source, sid).current_snapshot_id = snapshot.id
        db.session.commit()
    page = admin.get(f"/sources/{source_id}/delete")
    assert page.status_code == 200 and "Delete Warehouse?" in page.get_data(as_text=True)
    token = csrf_token(admin, f"/sources/{source_id}/delete")
    response = admin.post(f"/sources/{source_id}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Source, source_id) is None
        for model in (SchemaSnapshot, SyncRun, HealthCheck):
            owners = set(db.session.scalars(db.select(model.source_id)))
            assert owners == {keep_id}, model
        assert db.session.scalar(db.select(db.func.count()).select_from(SchemaTable)) == 1
        event = db.session.scalar(db.select(AuditEvent))
        assert (event.action, event.target_id, event.target_name) == (
            "source.deleted",
            source_id,
            "Warehouse",
        )


def test_detail_page_asks_before_deleting(app, admin):
    source_id = add_source(app)
    html = admin.get(f"/sources/{source_id}").get_data(as_text=True)
    form = re.search(r'<form method="get" action="/sources/\d+/delete"[^>]*>', html).group(0)
    assert 'hx-post="/sources/' in form and 'hx-confirm="Delete Warehouse' in form
    assert "X-CSRFToken" in form  # htmx posts with the token in a header
