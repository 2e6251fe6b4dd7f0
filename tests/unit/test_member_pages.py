"""The Members page and the invitation page: invite (link shown once, Copy button), revoke,
change a role, remove, the last admin kept; used, revoked and expired links say so; the
accept form needs its CSRF token; failed sign-ins are audited; keys get a scope and expiry."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.fixtures_app import ADMIN_EMAIL, csrf_token
from tests.teams_helpers import PASSWORD, invite_and_accept, logged_in
from webapp.extensions import db
from webapp.models import ApiKey, AuditEvent, Invitation, utcnow


def _invite(admin, email: str, role: str):
    token = csrf_token(admin, "/settings/members")
    return admin.post(
        "/settings/members/invite", data={"csrf_token": token, "email": email, "role": role}
    )


def _link(page) -> str:
    return re.search(r'id="invitation-url"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(
        1
    )


def test_invite_shows_the_link_once_and_lists_it_until_revoked(app, admin):
    page = _invite(admin, "vi@example.test", "viewer")
    assert page.status_code == 201 and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert 'data-copy="invitation-url"' in html and "no mail server is configured" in html
    link = _link(page)
    assert link.startswith("http://localhost/invitations/")
    listing = admin.get("/settings/members").get_data(as_text=True)
    assert "vi@example.test" in listing and link not in listing  # shown once
    with app.app_context():
        row = db.session.scalar(db.select(Invitation))
        assert link.rsplit("/", 1)[1] not in (row.token_hash, row.email)  # only a hash
        invitation_id = row.id
    token = csrf_token(admin, "/settings/members")
    assert (
        admin.post(
            f"/settings/invitations/{invitation_id}/revoke", data={"csrf_token": token}
        ).status_code
        == 303
    )
    gone = app.test_client().get(link.removeprefix("http://localhost"))
    assert gone.status_code == 410 and "revoked" in gone.get_data(as_text=True)
    assert "No invitations waiting" in admin.get("/settings/members").get_data(as_text=True)


def test_bad_invites_get_the_reason_next_to_the_field(admin):
    page = _invite(admin, "ana@@corp", "viewer")
    assert page.status_code == 422
    assert re.search(r'id="email-error">[^<]*@', page.get_data(as_text=True))
    again = _invite(admin, ADMIN_EMAIL, "viewer")
    assert "already a member" in again.get_data(as_text=True)


def test_expired_and_unknown_links_say_so_and_accepting_needs_csrf(app, admin):
    link = _link(_invite(admin, "late@corp.local", "editor")).removeprefix("http://localhost")
    browser = app.test_client()
    assert browser.post(
        link, data={"name": "Late", "password": PASSWORD, "confirm": PASSWORD}
    ).status_code in (400, 422)
    with app.app_context():
        db.session.scalar(db.select(Invitation)).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    expired = browser.get(link)
    assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)
    unknown = browser.get("/invitations/not-a-real-token")
    assert unknown.status_code == 404 and "not valid" in unknown.get_data(as_text=True)


def test_role_change_and_removal_from_the_page_take_effect_on_the_next_request(app, admin):
    invite_and_accept(app, "ed@corp.local", "editor")
    editor = logged_in(app, "ed@corp.local")
    page = admin.get("/settings/members").get_data(as_text=True)
    member_id = re.search(r'data-member-id="(\d+)" data-email="ed@corp.local"', page).group(1)
    assert "Password" in page
    token = csrf_token(admin, "/settings/members")
    assert (
        admin.post(
            f"/settings/members/{member_id}/role", data={"csrf_token": token, "role": "viewer"}
        ).status_code
        == 303
    )
    assert editor.get("/sources").status_code == 302  # sessions ended
    viewer = logged_in(app, "ed@corp.local")
    assert viewer.get("/sources/new").status_code == 403
    assert viewer.get("/settings/members").status_code == 403
    token = csrf_token(admin, "/settings/members")
    assert (
        admin.post(f"/settings/members/{member_id}/remove", data={"csrf_token": token}).status_code
        == 303
    )
    assert viewer.get("/sources").status_code == 302
    assert 'data-email="ed@corp.local"' not in admin.get("/settings/members").get_data(as_text=True)
    with app.app_context():
        actions = {e.action for e in db.session.scalars(db.select(AuditEvent))}
    assert {
        "invitation.sent",
        "invitation.accepted",
        "member.role_changed",
        "member.removed",
    } <= actions
    log = admin.get("/audit").get_data(as_text=True)
    assert "Changed a member&#39;s role" in log or "Changed a member's role" in log
    assert "editor → viewer" in log


def test_the_last_admin_cannot_be_demoted_or_removed(admin):
    page = admin.get("/settings/members").get_data(as_text=True)
    member_id = re.search(r'data-member-id="(\d+)"', page).group(1)
    token = csrf_token(admin, "/settings/members")
    refused = admin.post(
        f"/settings/members/{member_id}/role", data={"csrf_token": token, "role": "viewer"}
    )
    assert refused.status_code == 422 and "at least one admin" in refused.get_data(as_text=True)
    refused = admin.post(f"/settings/members/{member_id}/remove", data={"csrf_token": token})
    assert refused.status_code == 422
    assert admin.get("/settings/members").status_code == 200


def test_failed_sign_ins_are_audited(app, admin):
    client = app.test_client()
    token = csrf_token(client, "/login")
    client.post(
        "/login", data={"csrf_token": token, "email": ADMIN_EMAIL, "password": "not the password"}
    )
    with app.app_context():
        event = db.session.scalar(
            db.select(AuditEvent).where(AuditEvent.action == "auth.sign_in_failed")
        )
    assert event is not None and event.target_name == ADMIN_EMAIL
    assert "not the password" not in str(event.details)
    assert "Failed sign-in" in admin.get("/audit").get_data(as_text=True)


def test_the_keys_page_creates_a_scoped_expiring_key_and_shows_its_creator(app, admin):
    token = csrf_token(admin, "/settings/api-keys")
    page = admin.post(
        "/settings/api-keys",
        data={"csrf_token": token, "name": "Reporting", "scope": "read", "expiresInDays": "30"},
    )
    assert page.status_code == 201
    html = page.get_data(as_text=True)
    assert 'class="key-scope">read<' in html and ADMIN_EMAIL in html
    with app.app_context():
        key = db.session.scalar(db.select(ApiKey))
        assert key.scope == "read"
        assert timedelta(days=29) < key.expires_at - utcnow() <= timedelta(days=30)


def test_invitation_tokens_are_redacted_in_access_log_lines():
    import logging

    from webapp.web.member_pages import RedactInvitationTokens

    def logged(line: str) -> str:
        record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, "%s", (line,), None)
        RedactInvitationTokens().filter(record)
        return record.getMessage()

    assert (
        logged('"GET /invitations/abc_DEF-123 HTTP/1.1" 200 -')
        == '"GET /invitations/[redacted] HTTP/1.1" 200 -'
    )
    kept = '"DELETE /api/public/organizations/1/invitations/7 HTTP/1.1" 200 -'
    assert logged(kept) == kept
