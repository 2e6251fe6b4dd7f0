"""Issue #6: one hung database must not stall the server.

Verifies (form, htmx, API, and the verify a save makes) run in slots of their own, bounded per
process and per organization; a verify that finds no free slot is refused at once (429
RateLimitExceeded with Retry-After) instead of taking a request thread. The silent host is a
loopback listener that accepts and never answers (tests/servers.py).

The first test runs the real app under gunicorn with the Procfile's options and proves by
order, not by time, that the login page and the sources list answer while 32 silent verifies
are in flight; tests/bench/bench_verify_pool.py records how long the pages took.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from tests.fixtures_app import csrf_token
from tests.integration.gunicorn_helpers import (
    Clock,
    fire_verifies,
    gunicorn,
    login,
    poll,
    prepared_store,
    procfile_option,
    waiting_on,
)
from tests.servers import SilentAddress, silent_listener
from webapp.accounts import create_admin
from webapp.api_keys import create_key
from webapp.connect.verify_pool import slots_of
from webapp.extensions import db
from webapp.models import AuditEvent, Organization, Source

SIZE, PER_ORG, TIMEOUT = 4, 2, 5
WORKERS, THREADS = int(procfile_option("--workers")), int(procfile_option("--threads"))
PASSWORD = "a long admin password"


def test_pages_answer_while_32_silent_verifies_are_in_flight_under_gunicorn(
    pg, silent_port, tmp_path
):
    assert SIZE < THREADS, "the verify bound must leave the Procfile's threads for pages"
    settings = {
        "DATADOCK_VERIFY_TIMEOUT": str(TIMEOUT),
        "DATADOCK_VERIFY_CONCURRENCY": str(SIZE),
        "DATADOCK_VERIFY_CONCURRENCY_PER_ORG": str(PER_ORG),
    }
    with (
        prepared_store(pg, tmp_path / "instance", ["Acme", "Globex"], settings) as store,
        gunicorn(store, tmp_path / "gunicorn.log") as url,
    ):
        acme, globex = store.orgs
        browsers = {acme.id: login(url, acme.email)}
        reader = login(url, acme.email)
        plan = [("htmx", acme)] * 8 + [("api", acme)] * 8 + [("api", globex)] * 16
        clock = Clock()
        threads, outcomes = fire_verifies(url, silent_port, plan, browsers, clock)

        # Every verify is accounted for: refused, or connected to the silent host and waiting.
        poll(
            lambda: (
                sum(o.seq > 0 and o.busy for o in outcomes) + waiting_on(silent_port) == len(plan)
            ),
            TIMEOUT * 6,
            "verifies neither refused nor waiting on the host",
        )
        waiting_before = waiting_on(silent_port)
        login_page = requests.get(url + "/login", timeout=60)
        login_seq = clock.tick()
        sources_page = reader.session.get(url + "/sources", timeout=60)
        sources_seq = clock.tick()
        waiting_after = waiting_on(silent_port)
        for thread in threads:
            thread.join(timeout=TIMEOUT + 60)
        assert not any(t.is_alive() for t in threads)

    assert login_page.status_code == 200 and "Log in" in login_page.text
    assert sources_page.status_code == 200 and "Add data source" in sources_page.text
    held = [o for o in outcomes if not o.busy]
    busy = [o for o in outcomes if o.busy]
    # Ordering: no verify that got a slot had answered when both pages had answered, and they
    # were all still connected to the silent host after the pages answered.
    assert held and all(o.seq > sources_seq > login_seq for o in held)
    assert waiting_before == waiting_after == len(held)
    # The bounds: per process, and per organization (one cannot take every slot).
    assert len(held) <= WORKERS * SIZE and len(busy) >= len(plan) - WORKERS * SIZE
    for org in (acme, globex):
        assert 1 <= sum(o.org == org.id for o in held) <= WORKERS * PER_ORG
    for outcome in held:  # ended at the configured deadline
        if outcome.kind == "api":
            assert outcome.status == 400 and f"never answered within {TIMEOUT} s" in outcome.text
        else:
            assert "Could not connect." in outcome.text and "did not answer" in outcome.text
    assert sum(o.kind == "htmx" for o in busy) >= 4 and sum(o.kind == "api" for o in busy) >= 12
    for outcome in busy:
        seconds = int(outcome.headers["Retry-After"])
        assert 1 <= seconds <= TIMEOUT
        assert "typed-secret" not in outcome.text
        if outcome.kind == "api":
            error = outcome.json()["error"]
            assert error["title"] == "RateLimitExceeded" and error["fieldErrors"] == {}
            assert 1000 <= error["retryAfterMs"] <= TIMEOUT * 1000
            assert "already verifying" in error["detail"]
        else:
            assert outcome.status == 200 and "already verifying" in outcome.text
    # A refused verify tried nothing, so it is not audited; each held one is, as a failure.
    with psycopg.connect(store.env["DATABASE_URL"]) as conn:
        audited = conn.execute(
            "SELECT count(*) FROM audit_events WHERE action = 'source.verified'"
        ).fetchone()[0]
    assert audited == len(held)


# --- In process: the refusal's shapes (API, htmx, form, save), with a slot held -------------


def _org(app: Flask, name: str, email: str) -> tuple[int, str]:
    with app.app_context():
        create_admin(name, email, PASSWORD)
        org = db.session.scalar(db.select(Organization).filter_by(name=name))
        _, key = create_key(org, f"{name} key")
        return org.id, key


def _silent(port: int) -> dict:
    return {
        "type": "direct",
        "dialect": "POSTGRES",
        "host": "127.0.0.1",
        "port": port,
        "databaseName": "app",
        "username": "reader",
        "password": "typed-secret",
        "sslEnabled": False,
    }


def _hold(app: Flask, org_id: int, key: str, port: int) -> threading.Thread:
    """An API verify of the silent host, running until the deadline; returns once it holds
    its slot."""

    def verify() -> None:
        app.test_client().post(
            f"/api/public/organizations/{org_id}/data-sources/verify",
            json=_silent(port),
            headers={"Authorization": f"Bearer {key}"},
        )

    thread = threading.Thread(target=verify)
    thread.start()
    poll(lambda: slots_of(app).in_flight(org_id) == 1, 20, "the verify took no slot")
    return thread


# The held verify's deadline: long enough that a loaded machine (two test workers on two
# cores) still finds the slot held; each test then hangs up on it instead of waiting it out.
HOLD = 10.0


@pytest.fixture
def one_per_org(app: Flask) -> Flask:
    app.config.update(VERIFY_TIMEOUT=HOLD, VERIFY_CONCURRENCY=4, VERIFY_CONCURRENCY_PER_ORG=1)
    return app


@pytest.fixture
def silent() -> Iterator[SilentAddress]:
    """A host that accepts and never answers, until the test hangs up on it."""
    with silent_listener() as address:
        yield address


def _retry_after(response) -> int:
    """The Retry-After of a refusal: at least 1 s, at most the held verify's deadline."""
    seconds = int(response.headers["Retry-After"])
    assert 1 <= seconds <= HOLD
    return seconds


def test_api_verify_and_create_get_429_with_retry_after_when_the_org_is_full(one_per_org, silent):
    app, silent_port = one_per_org, silent[1]
    org_id, key = _org(app, "Acme", "admin@example.com")
    holder = _hold(app, org_id, key, silent_port)
    try:
        api = app.test_client()
        auth = {"Authorization": f"Bearer {key}"}
        base = f"/api/public/organizations/{org_id}/data-sources"
        for path, body in (
            ("/verify", _silent(silent_port)),
            ("", {**_silent(silent_port), "displayName": "Warehouse"}),
        ):
            response = api.post(base + path, json=body, headers=auth)
            assert response.status_code == 429, response.get_json()
            assert response.get_json() == {
                "error": {
                    "title": "RateLimitExceeded",
                    "fieldErrors": {},
                    "detail": "Your organization is already verifying 1 connection at once; try "
                    "again in a few seconds.",
                    "retryAfterMs": response.get_json()["error"]["retryAfterMs"],
                }
            }
            assert 1000 <= response.get_json()["error"]["retryAfterMs"] <= HOLD * 1000
            _retry_after(response)
    finally:
        silent.hang_up()
        holder.join(timeout=30)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Source)) == 0
        actions = db.session.scalars(db.select(AuditEvent.action)).all()
        assert actions.count("source.verified") == 1  # the held verify only


def _logged_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    response = client.post(
        "/login",
        data={"csrf_token": csrf_token(client, "/login"), "email": email, "password": PASSWORD},
    )
    assert response.status_code == 302
    return client


def test_htmx_and_form_show_the_busy_message_and_keep_what_was_typed(one_per_org, silent):
    app, silent_port = one_per_org, silent[1]
    org_id, key = _org(app, "Acme", "admin@example.com")
    browser = _logged_in(app, "admin@example.com")
    token = csrf_token(browser, "/sources/new")
    form = {
        "csrf_token": token,
        "displayName": "Prod",
        "dialect": "POSTGRES",
        "host": "db.example.com",
        "port": "6543",
        "databaseName": "app",
        "username": "reader",
        "password": "typed-secret",
    }
    message = "Your organization is already verifying 1 connection at once"
    holder = _hold(app, org_id, key, silent_port)
    try:
        partial = browser.post("/sources/verify", data=form, headers={"HX-Request": "true"})
        html = partial.get_data(as_text=True)
        assert partial.status_code == 200 and _retry_after(partial)
        assert "<strong>Busy.</strong>" in html and message in html
        assert "typed-secret" not in html
        for url in ("/sources/verify", "/sources/new"):  # without JavaScript: verify, save
            page = browser.post(url, data=form)
            html = page.get_data(as_text=True)
            assert page.status_code == 429 and _retry_after(page)
            assert message in html
            assert 'value="Prod"' in html and 'value="db.example.com"' in html
            assert 'value="6543"' in html and "typed-secret" not in html
        demo = browser.post(
            "/sources/demo", data={"csrf_token": token}, follow_redirects=True
        )  # adding the demo verifies it too
        assert demo.status_code == 200 and message in demo.get_data(as_text=True)
    finally:
        silent.hang_up()
        holder.join(timeout=30)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Source)) == 0


def test_another_org_still_verifies_while_one_is_full_until_the_process_is(one_per_org, pg, silent):
    app, silent_port = one_per_org, silent[1]
    acme_id, acme_key = _org(app, "Acme", "admin@example.com")
    globex_id, globex_key = _org(app, "Globex", "admin@globex.example")
    holder = _hold(app, acme_id, acme_key, silent_port)
    try:
        api = app.test_client()
        real = {
            "type": "direct",
            "dialect": "POSTGRES",
            "host": pg.host,
            "port": pg.port,
            "databaseName": pg.database,
            "username": pg.user,
            "password": pg.password,
            "sslEnabled": False,
        }
        url = f"/api/public/organizations/{globex_id}/data-sources/verify"
        auth = {"Authorization": f"Bearer {globex_key}"}
        response = api.post(url, json=real, headers=auth)
        assert response.status_code == 200 and response.get_json()["data"]["success"] is True
        app.config["VERIFY_CONCURRENCY"] = 1  # now the process has no slot left either
        response = api.post(url, json=real, headers=auth)
        assert response.status_code == 429
        assert response.get_json()["error"]["detail"] == (
            "Datadock is already verifying 1 connection; try again in a few seconds."
        )
    finally:
        silent.hang_up()
        holder.join(timeout=30)
