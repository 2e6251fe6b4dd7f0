"""The API's test of a saved source (POST …/{id}/verify), pause and resume, and provisioning
with schedules, against a real throwaway PostgreSQL."""

from __future__ import annotations

from textwrap import dedent

from tests.api.conftest import Api
from tests.api.test_api_postgres import body
from webapp.extensions import db
from webapp.models import Source
from webapp.records import vault


def test_verify_saved_answers_like_the_create_time_verify(app, api: Api, pg):
    created = api.post(json=body(pg, sslEnabled=False))
    assert created.status_code == 201, created.get_data(as_text=True)
    source_id = created.get_json()["data"]["id"]
    ok = api.post(f"/{source_id}/verify")
    assert ok.status_code == 200, ok.get_data(as_text=True)
    data = ok.get_json()["data"]
    assert data["success"] is True and data["serverVersion"].startswith("PostgreSQL")
    assert [s["name"] for s in data["steps"]][:3] == ["fields", "dns", "tcp"]
    assert pg.password not in ok.get_data(as_text=True)

    with app.app_context():
        source = db.session.get(Source, int(source_id))
        source.secrets_blob = vault().encrypt({"password": "stored-but-wrong-789"})
        db.session.commit()
    wrong = api.post(f"/{source_id}/verify")
    error = wrong.get_json()["error"]
    assert wrong.status_code == 400 and error["title"] == "ConnectionFailed"
    assert error["fieldErrors"] == {
        "username": "Incorrect username or password",
        "password": "Incorrect username or password",
    }
    assert any(s["status"] == "failed" and s["name"] == "auth" for s in error["steps"])
    assert "stored-but-wrong-789" not in wrong.get_data(as_text=True)
    assert api.post("/999999/verify").status_code == 404


def test_pause_and_resume(app, api: Api, pg):
    created = api.post(
        json=body(pg, sslEnabled=False, syncSchedule="manual", healthCheckIntervalMinutes=30)
    )
    source_id = created.get_json()["data"]["id"]
    paused = api.post(f"/{source_id}/pause")
    data = paused.get_json()["data"]
    assert paused.status_code == 200 and data["paused"] is True
    assert data["nextHealthCheckAt"] is None
    assert data["nextSyncAt"] is not None  # the first sync, asked for by the create, still runs
    assert api.post(f"/{source_id}/pause").get_json()["data"]["paused"] is True  # idempotent
    resumed = api.post(f"/{source_id}/resume").get_json()["data"]
    assert resumed["paused"] is False and resumed["nextHealthCheckAt"] is not None
    assert resumed["syncSchedule"] == "manual" and resumed["healthCheckIntervalMinutes"] == 30
    # PATCH can pause too (it verifies again, like every update).
    patched = api.patch(f"/{source_id}", json={"paused": True})
    assert patched.status_code == 200 and patched.get_json()["data"]["paused"] is True
    assert patched.get_json()["data"]["nextHealthCheckAt"] is None
    assert api.post("/123456/pause").status_code == 404


def test_provisioning_sets_schedules(app, api: Api, pg, tmp_path, monkeypatch):
    monkeypatch.setenv("PG_PASSWORD", pg.password)
    path = tmp_path / "sources.yml"
    path.write_text(
        dedent(f"""
        organization: Acme
        sources:
          - displayName: Nightly
            type: direct
            dialect: POSTGRES
            host: {pg.host}
            port: {pg.port}
            databaseName: {pg.database}
            username: {pg.user}
            password: ${{PG_PASSWORD}}
            sslEnabled: false
            syncSchedule: "15 2 * * 1-5"
            syncTimezone: America/Chicago
            healthCheckIntervalMinutes: 15
            alertAfterFailures: 3
            paused: true
    """)
    )
    result = app.test_cli_runner().invoke(args=["datadock", "provision", str(path)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        source = db.session.scalar(db.select(Source).filter_by(display_name="Nightly"))
        assert (
            source.sync_schedule,
            source.sync_timezone,
            source.health_check_interval_minutes,
            source.alert_after_failures,
            source.paused,
        ) == ("15 2 * * 1-5", "America/Chicago", 15, 3, True)
        assert source.next_health_at is None
    again = app.test_cli_runner().invoke(args=["datadock", "provision", str(path)])
    assert again.output.split() == ["unchanged", "Nightly"]
    path.write_text(path.read_text().replace('"15 2 * * 1-5"', '"every night"'))
    bad = app.test_cli_runner().invoke(args=["datadock", "provision", str(path)])
    assert bad.exit_code != 0 and "syncSchedule" in bad.output and "cron" in bad.output
