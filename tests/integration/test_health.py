"""Health checks against the throwaway PostgreSQL and a loopback listener that never answers:
the recorded history, the source's health fields, claims, isolation of silent hosts, pruning,
and the page's uptime bars and the list's health dot."""

from __future__ import annotations

import re
import time
from datetime import timedelta

from tests.fixtures_app import csrf_token
from tests.integration.jobs_helpers import add_source
from webapp import sources as uc
from webapp.extensions import db
from webapp.jobs import scheduler
from webapp.jobs.claims import HEALTH, claim_due
from webapp.jobs.health import prune_health, run_health
from webapp.models import HealthCheck, Source, utcnow
from webapp.records import vault


def check_once(source_id: int, owner: str = "health-test") -> Source:
    """Claim and run the due health check the way a scheduler tick does."""
    assert claim_due(HEALTH, owner, utcnow(), 60, 100) == [source_id]
    run_health(source_id, owner)
    db.session.expire_all()
    return db.session.get(Source, source_id)


def test_a_new_source_is_checked_and_its_history_recorded(app, admin, pg):
    with app.app_context():
        source = add_source(pg, pg.database)
        assert source.next_health_at is None  # never checked: due at once
        before = utcnow()
        source = check_once(source.id)
        assert source.last_health_status == "HEALTHY"
        assert source.last_healthy_at == source.last_health_check_attempt_at >= before
        interval = app.config["HEALTH_INTERVAL"]
        assert (
            timedelta(seconds=interval)
            <= source.next_health_at - source.last_healthy_at
            <= timedelta(seconds=interval * 1.1 + 1)
        )
        assert source.health_lease_owner is None
        [check] = uc.health_history(source)
        assert check.healthy and check.error_message is None
        assert 0 < check.latency_ms < app.config["VERIFY_TIMEOUT"] * 1000
        # Not due again until the interval has passed.
        assert claim_due(HEALTH, "another", utcnow(), 60, 100) == []


def test_an_unresponsive_host_is_unhealthy_after_one_timeout(app, admin, pg, silent_port):
    with app.app_context():
        source = check_once(add_source(pg, pg.database).id)
        healthy_at = source.last_healthy_at
        source.port = silent_port  # the host stops answering
        uc.request_health_check(source)
        started = time.monotonic()
        source = check_once(source.id)
        took = time.monotonic() - started
        assert source.last_health_status == "UNHEALTHY"
        assert source.last_healthy_at == healthy_at
        assert source.last_health_check_attempt_at > healthy_at
        latest = uc.health_history(source)[-1]
        assert not latest.healthy
        assert "accepted the connection but never answered" in latest.error_message
        assert "firewall" in latest.error_message
        timeout = app.config["VERIFY_TIMEOUT"]
        print(f"unresponsive host: unhealthy after {took:.2f} s (timeout {timeout} s)")
        assert latest.latency_ms >= (timeout - 1) * 1000  # it waited for the deadline


def test_a_rejected_password_is_unhealthy_without_leaking_it(app, admin, pg):
    with app.app_context():
        source = add_source(pg, pg.database)
        source.secrets_blob = vault().encrypt({"password": "wrong-secret-123"})
        db.session.commit()
        source = check_once(source.id)
        latest = uc.health_history(source)[-1]
        assert source.last_health_status == "UNHEALTHY" and source.last_healthy_at is None
        assert "rejected the username or password" in latest.error_message
        assert "wrong-secret-123" not in latest.error_message


def test_health_claims_are_exclusive_and_leases_expire(app, admin, pg):
    with app.app_context():
        first = add_source(pg, pg.database)
        second = add_source(pg, pg.database, displayName="Second")
        now = utcnow()
        assert claim_due(HEALTH, "a", now, 30, 1) == [first.id]  # oldest due first
        assert claim_due(HEALTH, "b", now, 30, 10) == [second.id]
        assert claim_due(HEALTH, "c", now, 30, 10) == []
        # A process that died holding a lease: after it expires, the check is due again.
        later = now + timedelta(seconds=31)
        assert sorted(claim_due(HEALTH, "c", later, 30, 10)) == [first.id, second.id]
        # A check run by a process that no longer holds the lease records nothing.
        run_health(first.id, "a")
        assert uc.health_history(first) == []


def test_sources_found_unhealthy_are_claimed_first(app, admin, pg):
    """So hosts that may time out start waiting early, alongside the quick checks."""
    with app.app_context():
        never = add_source(pg, pg.database)
        healthy = add_source(pg, pg.database, displayName="Healthy")
        unhealthy = add_source(pg, pg.database, displayName="Unhealthy")
        now = utcnow()
        healthy.last_health_status, healthy.next_health_at = "HEALTHY", now - timedelta(hours=1)
        unhealthy.last_health_status = "UNHEALTHY"
        unhealthy.next_health_at = now - timedelta(seconds=1)
        db.session.commit()
        expected = [[unhealthy.id], [never.id], [healthy.id], []]
        order = [claim_due(HEALTH, f"o{i}", now, 30, 1) for i in range(4)]
    assert order == expected


def test_silent_hosts_do_not_delay_other_checks_or_syncs(app, admin, pg, silent_port):
    """The real scheduler: 6 silent sources due first, 3 healthy ones, 8 health workers. The
    silent checks hold 6 workers for a timeout each; the healthy checks and a sync requested
    meanwhile finish while they still wait."""
    app.config.update(SCHEDULER_TICK_SECONDS=0.2, HEALTH_WORKERS=8, VERIFY_TIMEOUT=3.0)
    with app.app_context():
        silent, healthy = [], []
        for i in range(6):
            source = add_source(pg, pg.database, displayName=f"Silent {i}")
            source.port = silent_port
            # Due first, so the silent checks take the health workers before the others.
            source.next_health_at = utcnow() - timedelta(minutes=10)
            silent.append(source.id)
        for i in range(3):
            source = add_source(pg, pg.database, displayName=f"Healthy {i}")
            source.next_health_at = utcnow() - timedelta(minutes=5)
            healthy.append(source.id)
        for source_id in silent + healthy:  # the first syncs were queued by the saves
            db.session.get(Source, source_id).next_sync_at = None
        db.session.commit()
        # The SQLite store runs in WAL mode with a busy timeout: jobs and pages write side by
        # side without "database is locked"; commits sync at checkpoints (1: NORMAL).
        assert db.session.execute(db.text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(db.text("PRAGMA busy_timeout")).scalar() == 15000
        assert db.session.execute(db.text("PRAGMA synchronous")).scalar() == 1
        scheduler.start(app)
        uc.request_sync(db.session.get(Source, healthy[0]))
        deadline = time.monotonic() + 60
        pages = 0
        while db.session.scalar(db.select(db.func.count()).select_from(HealthCheck)) < 9:
            assert time.monotonic() < deadline, "the health sweep did not finish"
            # Pages keep answering while the jobs run and write.
            assert admin.get("/sources").status_code == 200
            assert admin.get(f"/sources/{healthy[1]}").status_code == 200
            pages += 2
            db.session.commit()
        assert pages > 0
        checks = {c.source_id: c for c in db.session.scalars(db.select(HealthCheck))}
        first_silent_done = min(checks[i].checked_at for i in silent)
        assert all(checks[i].healthy for i in healthy)
        assert not any(checks[i].healthy for i in silent)
        # Every healthy check was recorded before the first silent check gave up.
        assert max(checks[i].checked_at for i in healthy) < first_silent_done
        synced = db.session.get(Source, healthy[0])
        assert synced.last_sync_status == "SUCCESS"
        assert synced.last_successful_sync_at < first_silent_done


def test_old_checks_are_pruned(app, admin, pg):
    with app.app_context():
        source = add_source(pg, pg.database)
        now = utcnow()
        db.session.add_all(
            [
                HealthCheck(
                    source_id=source.id,
                    checked_at=now - timedelta(days=d),
                    healthy=True,
                    latency_ms=5,
                )
                for d in (0, 1, 29, 31, 45)
            ]
        )
        db.session.commit()
        assert prune_health(now - timedelta(days=30)) == 2
        ages = sorted(
            (now - c.checked_at).days
            for c in uc.health_history(source, since=now - timedelta(days=60))
        )
        assert ages == [0, 1, 29]


def test_the_page_draws_uptime_bars_and_the_list_a_dot(app, admin, pg):
    with app.app_context():
        source = add_source(pg, pg.database)
        now = utcnow()
        checks = []
        for minutes in range(5, 24 * 60, 30):
            healthy = minutes % 7 != 0
            checks.append(
                HealthCheck(
                    source_id=source.id,
                    checked_at=now - timedelta(minutes=minutes),
                    healthy=healthy,
                    latency_ms=10 + minutes % 50,
                    error_message=None if healthy else "The host … timed out",
                )
            )
        db.session.add_all(checks)
        source = check_once(source.id)  # a real one, the newest
        source_id = source.id
        uptime = uc.health_uptime(source)
        assert uptime.checks == len(checks) + 1
        expected = round(100 * (sum(c.healthy for c in checks) + 1) / (len(checks) + 1), 2)
        assert uptime.uptime_percent == expected

    page = admin.get(f"/sources/{source_id}").get_data(as_text=True)
    panel = page[page.index('id="health-panel"') : page.index('id="sync-history"')]
    assert "<svg" in panel and 'role="img"' in panel and "style=" not in panel
    assert len(re.findall(r'<g class="bucket bucket-', panel)) == 48
    assert 'fill="#b42318"' in panel or 'fill="#d49b00"' in panel  # some failed checks
    assert 'fill="#17743d"' in panel
    assert f"Uptime <strong>{expected:.2f} %</strong>" in panel
    assert "<title>" in panel and "checks healthy" in panel
    assert "Healthy" in panel and "Check now" in panel

    week = admin.get(f"/sources/{source_id}/health?window=7d").get_data(as_text=True)
    assert len(re.findall(r'<g class="bucket bucket-', week)) == 56
    assert 'aria-current="true" class="current">7 days' in week

    listing = admin.get("/sources").get_data(as_text=True)
    assert 'class="dot dot-healthy"' in listing

    token = csrf_token(admin, f"/sources/{source_id}")
    response = admin.post(
        f"/sources/{source_id}/health/check",
        data={"csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and "every 3s" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Source, source_id).next_health_at <= utcnow()
