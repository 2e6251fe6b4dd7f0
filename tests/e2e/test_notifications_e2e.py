"""In Chromium against `flask run` (its scheduler on): an admin adds a webhook channel to a
loopback receiver, copies the signing secret shown once, presses Send test, and the delivery
job (no hand-run job function) delivers a signed test event whose log entry appears; the
Activity page lists the event."""

from __future__ import annotations

import json
import os
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.integration.notify_helpers import wait_for, webhook_receiver
from webapp.core.signatures import verify

SHOTS = os.environ.get("DATADOCK_SHOTS")  # a folder to write screenshots to, when set


def _shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=Path(SHOTS) / f"{name}.png", full_page=True)


def test_an_admin_adds_a_webhook_and_sends_a_test(page: Page, live_server: str):
    with webhook_receiver() as receiver:
        page.goto(live_server)
        page.get_by_label("Organization name").fill("Acme")
        page.get_by_label("Admin email").fill("admin@example.com")
        page.get_by_label("Password", exact=True).fill("a long admin password")
        page.get_by_label("Confirm password").fill("a long admin password")
        page.get_by_role("button", name="Create organization").click()
        page.get_by_role("link", name="Notifications").click()
        page.get_by_label("URL").fill(receiver.url("/hook?token=e2e-token"))
        page.get_by_label("A schema sync fails").uncheck()
        page.get_by_role("button", name="Add channel").click()
        secret = page.locator("#signing-secret").input_value()
        assert secret.startswith("whsec_")
        _shot(page, "notifications-created")
        page.goto(live_server + "/settings/notifications")
        expect(page.locator("#signing-secret")).to_have_count(0)
        assert "e2e-token" not in page.content()
        page.get_by_role("link", name="Webhook to 127.0.0.1").click()
        expect(
            page.get_by_text("A source becomes unhealthy, A source recovers, The schema changes")
        ).to_be_visible()
        page.get_by_role("button", name="Send test").click()
        wait_for(lambda: receiver.requests, timeout=60)
        [request] = receiver.requests
        assert verify(secret, request.headers["X-Datadock-Signature"], request.body)
        assert json.loads(request.body)["type"] == "test"
        delivered = page.locator('tr[data-status="delivered"]')
        # The log is written right after the receiver answers: reload until it shows.
        wait_for(lambda: page.reload() or delivered.count() == 1, timeout=30)
        _shot(page, "notifications-log")
        page.get_by_role("link", name="Activity").click()
        expect(page.locator('tr[data-type="test"]')).to_have_count(1)
        _shot(page, "activity")
