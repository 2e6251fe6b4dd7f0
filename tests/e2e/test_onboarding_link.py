"""An onboarding link in Chromium: the admin makes one on "Send an onboarding link"; a fresh
browser context (no account, no cookie) opens it, sees only PostgreSQL's form, verifies and
saves against the throwaway PostgreSQL; the admin sees the pending link turn into a synced
source, and the link then says it was used."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.polling import wait_until

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "a long admin password"


def test_a_link_is_completed_from_a_fresh_browser(
    page: Page, browser: Browser, live_server: str, pg
):
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(live_server)
    page.get_by_label("Organization name").fill("Acme")
    page.get_by_label("Admin email").fill("admin@corp.local")
    page.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_label("Confirm password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Create organization").click()
    page.get_by_role("link", name="Send an onboarding link").click()
    page.get_by_label("Database").select_option("POSTGRES")
    page.get_by_label("Display name (optional)").fill("Customer warehouse")
    page.get_by_role("button", name="Create link").click()
    link = page.locator("#new-link").input_value()
    assert re.match(re.escape(live_server) + r"/connect/[A-Za-z0-9_-]{43}$", link)
    expect(page.get_by_role("row", name=re.compile("Customer warehouse"))).to_contain_text(
        "Pending"
    )

    dba = browser.new_context().new_page()  # a fresh browser: no cookie of the admin's
    dba.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    dba.goto(link)
    expect(dba.get_by_role("heading", name="Connect PostgreSQL to Acme")).to_be_visible()
    expect(dba.get_by_label("Dialect")).to_have_count(0)  # only this dialect's form
    expect(dba.get_by_role("link", name="Members")).to_have_count(0)
    dba.get_by_label("Your name or email").fill("Dana DBA")
    dba.get_by_label("Host", exact=True).fill(pg.host)
    dba.get_by_label("Port", exact=True).fill(str(pg.port))
    dba.get_by_label("Database name").fill(pg.database)
    dba.get_by_label("Username", exact=True).fill(pg.user)
    dba.get_by_label("Password", exact=True).fill("this-is-wrong")
    dba.get_by_role("button", name="Verify").click()
    expect(dba.locator("#verify-result")).to_contain_text("Could not connect")
    expect(dba.get_by_label("Password", exact=True)).to_have_attribute("aria-invalid", "true")
    dba.get_by_label("Password", exact=True).fill(pg.password)
    dba.get_by_role("button", name="Verify").click()
    expect(dba.locator("#verify-result")).to_contain_text("Connection verified")
    dba.get_by_role("button", name="Save connection").click()
    expect(dba.locator("#connect-done")).to_contain_text("Customer warehouse")

    # The admin sees the pending link become a source whose first sync succeeds.
    row = page.get_by_role("row", name=re.compile("Customer warehouse"))

    def synced() -> bool:  # the sync runs on the live server's scheduler
        page.goto(live_server + "/sources/onboarding-links")
        return "success" in row.inner_text()

    wait_until(synced, 60, 0.5, what="the connected source's first sync")
    expect(row).to_contain_text("Connected")
    expect(row).to_contain_text("success")
    expect(row).to_contain_text("Dana DBA from 127.0.0.1")
    row.get_by_role("link", name="Customer warehouse").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Customer warehouse")

    dba.goto(link)
    expect(dba.locator("#link-unusable")).to_contain_text("already used")
    assert violations == []
