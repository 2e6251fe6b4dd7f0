"""Schedules in Chromium: the form previews the next three runs as you type (htmx) and puts a
bad cron expression's error under its field; the saved source's Test connection shows the
steps in place; Pause shows the badge."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def test_schedule_preview_test_connection_and_pause(page: Page, live_server: str, pg):
    page.goto(live_server)
    page.get_by_label("Organization name").fill("Acme")
    page.get_by_label("Admin email").fill("admin@example.com")
    page.get_by_label("Password", exact=True).fill("a long admin password")
    page.get_by_label("Confirm password").fill("a long admin password")
    page.get_by_role("button", name="Create organization").click()
    page.get_by_role("link", name="Add data source").first.click()

    page.get_by_text("Schedule, health checks and pause").click()
    preview = page.locator("#schedule-preview")
    expect(preview.locator("time")).to_have_count(3)  # the default schedule, on load
    page.get_by_label("Time zone").fill("Asia/Tokyo")
    page.get_by_label("Sync schedule").fill("0 6 * * *")
    expect(preview.locator("time").first).to_contain_text("06:00 JST")
    expect(preview).to_contain_text("21:00 UTC")
    page.get_by_label("Sync schedule").fill("0 6 * *")
    expect(page.locator("#syncSchedule-error")).to_contain_text("5-field cron expression")
    expect(preview.locator("time")).to_have_count(0)
    page.get_by_label("Sync schedule").fill("0 6 * * 1-5")
    expect(page.locator("#syncSchedule-error")).to_have_text("")
    expect(preview.locator("time")).to_have_count(3)

    page.get_by_label("Display name").fill("Scheduled")
    page.get_by_label("Host", exact=True).fill(pg.host)
    page.get_by_label("Port", exact=True).fill(str(pg.port))
    page.get_by_label("Database name").fill(pg.database)
    page.get_by_label("Username", exact=True).fill(pg.user)
    page.get_by_label("Password", exact=True).fill(pg.password)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Scheduled")).to_be_visible()
    expect(page.locator("dd.next-runs time")).to_have_count(3)
    expect(page.locator("dd.next-runs")).to_contain_text("06:00 JST")

    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#verify-result")).to_contain_text("Connection verified.")
    expect(page.locator('#verify-result li[data-step="auth"]')).to_contain_text("passed")
    page.get_by_role("button", name="Pause").click()
    expect(page.locator("h1 .badge.paused")).to_have_text("Paused")
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    # The top bar's link, not the breadcrumb's.
    page.get_by_role("banner").get_by_role("link", name="Data sources").click()
    expect(page.get_by_role("row", name=re.compile("Scheduled"))).to_contain_text("Paused")
    assert pg.password not in page.content()
