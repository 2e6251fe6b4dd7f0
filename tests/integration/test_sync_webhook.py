"""The per-source webhook: an admin creates a token (shown once, stored as a hash), an ETL job
POSTs with it to queue a sync; wrong, rotated or revoked tokens get 401 in the error shape."""

from __future__ import annotations

import hashlib
import logging
import re

from tests.fixtures_app import csrf_token
from tests.integration.jobs_helpers import add_source, sync_once
from webapp import sources as uc
from webapp.extensions import db
from webapp.models import AuditEvent, Source
from webapp.web.hooks import RedactHookTokens


def _create_token(admin, source_id: int) -> str:
    token = csrf_token(admin, f"/sources/{source_id}")
    response = admin.post(
        f"/sources/{source_id}/webhook", data={"csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "shown only this once" in html
    return re.search(r'id="webhook-token" type="text" readonly value="([^"]+)"', html).group(1)


def test_webhook_queues_a_sync_and_refuses_wrong_tokens(app, admin, pg):
    with app.app_context():
        source = sync_once(add_source(pg, pg.database).id)
        source_id = source.id
    page = admin.get(f"/sources/{source_id}").get_data(as_text=True)
    assert "No webhook token yet." in page and "Create webhook token" in page

    secret = _create_token(admin, source_id)
    assert len(secret) >= 43  # 32 random bytes
    with app.app_context():
        stored = db.session.get(Source, source_id).webhook_token_hash
        assert stored == hashlib.sha256(secret.encode()).hexdigest()
    page = admin.get(f"/sources/{source_id}").get_data(as_text=True)
    assert secret not in page and "A token is set." in page and "Rotate token" in page

    hooks = app.test_client()  # no cookie, no CSRF token: an ETL job
    url = f"/hooks/sources/{source_id}/sync"
    response = hooks.post(url, headers={"X-Datadock-Token": secret})
    assert response.status_code == 202, response.get_data(as_text=True)
    body = response.get_json()["data"]
    assert body["status"] == "QUEUED" and body["lastSyncStatus"] == "PENDING"
    assert "Set-Cookie" not in response.headers
    # A second call while the sync waits joins the same queued run.
    again = hooks.post(f"{url}/{secret}").get_json()["data"]
    assert again["syncRunId"] == body["syncRunId"]
    with app.app_context():
        source = sync_once(source_id)
        run = uc.sync_history(source)[0][0]
        assert (run.id, run.trigger, run.status) == (body["syncRunId"], "webhook", "SUCCESS")
        events = db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.action == "source.sync_requested")
        ).all()
        assert [e.actor for e in events] == ["webhook", "webhook"]
        assert all(secret not in str(e.details) for e in events)

    for wrong in ({"X-Datadock-Token": "nope"}, {}, {"X-Datadock-Token": secret + "x"}):
        refused = hooks.post(url, headers=wrong)
        assert refused.status_code == 401
        error = refused.get_json()["error"]
        assert error["title"] == "Unauthorized" and error["fieldErrors"] == {}
    # Another source's id with this token is refused the same way as an unknown id.
    assert (
        hooks.post("/hooks/sources/99999/sync", headers={"X-Datadock-Token": secret}).get_json()
        == refused.get_json()
    )
    assert hooks.get(url).status_code == 405


def test_rotate_and_revoke(app, admin, pg):
    with app.app_context():
        source_id = add_source(pg, pg.database).id
    first = _create_token(admin, source_id)
    second = _create_token(admin, source_id)  # rotate
    hooks = app.test_client()
    url = f"/hooks/sources/{source_id}/sync"
    assert hooks.post(url, headers={"X-Datadock-Token": first}).status_code == 401
    assert hooks.post(url, headers={"X-Datadock-Token": second}).status_code == 202
    token = csrf_token(admin, f"/sources/{source_id}")
    revoked = admin.post(f"/sources/{source_id}/webhook/revoke", data={"csrf_token": token})
    assert revoked.status_code == 302
    assert hooks.post(url, headers={"X-Datadock-Token": second}).status_code == 401
    with app.app_context():
        assert db.session.get(Source, source_id).webhook_token_hash is None
        actions = db.session.scalars(
            db.select(AuditEvent.action).where(AuditEvent.action.like("source.webhook%"))
        ).all()
        assert actions == [
            "source.webhook_created",
            "source.webhook_rotated",  # the second token replaced the first
            "source.webhook_revoked",
        ]


def test_token_pages_need_an_admin_and_csrf(app, admin, pg):
    with app.app_context():
        source_id = add_source(pg, pg.database).id
    assert admin.post(f"/sources/{source_id}/webhook").status_code == 400  # no CSRF token
    anonymous = app.test_client()
    assert anonymous.post(f"/sources/{source_id}/webhook").status_code in (302, 400)
    with app.app_context():
        assert db.session.get(Source, source_id).webhook_token_hash is None


def test_without_javascript_the_token_shows_on_the_page_once(app, admin, pg):
    with app.app_context():
        source_id = add_source(pg, pg.database).id
    token = csrf_token(admin, f"/sources/{source_id}")
    response = admin.post(f"/sources/{source_id}/webhook", data={"csrf_token": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<h1>" in html and "shown only this once" in html
    secret = re.search(r'readonly value="([^"]+)"', html).group(1)
    assert secret not in admin.get(f"/sources/{source_id}").get_data(as_text=True)


def test_webhook_is_rate_limited_per_source(app, admin, pg):
    with app.app_context():
        source_id = add_source(pg, pg.database).id
    secret = _create_token(admin, source_id)
    hooks = app.test_client()
    limit = uc.WEBHOOK_RATE[0]
    codes = [
        hooks.post(
            f"/hooks/sources/{source_id}/sync", headers={"X-Datadock-Token": secret}
        ).status_code
        for _ in range(limit + 1)
    ]
    assert codes[:limit] == [202] * limit
    assert codes[limit] == 429
    refused = hooks.post(f"/hooks/sources/{source_id}/sync", headers={"X-Datadock-Token": secret})
    error = refused.get_json()["error"]
    assert error["title"] == "RateLimitExceeded" and error["retryAfterMs"] > 0
    assert int(refused.headers["Retry-After"]) >= 1


def test_tokens_in_urls_are_redacted_from_access_logs():
    line = "POST /hooks/sources/7/sync/s3cr3t-T0ken HTTP/1.1"
    record = logging.LogRecord(
        "werkzeug", logging.INFO, __file__, 1, '%s - - "%s" %s', ("127.0.0.1", line, "202"), None
    )
    assert RedactHookTokens().filter(record)
    assert record.getMessage() == (
        '127.0.0.1 - - "POST /hooks/sources/7/sync/[redacted] HTTP/1.1" 202'
    )
