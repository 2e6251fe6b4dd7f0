"""Issue 14's page bugs that need no browser: the saved-secret rows, the health window kept by
"Check now", the sync flash dropped once the sync ended, readable audit labels, the webhook
rotation's audit event, styled 404/500 pages (the API keeps its JSON), the favicon."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from werkzeug.exceptions import InternalServerError

from tests.fixtures_app import csrf_token
from tests.unit.test_audit import org_id
from tests.unit.test_hardening import add_source
from webapp import audit
from webapp.extensions import db
from webapp.models import AuditEvent, Source
from webapp.web import errors

ROOT = Path(__file__).resolve().parents[2]


def facts(html: str) -> dict[str, str]:
    return dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]*)</dd>", html))


def test_the_source_page_lists_only_the_secrets_stored_and_no_switched_off_section(app, admin):
    # Only a password is stored; SSL is on without custom certificates; SSH is off.
    source_id = add_source(app)
    rows = facts(admin.get(f"/sources/{source_id}").get_data(as_text=True))
    assert rows["Password"] == "saved"
    assert rows["SSL"] == "on" and "SSL mode" in rows
    assert rows["Use custom certificates"] == "off"
    assert rows["Connect through an SSH tunnel"] == "off"
    for hidden in ("Client key", "SSH password", "SSH private key", "SSH key passphrase"):
        assert hidden not in rows
    for hidden in ("SSH host", "SSH port", "CA certificate", "Client certificate"):
        assert hidden not in rows
    with app.app_context():
        db.session.get(Source, source_id).ssl_enabled = False
        db.session.commit()
    rows = facts(admin.get(f"/sources/{source_id}").get_data(as_text=True))
    assert rows["SSL"] == "off" and "SSL mode" not in rows
    assert "Use custom certificates" not in rows


def test_check_now_keeps_the_chosen_health_window(app, admin):
    source_id = add_source(app)
    token = csrf_token(admin, f"/sources/{source_id}")
    url = f"/sources/{source_id}/health/check"
    answer = admin.post(
        url, data={"csrf_token": token, "window": "7d"}, headers={"HX-Request": "1"}
    )
    current = re.search(r'aria-current="true" class="current">([^<]+)<', answer.get_data(True))
    assert current and current.group(1) == "7 days"
    assert 'name="window" value="7d"' in answer.get_data(as_text=True)
    plain = admin.post(url, data={"csrf_token": token, "window": "30d"})
    assert plain.status_code == 302 and "window=30d" in plain.headers["Location"]


def test_the_sync_flash_is_dropped_by_the_panel_once_the_sync_ended(app, admin):
    source_id = add_source(app)
    with app.app_context():
        db.session.get(Source, source_id).last_sync_status = "SUCCESS"
        db.session.commit()
    polled = admin.get(f"/sources/{source_id}/sync-panel", headers={"HX-Request": "1"})
    assert '<p id="flash-sync" hx-swap-oob="delete"></p>' in polled.get_data(as_text=True)
    with app.app_context():
        db.session.get(Source, source_id).last_sync_status = "PENDING"
        db.session.commit()
    pending = admin.get(f"/sources/{source_id}/sync-panel", headers={"HX-Request": "1"})
    assert "flash-sync" not in pending.get_data(as_text=True)


def recorded_actions() -> set[str]:
    """Every action string a use-case passes to audit.record(…) or operations' _audit(…)."""
    found: set[str] = set()
    for path in (ROOT / "webapp").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            if name not in ("record", "record_in_background", "_audit"):
                continue
            for arg in node.args[:3]:
                for sub in ast.walk(arg):
                    if (
                        isinstance(sub, ast.Constant)
                        and isinstance(sub.value, str)
                        and re.fullmatch(r"[a-z_]+\.[a-z_]+", sub.value)
                    ):
                        found.add(sub.value)
    return found


def test_every_recorded_action_and_every_dialect_has_readable_words():
    actions = recorded_actions()
    assert {"source.webhook_created", "source.webhook_rotated", "source.paused"} <= actions
    missing = {a for a in actions if audit.label(a) == a}
    assert not missing, f"actions without words on the audit page: {missing}"
    assert audit.dialect_label("POSTGRES") == "PostgreSQL"
    assert audit.dialect_label("NOPE") == "NOPE"


def test_a_token_rotation_is_audited_and_reads_in_words(app, admin):
    source_id = add_source(app)
    for _ in range(2):
        token = csrf_token(admin, f"/sources/{source_id}")
        answer = admin.post(f"/sources/{source_id}/webhook", data={"csrf_token": token})
        assert answer.status_code == 200
    with app.app_context():
        audit.record(org_id(app), "source.created", details={"dialect": "POSTGRES"})
        db.session.commit()
        actions = db.session.scalars(
            db.select(AuditEvent.action).where(AuditEvent.action.like("source.webhook%"))
        ).all()
    assert actions == ["source.webhook_created", "source.webhook_rotated"]
    page = admin.get("/audit").get_data(as_text=True)
    assert "Rotated the sync webhook token" in page and "Created a sync webhook token" in page
    assert "Dialect: PostgreSQL" in page and "source.webhook" not in page.replace(
        'data-action="source.webhook', ""
    )


def test_pages_get_a_styled_404_and_the_api_keeps_its_json(app, admin):
    page = admin.get("/no-such-page")
    assert page.status_code == 404 and "This page does not exist" in page.get_data(True)
    assert "favicon.svg" in page.get_data(as_text=True)
    assert admin.get("/sources/999999").status_code == 404
    assert "This page does not exist" in admin.get("/sources/999999").get_data(True)
    api = admin.get("/api/public/no-such-endpoint")
    assert api.is_json and "error" in api.get_json()  # JSON (a 401 here: no API key)
    icon = admin.get("/static/favicon.svg")
    assert icon.status_code == 200 and b"<svg" in icon.data


def test_an_unexpected_page_error_gets_the_styled_500_without_the_traceback(app):
    failure = InternalServerError(original_exception=RuntimeError("secret detail"))
    with app.test_request_context("/sources"):
        body, status = errors.server_error(failure)
    assert status == 500 and "Something went wrong on Datadock" in body
    assert "secret detail" not in body and "Traceback" not in body
    with app.test_request_context("/api/public/sources"):
        assert errors.server_error(failure) is failure  # the API answers its own JSON


def test_the_new_webhook_token_has_a_copy_button(app, admin):
    source_id = add_source(app)
    token = csrf_token(admin, f"/sources/{source_id}")
    body = admin.post(f"/sources/{source_id}/webhook", data={"csrf_token": token}).get_data(True)
    assert 'data-copy="webhook-token"' in body


def test_a_timeout_names_the_outbound_address_or_says_how_to_name_it():
    from webapp.core.failures import timeout_failure

    named = timeout_failure("db.example.com", 5432, 10, outbound="203.0.113.7")
    assert "outbound address (203.0.113.7) in the database's firewall" in named.detail
    assert "DATADOCK_OUTBOUND_ADDRESS" not in named.detail
    unnamed = timeout_failure("db.example.com", 5432, 10)
    assert "outbound address in the database's firewall" in unnamed.detail
    assert "setting DATADOCK_OUTBOUND_ADDRESS" in unnamed.detail


def test_a_description_only_edit_neither_reverifies_nor_resyncs(app, admin):
    """The source points at a closed loopback port: an edit that verified would be refused."""
    import pytest

    from tests.servers import free_port
    from webapp import sources as uc
    from webapp.core.refusal import ConnectionFailed
    from webapp.models import SyncRun

    source_id = add_source(app)
    with app.app_context():
        source = db.session.get(Source, source_id)
        source.host, source.port, source.last_sync_status = "127.0.0.1", free_port(), "SUCCESS"
        db.session.commit()
        uc.update_source(source, {"description": "The shop", "displayName": "Shop"})
        source = db.session.get(Source, source_id)
        assert (source.description, source.display_name) == ("The shop", "Shop")
        assert source.last_sync_status == "SUCCESS"
        assert db.session.scalar(db.select(db.func.count(SyncRun.id))) == 0
        changed = db.session.scalars(
            db.select(AuditEvent.details).where(AuditEvent.action == "source.updated")
        ).one()
        # (add_source's row stored no defaults, so those are listed as filled in too)
        assert {"description", "displayName"} <= set(changed["changed"])
        with pytest.raises(ConnectionFailed):  # a connection field: verified again
            uc.update_source(source, {"username": "someone-else"})


def test_the_edit_page_says_no_sync_was_needed_for_a_description_edit(app, admin):
    source_id = add_source(app)
    with app.app_context():
        db.session.get(Source, source_id).last_sync_status = "SUCCESS"
        db.session.commit()
    page = admin.get(f"/sources/{source_id}/edit").get_data(as_text=True)
    data = {}
    for tag in re.findall(r"<input[^>]*>", page):  # the form as a browser would send it
        name, value = re.search(r'name="(\w+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name and value and ("checkbox" not in tag or "checked" in tag):
            data[name.group(1)] = value.group(1)
    for name, options in re.findall(r'<select[^>]*name="(\w+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option[^>]*value="([^"]*)"[^>]*selected', options)
        if chosen:
            data[name] = chosen.group(1)
    data.pop("password", None)  # blank keeps the saved one
    data.update(description="The shop", dialect="POSTGRES")
    saved = admin.post(f"/sources/{source_id}/edit", data=data, follow_redirects=True)
    body = saved.get_data(as_text=True)
    assert saved.status_code == 200 and "no sync was needed" in body


def test_sqlite_never_gives_a_deleted_sources_id_to_a_new_one(app, admin):
    from webapp import sources as uc

    first = add_source(app, "First")
    second = add_source(app, "Second")
    with app.app_context():
        table_sql = db.session.execute(
            db.text("SELECT sql FROM sqlite_master WHERE name = 'sources'")
        ).scalar_one()
        assert "AUTOINCREMENT" in table_sql
        uc.delete_source(db.session.get(Source, second))
    third = add_source(app, "Third")
    assert third not in (first, second) and third > second
