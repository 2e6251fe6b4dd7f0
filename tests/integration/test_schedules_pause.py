"""Per-source schedules and pause against the throwaway PostgreSQL, with a controllable clock
(`schedules.clock`, the scheduler's one "now"): a cron schedule runs at its times and no
sooner, each source is claimed by its own next-due time, a paused source runs no scheduled
sync or health check but still syncs and checks by hand, and the source page's Test
connection, Pause and Resume."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from tests.fixtures_app import csrf_token
from tests.integration.jobs_helpers import add_source, sync_once
from webapp import sources as uc
from webapp.extensions import db
from webapp.jobs import scheduler, schedules
from webapp.jobs.claims import HEALTH, SYNC, claim_due
from webapp.jobs.health import run_health
from webapp.jobs.sync import run_sync
from webapp.models import HealthCheck, Source, SyncRun
from webapp.records import vault


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """The scheduler's clock, set to 01:00 UTC on a winter day ahead of the real time (so
    what is asked for by hand, at the real time, is due too)."""
    moved = Clock(datetime(datetime.now().year + 1, 1, 15, 1, 0))
    monkeypatch.setattr(schedules, "clock", moved)
    return moved


def wait_for(condition, seconds: float = 30.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
        db.session.expire_all()


def runs_of(source_id: int) -> list[SyncRun]:
    return list(
        db.session.scalars(
            db.select(SyncRun).where(SyncRun.source_id == source_id).order_by(SyncRun.id)
        )
    )


def test_a_cron_schedule_runs_at_its_times_in_its_zone(app, admin, pg, clock):
    app.config.update(SCHEDULER_TICK_SECONDS=0.2, HEALTH_INTERVAL=0)
    with app.app_context():
        # 03:30 in Berlin is 02:30 UTC in winter.
        source = add_source(
            pg, pg.database, syncSchedule="30 3 * * *", syncTimezone="Europe/Berlin"
        )
        source = sync_once(source.id)  # the first sync, queued by the create
        due = clock.at.replace(hour=2, minute=30)  # 03:30 CET that same day
        assert source.next_sync_at == due
        # A second before, nothing is due; at the time, the scheduler runs it.
        assert claim_due(SYNC, "early", due - timedelta(seconds=1), 60, 10) == []
        clock.at = due
        scheduler.start(app)
        wait_for(
            lambda: [r.status for r in runs_of(source.id)] == ["SUCCESS", "SUCCESS"],
            what="the scheduled sync",
        )
        assert runs_of(source.id)[1].trigger == "schedule"
        wait_for(
            lambda: db.session.get(Source, source.id).next_sync_at == due + timedelta(days=1),
            what="the next run to be set",
        )
        # The next day at the same time, again.
        clock.at = due + timedelta(days=1)
        wait_for(
            lambda: len(runs_of(source.id)) == 3 and runs_of(source.id)[2].status == "SUCCESS",
            what="the next day's sync",
        )
        wait_for(
            lambda: db.session.get(Source, source.id).next_sync_at == due + timedelta(days=2),
            what="the day after to be set",
        )


def test_a_paused_source_runs_no_scheduled_work_but_runs_by_hand(app, admin, pg, clock):
    app.config.update(SCHEDULER_TICK_SECONDS=0.2)
    with app.app_context():
        paused = sync_once(add_source(pg, pg.database, displayName="Paused").id)
        active = sync_once(add_source(pg, pg.database, displayName="Active").id)
        uc.pause_source(paused)
        assert (paused.paused, paused.next_sync_at, paused.next_health_at) == (True, None, None)
        later = clock.at + timedelta(days=3)
        # Both would be due days later, but only the active one is claimed.
        assert claim_due(SYNC, "probe", later, 60, 10) == [active.id]
        db.session.execute(db.update(Source).values(sync_lease_owner=None, sync_lease_until=None))
        db.session.commit()
        assert claim_due(HEALTH, "probe", later, 60, 10) == [active.id]  # never checked yet
        db.session.execute(
            db.update(Source).values(health_lease_owner=None, health_lease_until=None)
        )
        db.session.commit()

        # The scheduler, days later: the active source syncs and is checked, the paused one
        # neither (both were due in the same ticks).
        clock.at = later
        scheduler.start(app)
        wait_for(
            lambda: (
                len(runs_of(active.id)) == 2
                and runs_of(active.id)[1].status == "SUCCESS"
                and db.session.get(Source, active.id).last_health_status == "HEALTHY"
            ),
            what="the active source's scheduled work",
        )
        assert [r.trigger for r in runs_of(paused.id)] == ["create"]
        assert (
            db.session.scalar(
                db.select(db.func.count())
                .select_from(HealthCheck)
                .where(HealthCheck.source_id == paused.id)
            )
            == 0
        )

        # By hand it still syncs and checks, and stays without a due time afterwards.
        app.extensions.pop("datadock_runner").stop(wait=True)
        paused = db.session.get(Source, paused.id)
        uc.request_sync(paused, trigger="manual")
        assert claim_due(SYNC, "hand", later, 60, 10) == [paused.id]
        run_sync(paused.id, "hand")
        uc.request_health_check(db.session.get(Source, paused.id))
        assert claim_due(HEALTH, "hand", later, 60, 10) == [paused.id]
        run_health(paused.id, "hand")
        db.session.expire_all()
        paused = db.session.get(Source, paused.id)
        assert runs_of(paused.id)[-1].trigger == "manual"
        assert runs_of(paused.id)[-1].status == "SUCCESS"
        assert paused.last_health_status == "HEALTHY"
        assert (paused.next_sync_at, paused.next_health_at) == (None, None)

        # Resumed: a health check at once, the next sync after its interval.
        uc.resume_source(paused)
        assert paused.next_health_at == later
        assert paused.next_sync_at == later + timedelta(seconds=app.config["SYNC_INTERVAL"])
        assert claim_due(HEALTH, "again", later, 60, 10) == [paused.id]


def test_the_source_page_tests_the_saved_connection_and_pauses(app, admin, pg):
    with app.app_context():
        source_id = add_source(pg, pg.database, displayName="Warehouse").id
    page = f"/sources/{source_id}"
    html = admin.get(page).get_data(as_text=True)
    assert "Test connection" in html and ">Pause<" in html and "badge paused" not in html
    token = csrf_token(admin, page)
    tested = admin.post(f"{page}/test", data={"csrf_token": token}, headers={"HX-Request": "true"})
    body = tested.get_data(as_text=True)
    assert tested.status_code == 200 and "Connection verified." in body
    assert 'data-step="auth"' in body and 'data-step="catalog"' in body
    plain = admin.post(f"{page}/test", data={"csrf_token": token})
    assert plain.status_code == 200 and "Connection verified." in plain.get_data(as_text=True)
    assert admin.post(f"{page}/test").status_code == 400  # no CSRF token

    with app.app_context():
        source = db.session.get(Source, source_id)
        source.secrets_blob = vault().encrypt({"password": "wrong-secret-456"})
        db.session.commit()
    failed = admin.post(f"{page}/test", data={"csrf_token": token})
    text = failed.get_data(as_text=True)
    assert failed.status_code == 422 and "Could not connect." in text
    assert "rejected the username or password" in text or "Incorrect username" in text
    assert "wrong-secret-456" not in text

    paused = admin.post(f"{page}/pause", data={"csrf_token": token}, follow_redirects=True)
    html = paused.get_data(as_text=True)
    assert 'class="badge paused"' in html and ">Resume<" in html
    assert 'Health <span class="badge paused">Paused</span>' in html
    assert "none while paused" in html
    assert 'class="badge paused"' in admin.get("/sources").get_data(as_text=True)
    resumed = admin.post(f"{page}/resume", data={"csrf_token": token}, follow_redirects=True)
    assert 'class="badge paused"' not in resumed.get_data(as_text=True)
    with app.app_context():
        actions = db.session.scalars(
            db.text("SELECT action FROM audit_events WHERE target_id = :id ORDER BY id"),
            {"id": source_id},
        ).all()
    assert actions[-2:] == ["source.paused", "source.resumed"]
    assert actions.count("source.verified") == 3
