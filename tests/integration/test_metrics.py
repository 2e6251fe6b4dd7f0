"""GET /metrics: off without DATADOCK_METRICS_TOKEN, a bearer token compared in constant time,
and figures read from the store at scrape time, so two apps on one store answer the same.

The rows are the app's own: sources, sync runs and health checks written as the jobs write
them, verify outcomes from real verifies (a closed loopback port, a throwaway PostgreSQL)."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from flask_migrate import upgrade
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.jobs_helpers import add_source, fresh_database
from tests.integration.test_verify_postgres import values
from webapp import audit, create_app
from webapp import sources as uc
from webapp.extensions import db
from webapp.jobs.claims import HEALTH, SYNC, claim_due
from webapp.models import HealthCheck, Organization, Source, SyncRun, utcnow

TOKEN = "metrics-token-for-tests-0123456789"


def scrape(client, token: str | None = TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get("/metrics", headers=headers)


def samples(body: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_metrics_are_off_without_a_token_and_need_the_right_bearer(app, admin):
    assert scrape(admin).status_code == 404
    app.config["METRICS_TOKEN"] = TOKEN
    assert scrape(admin, None).status_code == 401
    wrong = scrape(admin, TOKEN[:-1] + "x")
    assert wrong.status_code == 401 and TOKEN not in wrong.get_data(as_text=True)
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    ok = scrape(admin)
    assert ok.status_code == 200 and ok.mimetype == "text/plain"
    assert "datadock_sources" in ok.get_data(as_text=True)


def test_figures_come_from_the_store_and_any_process_answers_the_same(app, admin, pg):
    app.config["METRICS_TOKEN"] = TOKEN
    now = utcnow()
    with app.app_context():
        org = db.session.scalar(db.select(Organization))
        good = add_source(pg, pg.database, displayName="Good")  # sync queued
        uc.verify_saved(good)  # Test connection: audited as a verify
        with pytest.raises(uc.ConnectionFailed):
            uc.verify_input(values(pg, host="127.0.0.1", port=closed_port()), org=org)
        paused = add_source(pg, pg.database, displayName="Paused")
        uc.pause_source(paused)
        good.last_health_status, good.last_sync_status = "HEALTHY", "SUCCESS"
        good.next_sync_at = now - timedelta(seconds=90)  # due 90 s ago, claimed by nobody
        db.session.add_all(
            [
                SyncRun(
                    source_id=good.id,
                    status="SUCCESS",
                    trigger="schedule",
                    started_at=now - timedelta(seconds=40),
                    finished_at=now - timedelta(seconds=10),
                ),
                SyncRun(
                    source_id=good.id,
                    status="FAILED",
                    trigger="manual",
                    started_at=now - timedelta(seconds=4),
                    finished_at=now - timedelta(seconds=2),
                ),
                SyncRun(
                    source_id=good.id,
                    status="SUCCESS",
                    trigger="schedule",  # out of the hour
                    started_at=now - timedelta(hours=3),
                    finished_at=now - timedelta(hours=2),
                ),
                HealthCheck(
                    source_id=good.id,
                    checked_at=now - timedelta(minutes=5),
                    healthy=True,
                    latency_ms=20,
                ),
                HealthCheck(
                    source_id=good.id,
                    checked_at=now - timedelta(minutes=1),
                    healthy=False,
                    latency_ms=3000,
                    error_message="Timed out",
                ),
            ]
        )
        db.session.commit()
        paused_id, good_id = paused.id, good.id

    found = samples(scrape(admin).get_data(as_text=True))
    assert (
        found[
            (
                "datadock_sources",
                (("health", "healthy"), ("paused", "false"), ("sync_status", "success")),
            )
        ]
        == 1
    )
    assert (
        found[
            (
                "datadock_sources",
                (("health", "unknown"), ("paused", "true"), ("sync_status", "pending")),
            )
        ]
        == 1
    )
    assert found[("datadock_sync_duration_seconds_gcount", (("status", "success"),))] == 1
    assert found[("datadock_sync_duration_seconds_gsum", (("status", "success"),))] == 30
    assert (
        found[("datadock_sync_duration_seconds_bucket", (("le", "15.0"), ("status", "failed")))]
        == 1
    )
    assert (
        found[
            ("datadock_health_check_latency_seconds_bucket", (("healthy", "true"), ("le", "0.025")))
        ]
        == 1
    )
    assert found[("datadock_health_check_latency_seconds_gsum", (("healthy", "false"),))] == 3
    # One verify passed, one failed at TCP (from the audit log).
    assert found[("datadock_verify_outcomes_total", (("result", "success"), ("step", "")))] == 1
    assert found[("datadock_verify_outcomes_total", (("result", "failure"), ("step", "tcp")))] == 1
    lag = found[("datadock_job_queue_lag_seconds", (("kind", "sync"),))]
    assert 90 <= lag < 90 + 60
    assert found[("datadock_job_queue_lag_seconds", (("kind", "health"),))] >= 0

    # Another process on the same store answers the same figures.
    other = create_app(
        {
            "TESTING": True,
            "SCHEDULER_ENABLED": False,
            "METRICS_TOKEN": TOKEN,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        }
    )
    again = samples(scrape(other.test_client()).get_data(as_text=True))
    lag_keys = {k for k in found if k[0] == "datadock_job_queue_lag_seconds"}
    assert {k: v for k, v in again.items() if k not in lag_keys} == {
        k: v for k, v in found.items() if k not in lag_keys
    }

    # Claimed work is no longer waiting (the paused source's first sync was asked for before
    # the pause, so it runs); a paused source's health check is never waiting.
    with app.app_context():
        assert sorted(claim_due(SYNC, "metrics-test", utcnow(), 60, 10)) == [good_id, paused_id]
        claim_due(HEALTH, "metrics-test", utcnow(), 60, 10)
        assert db.session.get(Source, paused_id).health_lease_owner is None
    after = samples(scrape(admin).get_data(as_text=True))
    assert after[("datadock_job_queue_lag_seconds", (("kind", "sync"),))] == 0
    assert after[("datadock_job_queue_lag_seconds", (("kind", "health"),))] == 0
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_postgresql_store_answers_the_same_metrics(pg, tmp_path, monkeypatch):
    name = fresh_database(pg, "metrics")
    monkeypatch.setenv("DATADOCK_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    url = f"postgresql+psycopg://{pg.user}:{pg.password}@{pg.host}:{pg.port}/{name}"
    application = create_app(
        {
            "TESTING": True,
            "SCHEDULER_ENABLED": False,
            "METRICS_TOKEN": TOKEN,
            "SQLALCHEMY_DATABASE_URI": url,
        }
    )
    with application.app_context():
        upgrade()
        org = Organization(name="Acme")
        db.session.add(org)
        db.session.commit()
        audit.record(
            org.id,
            "source.verified",
            target_type="source",
            details={"result": "failure", "step": "auth", "dialect": "POSTGRES"},
        )
        db.session.add(
            Source(
                organization_id=org.id,
                display_name="S",
                dialect="POSTGRES",
                last_health_status="UNHEALTHY",
                last_sync_status="FAILED",
            )
        )
        db.session.commit()
        try:
            found = samples(scrape(application.test_client()).get_data(as_text=True))
        finally:
            db.session.remove()
            db.engine.dispose()
    assert found[("datadock_verify_outcomes_total", (("result", "failure"), ("step", "auth")))] == 1
    assert (
        found[
            (
                "datadock_sources",
                (("health", "unhealthy"), ("paused", "false"), ("sync_status", "failed")),
            )
        ]
        == 1
    )
