"""Issue 14's source page without a browser: the page in sections (breadcrumb, a tab bar of
anchor links, Overview's compact summary, Settings' full facts), the sync panel's poll bringing
the history and the overview's sync line in the same answer (bug 8), each run's status in step
with the source's, and a saved secret's help that never says "leave blank to keep" beside
"Enter the password again" (bug 9)."""

from __future__ import annotations

import re
from types import SimpleNamespace

from tests.fixtures_app import csrf_token
from tests.unit.test_hardening import add_source, member  # noqa: F401 - a fixture
from webapp import sources as uc
from webapp.extensions import db
from webapp.models import Source, SyncRun
from webapp.web.forms import MOVED_HELP, SAVED_HELP
from webapp.web.source_view import shown_statuses

SECTIONS = ["overview", "schema", "health", "history", "settings"]
POLL = {"HX-Request": "true", "HX-Trigger": "sync-panel"}


def section(html: str, key: str) -> str:
    """The markup of one section of the source page (up to the next one)."""
    start = html.index(f'id="{key}" class="tab-panel')
    after = start + len(key) + 20
    ends = [html.find('class="tab-panel', after), html.find("</main>", after)]
    return html[start : min(e for e in ends if e > 0)]


def test_the_page_has_a_breadcrumb_a_tab_bar_and_five_sections(app, admin):
    source_id = add_source(app)
    html = admin.get(f"/sources/{source_id}").get_data(as_text=True)
    crumbs = re.search(r'<nav class="breadcrumb" aria-label="Breadcrumb">(.*?)</nav>', html, re.S)
    assert crumbs and '<a href="/sources">Data sources</a>' in crumbs.group(1)
    assert '<li aria-current="page">Warehouse</li>' in crumbs.group(1)
    bar = re.search(
        r'<nav class="tabs" aria-label="Source sections" data-tabs>(.*?)</nav>', html, re.S
    )
    assert bar is not None
    assert re.findall(r'<a href="#(\w+)" id="tab-\1" data-tab="\1">', bar.group(1)) == SECTIONS
    positions = [html.index(f'id="{key}" class="tab-panel') for key in SECTIONS]
    assert positions == sorted(positions)  # without JavaScript: one page, in the bar's order
    assert 'id="sync-panel"' in section(html, "schema")
    assert 'id="health-panel"' in section(html, "health")
    assert 'id="sync-history"' in section(html, "history")
    settings = section(html, "settings")
    assert 'id="webhook"' in settings and ">Edit</a>" in settings and ">Delete</button>" in settings


def test_overview_is_a_compact_summary_and_settings_keeps_every_fact(app, admin):
    source_id = add_source(app)
    html = admin.get(f"/sources/{source_id}").get_data(as_text=True)
    overview = section(html, "overview")
    rows = re.findall(r'<div class="summary-row"[^>]*>\s*<dt>([^<]+)</dt>', overview)
    assert rows == ["Connection", "Health", "Last sync", "Schedule", "Next syncs"]
    assert "PostgreSQL · reader@db.example.com:5432/app · SSL on" in overview
    assert "Not checked yet" in overview and "NEVER_SYNCED" in overview
    facts = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]*)</dd>", section(html, "settings")))
    assert facts["Host"] == "db.example.com" and facts["Password"] == "saved"
    assert len(facts) > len(rows) + 5  # the full list lives in Settings


def test_a_viewer_gets_the_sections_without_the_actions(app, admin, member):  # noqa: F811
    source_id = add_source(app)
    html = member.get(f"/sources/{source_id}").get_data(as_text=True)
    assert 'data-tab="settings"' in html and ">Edit</a>" not in html and "Sync now" not in html


def _run(app, source_id: int, source_status: str, run_status: str) -> None:
    with app.app_context():
        source = db.session.get(Source, source_id)
        source.last_sync_status = source_status
        run = db.session.scalar(db.select(SyncRun).filter_by(source_id=source_id))
        if run is None:
            run = SyncRun(source_id=source_id, trigger="manual", status=run_status)
            db.session.add(run)
        run.status = run_status
        if run_status in ("SUCCESS", "FAILED"):
            run.finished_at = uc.utcnow()
            run.table_count = 3
        db.session.commit()


def _oob(html: str, element_id: str) -> str:
    match = re.search(rf'<(\w+) [^>]*id="{element_id}"[^>]*hx-swap-oob="true"', html)
    assert match, f"no out-of-band #{element_id}"
    return html[match.start() : html.index(f"</{match.group(1)}>", match.start())]


def test_the_sync_panels_poll_brings_the_history_and_the_overview_line(app, admin):
    source_id = add_source(app)
    _run(app, source_id, "PENDING", "RUNNING")
    polled = admin.get(f"/sources/{source_id}/sync-panel", headers=POLL).get_data(as_text=True)
    assert 'id="sync-status">PENDING<' in polled
    assert 'data-status="RUNNING"' in _oob(polled, "sync-history")
    assert ">PENDING<" in _oob(polled, "summary-sync")

    _run(app, source_id, "SUCCESS", "SUCCESS")  # the sync ends: one answer says so everywhere
    polled = admin.get(f"/sources/{source_id}/sync-panel", headers=POLL).get_data(as_text=True)
    assert 'id="sync-status">SUCCESS<' in polled
    assert 'data-status="SUCCESS"' in _oob(polled, "sync-history")
    assert ">SUCCESS<" in _oob(polled, "summary-sync")
    # A table search swaps the panel only.
    search = {"HX-Request": "true", "HX-Trigger": ""}
    searched = admin.get(f"/sources/{source_id}/sync-panel?q=x", headers=search)
    assert "sync-history" not in searched.get_data(as_text=True)


def test_the_history_does_not_poll_on_its_own(app, admin):
    """Two pollers were the disagreement: only the sync panel's poll refreshes the history."""
    source_id = add_source(app)
    _run(app, source_id, "PENDING", "QUEUED")
    html = admin.get(f"/sources/{source_id}/history").get_data(as_text=True)
    assert 'data-status="QUEUED"' in html and "hx-trigger" not in html


def test_a_run_shows_running_only_while_its_source_is_pending():
    pending = SimpleNamespace(last_sync_status="PENDING")
    ended = SimpleNamespace(last_sync_status="SUCCESS")
    done = SimpleNamespace(id=2, status="SUCCESS")
    older = SimpleNamespace(id=1, status="FAILED")
    running = SimpleNamespace(id=3, status="RUNNING")
    # The source was read while pending, its run after it ended: RUNNING, as the panel shows.
    assert shown_statuses(pending, [done, older], 1) == {2: "RUNNING", 1: "FAILED"}
    assert shown_statuses(pending, [running, done], 1) == {3: "RUNNING", 2: "SUCCESS"}
    # The source has ended: its newest run is not shown running.
    assert shown_statuses(ended, [running, done], 1) == {3: "SUCCESS", 2: "SUCCESS"}
    assert shown_statuses(ended, [done, older], 1) == {2: "SUCCESS", 1: "FAILED"}
    assert shown_statuses(pending, [done], 2) == {2: "SUCCESS"}  # an older page: as stored


def test_a_saved_password_is_leave_blank_to_keep_until_the_host_moves(app, admin):
    source_id = add_source(app)
    form = admin.get(f"/sources/{source_id}/edit").get_data(as_text=True)
    assert f'<p class="help" id="password-help">{SAVED_HELP}</p>' in form
    token = csrf_token(admin, f"/sources/{source_id}/edit")
    moved = {
        "csrf_token": token,
        "displayName": "Warehouse",
        "dialect": "POSTGRES",
        "fieldsetDialect": "POSTGRES",
        "host": "elsewhere.example.com",
        "port": "5432",
        "databaseName": "app",
        "username": "reader",
        "password": "",
        "sslEnabled": "y",
        "sslMode": "require",
        "maxPoolSize": "10",
    }
    # Without JavaScript: the page comes back with the error and a help that agrees with it.
    page = admin.post(f"/sources/{source_id}/edit", data=moved)
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert re.search(r'id="password-error">Enter the password again: the host', html)
    assert f'<p class="help" id="password-help">{MOVED_HELP}</p>' in html
    assert "leave blank to keep" not in html
    assert "a saved one left blank is kept, so type again only those you changed" in html
    # With htmx: the help is swapped out of band beside the error.
    partial = admin.post(
        f"/sources/{source_id}/verify", data=moved, headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert re.search(r'id="password-error" hx-swap-oob="true">Enter the password again', partial)
    assert f'id="password-help" hx-swap-oob="true">{MOVED_HELP}<' in partial
    assert "leave blank to keep" not in partial


def test_a_new_sources_retype_line_asks_for_every_secret(app, admin):
    token = csrf_token(admin, "/sources/new")
    html = admin.post(
        "/sources/verify",
        data={"csrf_token": token, "dialect": "POSTGRES", "fieldsetDialect": "POSTGRES"},
    ).get_data(as_text=True)
    assert "type them again before you save" in html and "a saved one left blank" not in html
