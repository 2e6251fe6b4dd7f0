"""Schedules (webapp/jobs/schedules.py): next runs of each kind of schedule in its time zone,
across daylight-saving changes; what the fields refuse, next to the field, in the API and the
form; the form's preview of the next three runs."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.api.conftest import Api, add_source
from tests.fixtures_app import csrf_token
from webapp.core.fields import FieldInvalid
from webapp.extensions import db
from webapp.jobs.schedules import Schedule, check_schedule, check_time, check_timezone
from webapp.models import Source

HOUR = 3600.0


def test_daily_runs_at_its_local_time_across_a_dst_change():
    # New York springs forward on 2026-03-08: 03:30 local is 08:30 UTC before, 07:30 after.
    daily = Schedule("daily", "03:30", "America/New_York")
    runs = daily.runs_after(datetime(2026, 3, 6, 12, 0), 3, HOUR)
    assert runs == [
        datetime(2026, 3, 7, 8, 30),
        datetime(2026, 3, 8, 7, 30),
        datetime(2026, 3, 9, 7, 30),
    ]


def test_a_time_that_does_not_exist_on_the_dst_day_still_runs_once():
    # 02:30 does not exist in New York on 2026-03-08 (02:00 -> 03:00): cronsim runs it at 03:00.
    runs = Schedule("daily", "02:30", "America/New_York").runs_after(
        datetime(2026, 3, 7, 12, 0), 3, HOUR
    )
    assert runs == [
        datetime(2026, 3, 8, 7, 0),
        datetime(2026, 3, 9, 6, 30),
        datetime(2026, 3, 10, 6, 30),
    ]


def test_hourly_weekly_cron_interval_and_manual():
    start = datetime(2026, 12, 2, 10, 20)  # a Wednesday, UTC
    assert Schedule("hourly", "00:15").runs_after(start, 2, HOUR) == [
        datetime(2026, 12, 2, 11, 15),
        datetime(2026, 12, 2, 12, 15),
    ]
    assert Schedule("weekly", "06:00", "Europe/Berlin").runs_after(start, 2, HOUR) == [
        datetime(2026, 12, 7, 5, 0),
        datetime(2026, 12, 14, 5, 0),
    ]  # Mondays, CET = UTC+1
    assert Schedule("*/20 9-17 * * 1-5", "00:00", "UTC").runs_after(start, 3, HOUR) == [
        datetime(2026, 12, 2, 10, 40),
        datetime(2026, 12, 2, 11, 0),
        datetime(2026, 12, 2, 11, 20),
    ]
    assert Schedule("interval").runs_after(start, 2, 600) == [
        datetime(2026, 12, 2, 10, 30),
        datetime(2026, 12, 2, 10, 40),
    ]
    assert Schedule("manual").runs_after(start, 3, HOUR) == []
    # A row written around the field checks runs as an interval rather than never.
    assert Schedule("0 99 * * *").runs_after(start, 1, 600) == [datetime(2026, 12, 2, 10, 30)]
    assert Schedule("daily", "03:00", "No/Zone").runs_after(start, 1, 600) == [
        datetime(2026, 12, 2, 10, 30)
    ]


@pytest.mark.parametrize(
    ("check", "value", "message"),
    [
        (check_schedule, "every day", "5-field cron expression"),
        (check_schedule, "61 * * * *", "Not a valid cron expression"),
        (check_schedule, "* * * * * *", "5-field cron expression"),
        (check_time, "24:00", "HH:MM"),
        (check_time, "3:30", "HH:MM"),
        (check_timezone, "Mars/Olympus", "not a time zone"),
        (check_timezone, "../../etc/passwd", "IANA time zone name"),
    ],
)
def test_invalid_schedules_times_and_zones_are_refused(check, value, message):
    with pytest.raises(FieldInvalid, match=message):
        check(value)


def test_the_api_puts_schedule_errors_next_to_their_fields(api: Api):
    response = api.post(
        json={
            "type": "direct",
            "dialect": "POSTGRES",
            "displayName": "X",
            "host": "db.invalid",
            "databaseName": "app",
            "username": "u",
            "password": "p",
            "syncSchedule": "0 25 * * *",
            "syncTime": "7pm",
            "syncTimezone": "Nowhere/City",
            "healthCheckIntervalMinutes": 0,
            "alertAfterFailures": 101,
            "paused": True,
        }
    )
    error = response.get_json()["error"]
    assert response.status_code == 400 and error["title"] == "ValidationError"
    assert set(error["fieldErrors"]) == {
        "syncSchedule",
        "syncTime",
        "syncTimezone",
        "healthCheckIntervalMinutes",
        "alertAfterFailures",
    }
    assert "cron" in error["fieldErrors"]["syncSchedule"]
    assert "between 1 and 1440" in error["fieldErrors"]["healthCheckIntervalMinutes"]
    typed = api.post(json={"type": "direct", "dialect": "POSTGRES", "paused": "yes"})
    assert typed.get_json()["error"]["fieldErrors"]["paused"] == "Must be true or false"


def test_answers_carry_the_schedule_and_defaults_keep_todays_behaviour(app, api: Api):
    source_id = add_source(app, api.org_id)
    data = api.get(f"/{source_id}").get_json()["data"]
    assert {
        k: data[k]
        for k in (
            "syncSchedule",
            "syncTime",
            "syncTimezone",
            "healthCheckIntervalMinutes",
            "alertAfterFailures",
            "paused",
        )
    } == {
        "syncSchedule": "interval",
        "syncTime": "00:00",
        "syncTimezone": "UTC",
        "healthCheckIntervalMinutes": 5,
        "alertAfterFailures": 2,
        "paused": False,
    }
    assert "nextSyncAt" in data and "nextHealthCheckAt" in data


def test_the_form_previews_the_next_three_runs_and_puts_errors_by_the_field(app, admin):
    page = admin.get("/sources/new").get_data(as_text=True)
    assert 'id="schedule-preview"' in page and "/sources/schedule-preview" in page
    preview = admin.get(
        "/sources/schedule-preview",
        query_string={"syncSchedule": "daily", "syncTime": "03:30", "syncTimezone": "Asia/Tokyo"},
        headers={"HX-Request": "true"},
    )
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and html.count("<time ") == 3
    assert "03:30 JST" in html and "18:30 UTC" in html
    assert 'id="syncSchedule-error" hx-swap-oob="true"></p>' in html  # cleared
    bad = admin.get(
        "/sources/schedule-preview",
        query_string={
            "syncSchedule": "*/5 * * *",
            "syncTime": "03:30",
            "syncTimezone": "Asia/Tokio",
        },
    )
    html = bad.get_data(as_text=True)
    assert "<time " not in html
    assert "5-field cron expression" in html and "not a time zone" in html
    manual = admin.get("/sources/schedule-preview", query_string={"syncSchedule": "manual"})
    assert "only when you press Sync now" in manual.get_data(as_text=True)


def test_a_form_save_with_a_bad_cron_shows_the_error_next_to_the_field(app, admin):
    with app.app_context():
        org_id = db.session.scalar(db.select(Source.organization_id)) or 1
    source_id = add_source(app, org_id)
    token = csrf_token(admin, f"/sources/{source_id}/edit")
    response = admin.post(
        f"/sources/{source_id}/edit",
        data={
            "csrf_token": token,
            "dialect": "POSTGRES",
            "displayName": "Stored",
            "host": "db.invalid",
            "port": "5432",
            "databaseName": "app",
            "username": "reader",
            "sslMode": "require",
            "maxPoolSize": "10",
            "syncSchedule": "at noon",
            "syncTime": "12:00",
            "syncTimezone": "UTC",
            "healthCheckIntervalMinutes": "5",
            "alertAfterFailures": "2",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert '<p class="field-error" id="syncSchedule-error">Use manual, interval' in html
    assert '<details class="advanced schedule" open>' in html
