"""The walking skeleton's journey in Chromium: setup → wrong password → fix → save → synced."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def test_setup_add_source_verify_save_and_see_the_schema(page: Page, live_server: str, pg):
    page.goto(live_server)
    expect(page).to_have_url(re.compile(r"/setup$"))
    page.get_by_label("Organization name").fill("Acme")
    page.get_by_label("Admin email").fill("admin@example.com")
    page.get_by_label("Password", exact=True).fill("a long admin password")
    page.get_by_label("Confirm password").fill("a long admin password")
    page.get_by_role("button", name="Create organization").click()
    expect(page.get_by_role("heading", name="Data sources", exact=True)).to_be_visible()

    page.get_by_role("link", name="Add data source").first.click()
    page.get_by_label("Display name").fill("Test database")
    expect(page.get_by_label("Dialect")).to_have_value("POSTGRES")
    page.get_by_label("Host", exact=True).fill(pg.host)
    page.get_by_label("Port", exact=True).fill(str(pg.port))
    page.get_by_label("Database name").fill(pg.database)
    page.get_by_label("Username", exact=True).fill(pg.user)
    page.get_by_label("Password", exact=True).fill("this-is-wrong")
    expect(page.get_by_label("SSL", exact=True)).to_be_checked()

    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#password-error")).to_have_text("Incorrect username or password")
    expect(page.get_by_label("Password", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#verify-result")).to_contain_text("Could not connect.")
    # The typed values are all still there: the page was not reloaded.
    expect(page.get_by_label("Host", exact=True)).to_have_value(pg.host)

    page.get_by_label("Password", exact=True).fill(pg.password)
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#verify-result")).to_contain_text("Connection verified.")
    expect(page.locator("#password-error")).to_have_text("")
    expect(page.get_by_label("Password", exact=True)).not_to_have_attribute("aria-invalid", "true")

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Test database")).to_be_visible()
    expect(page.locator("#sync-status")).to_have_text("SUCCESS", timeout=20_000)
    expect(page.get_by_text("public.customers")).to_be_visible()
    assert pg.password not in page.content()

    # The top bar's link (the page's breadcrumb has one too).
    page.get_by_role("banner").get_by_role("link", name="Data sources").click()
    row = page.get_by_role("row", name=re.compile("Test database"))
    expect(row).to_contain_text("PostgreSQL")
    expect(row).to_contain_text("SUCCESS")


def test_paste_a_connection_string_then_verify_shows_the_checklist(
    page: Page, live_server: str, pg
):
    page.goto(live_server)
    page.get_by_label("Organization name").fill("Acme")
    page.get_by_label("Admin email").fill("admin@example.com")
    page.get_by_label("Password", exact=True).fill("a long admin password")
    page.get_by_label("Confirm password").fill("a long admin password")
    page.get_by_role("button", name="Create organization").click()
    page.get_by_role("link", name="Add data source").first.click()
    page.get_by_label("Display name").fill("Pasted")
    url = f"postgresql://{pg.user}:{pg.password}@{pg.host}:{pg.port}/{pg.database}?sslmode=require"
    page.get_by_label("Connection string (optional)").fill(url)
    page.get_by_label("Connection string (optional)").blur()
    expect(page.get_by_label("Port", exact=True)).to_have_value(str(pg.port))
    expect(page.get_by_label("Username", exact=True)).to_have_value(pg.user)
    expect(page.get_by_label("Password", exact=True)).to_have_value("")  # never echoed back
    page.get_by_role("button", name="Verify").click()
    result = page.locator("#verify-result")
    expect(result).to_contain_text("Connection verified.")
    for step in ("DNS", "TCP", "TLS", "Authentication", "Database", "Can read the catalog"):
        expect(result.locator("li.ok", has_text=step)).to_be_visible()
    expect(result.locator("li.skipped", has_text="SSH tunnel")).to_be_visible()

    # A wrong port: the checklist stops at TCP and the error sits under Port.
    page.get_by_label("Connection string (optional)").fill("")
    page.get_by_label("Port", exact=True).fill("1")
    page.get_by_label("Password", exact=True).fill(pg.password)
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#port-error")).to_have_text("Incorrect port")
    expect(result.locator("li.failed", has_text="TCP")).to_be_visible()
    expect(result.locator("li.not_run", has_text="Authentication")).to_be_visible()
