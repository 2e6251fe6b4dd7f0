"""Known secret values through a failing verify, a save, a failing sync and the JSON API: none
may appear in a log line (pytest's capture of every record at DEBUG, and the app's own
formatted log output), a page, an API response, or the audit log. Real PostgreSQL."""

from __future__ import annotations

import io
import logging

import psycopg
import pytest

from tests.fixtures_app import csrf_token
from tests.integration.test_sources_postgres import sync_once
from webapp.api_keys import create_key
from webapp.extensions import db
from webapp.models import AuditEvent, Organization, Source

ROLE = "leak_probe"
SAVED = "Saved-Probe-Secret-7d1e9c"  # the role's real password, saved with the source
WRONG = "Wrong-Probe-Secret-55aa01"  # typed in a failing verify
PASTED = "Pasted-Probe-Secret-31f0bb"  # inside a pasted connection string
API_WRONG = "Api-Probe-Secret-90c2de"  # sent to the API's verify
SECRETS = (SAVED, WRONG, PASTED, API_WRONG)


@pytest.fixture
def probe_role(pg):
    """A login role whose password the test knows and later changes (to make a sync fail)."""

    def drop(conn: psycopg.Connection) -> None:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,)).fetchone():
            conn.execute(f"DROP OWNED BY {ROLE}")
            conn.execute(f"DROP ROLE {ROLE}")

    with psycopg.connect(pg.superuser_dsn(pg.database), autocommit=True) as conn:
        drop(conn)
        conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{SAVED}'")
        conn.execute(f"GRANT CONNECT ON DATABASE {pg.database} TO {ROLE}")
    yield ROLE
    with psycopg.connect(pg.superuser_dsn(pg.database), autocommit=True) as conn:
        drop(conn)


@pytest.fixture
def app_log():
    """The app's own handler (what production writes to stderr), at DEBUG, captured."""
    root = logging.getLogger()
    handler = next(h for h in root.handlers if getattr(h, "_datadock_handler", False))
    stream = io.StringIO()
    previous, level = handler.setStream(stream), root.level
    root.setLevel(logging.DEBUG)
    yield stream
    handler.setStream(previous)
    root.setLevel(level)


def form(pg, password: str, **changes) -> dict:
    raw = {
        "displayName": "Leak probe",
        "dialect": "POSTGRES",
        "host": pg.host,
        "port": str(pg.port),
        "databaseName": pg.database,
        "username": ROLE,
        "password": password,
        "sslEnabled": "y",
    }
    raw.update(changes)
    return raw


def test_no_secret_reaches_logs_pages_api_or_audit(app, admin, pg, probe_role, caplog, app_log):
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []  # every body the browser or an API client got

    def keep(response):
        seen.append(response.get_data(as_text=True))
        return response

    # 1. A failing verify, through htmx and as a plain form post.
    token = csrf_token(admin, "/sources/new")
    for headers, status in (({"HX-Request": "true"}, 200), ({}, 422)):  # htmx swaps 2xx only
        response = keep(
            admin.post(
                "/sources/verify", headers=headers, data={**form(pg, WRONG), "csrf_token": token}
            )
        )
        assert response.status_code == status
        assert "Incorrect username or password" in seen[-1]
    # ... and one from a pasted connection string with a wrong password in it.
    url = f"postgresql://{ROLE}:{PASTED}@{pg.host}:{pg.port}/{pg.database}"
    keep(
        admin.post(
            "/sources/connection-string",
            data={"csrf_token": token, "dialect": "POSTGRES", "connectionString": url},
        )
    )
    response = keep(
        admin.post(
            "/sources/verify", data={**form(pg, ""), "connectionString": url, "csrf_token": token}
        )
    )
    assert response.status_code == 422

    # 2. A save with the right password, then every page that shows the source.
    response = admin.post("/sources/new", data={**form(pg, SAVED), "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        source_id = db.session.scalar(db.select(Source.id))
    for page in (
        f"/sources/{source_id}",
        f"/sources/{source_id}/edit",
        "/sources",
        "/audit",
        f"/sources/{source_id}/sync-panel",
        f"/sources/{source_id}/delete",
    ):
        assert keep(admin.get(page)).status_code == 200, page

    # 3. The password changes on the server: the next sync fails with the saved one.
    with psycopg.connect(pg.superuser_dsn(pg.database), autocommit=True) as conn:
        conn.execute(f"ALTER ROLE {ROLE} PASSWORD 'Changed-Elsewhere-0000'")
    with app.app_context():
        source = sync_once(source_id)
        assert source.last_sync_status == "FAILED"
        assert "rejected the username or password" in (source.sync_error_message or "")
    keep(admin.get(f"/sources/{source_id}"))

    # 4. The JSON API: read the source, verify with a wrong password.
    with app.app_context():
        org = db.session.scalar(db.select(Organization))
        _, key = create_key(org, "leak test")
        org_id = org.id
    auth = {"Authorization": f"Bearer {key}"}
    api = f"/api/public/organizations/{org_id}/data-sources"
    assert keep(admin.get(f"{api}/{source_id}", headers=auth)).status_code == 200
    assert keep(admin.get(api, headers=auth)).status_code == 200
    failed = keep(
        admin.post(
            f"{api}/verify",
            headers=auth,
            json={
                "type": "direct",
                "dialect": "POSTGRES",
                "host": pg.host,
                "port": pg.port,
                "databaseName": pg.database,
                "username": ROLE,
                "password": API_WRONG,
                "sslEnabled": True,
            },
        )
    )
    assert failed.status_code == 400
    assert failed.get_json()["error"]["fieldErrors"]["password"] == (
        "Incorrect username or password"
    )

    # Nothing leaked anywhere.
    with app.app_context():
        audit = [
            repr((e.actor, e.action, e.target_name, e.details))
            for e in db.session.scalars(db.select(AuditEvent))
        ]
    assert len(caplog.records) > 0 and app_log.getvalue()  # the logs were really captured
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    for secret in SECRETS:
        assert secret not in logged, f"{secret} in a log record"
        assert secret not in app_log.getvalue(), f"{secret} in the app's log output"
        for body in seen:
            assert secret not in body, f"{secret} in a response"
        assert not any(secret in row for row in audit), f"{secret} in the audit log"
    # The audit log did record what happened, by field name only.
    actions = [row.split("'")[3] for row in audit]
    assert "source.created" in actions and actions.count("source.verified") >= 4
