"""In Chromium: setup with the demo database shows a synced schema without a reload, and no page
breaks the Content-Security-Policy (no inline script or style is needed anywhere).

Every wait is Playwright's auto-waiting `expect`, with safety deadlines long enough for a
loaded machine (two cores shared with other tests): nothing here is timed.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

pytestmark = pytest.mark.e2e

SYNC_DEADLINE_MS = 120_000  # the demo's first sync: the scheduler's tick, then a SQLite catalog


@pytest.fixture(autouse=True)
def patient_expect():
    """Each `expect` waits up to 30 s (Playwright's default is 5 s) while pages answer slowly."""
    expect.set_options(timeout=30_000)
    yield
    expect.set_options(timeout=None)  # back to Playwright's default


def test_setup_with_the_demo_then_browse_every_page_without_a_csp_violation(
    page: Page, live_server: str
):
    violations: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            violations.append(message.text)

    page.on("console", watch)
    page.goto(live_server)
    page.get_by_label("Organization name").fill("Acme")
    page.get_by_label("Admin email").fill("admin@example.com")
    page.get_by_label("Password", exact=True).fill("a long admin password")
    page.get_by_label("Confirm password").fill("a long admin password")
    page.get_by_label("Explore with a demo database").check()
    page.get_by_role("button", name="Create organization").click()

    expect(page.get_by_role("heading", name="Demo shop")).to_be_visible()
    expect(page.locator("h1 .badge.demo")).to_have_text("Demo")
    # The scheduler was woken: the panel polls (htmx) until the first sync ends, no reload.
    status = page.locator("#sync-status")
    expect(status).not_to_have_text(re.compile("PENDING|NEVER_SYNCED"), timeout=SYNC_DEADLINE_MS)
    if status.inner_text() != "SUCCESS":
        pytest.fail(
            f"the demo sync ended {status.inner_text()}: "
            f"{page.locator('#sync-error').all_inner_texts()}"
        )
    expect(page.get_by_text("main.order_totals")).to_be_visible()
    page.get_by_text("main.orders", exact=True).click()
    expect(page.get_by_role("cell", name="customer_id")).to_be_visible()

    # The top bar's link, not the breadcrumb's.
    page.get_by_role("banner").get_by_role("link", name="Data sources").click()
    expect(page.get_by_role("row", name=re.compile("Demo shop Demo"))).to_be_visible()
    page.get_by_role("link", name="Audit log").click()
    first = page.locator("tbody tr").first
    expect(first).to_contain_text("Created data source")
    expect(first).to_contain_text("admin@example.com")
    expect(first).to_contain_text("Demo database")
    expect(first).to_contain_text("127.0.0.1")
    page.get_by_role("link", name="Data sources").click()
    page.get_by_role("link", name="Add data source").click()
    page.get_by_label("Dialect").select_option("MYSQL")  # htmx swaps the fieldset
    expect(page.get_by_role("group", name="MySQL connection")).to_be_visible()
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#displayName-error")).to_have_text("Display name is required")
    assert violations == []
