"""`make screenshots`: drive the app in Chromium and write PNGs of the main pages to docs/."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_screenshots(page: Page, live_server: str, pg):
    OUT.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1100, "height": 900})
    page.goto(live_server)
    page.screenshot(path=OUT / "setup.png", full_page=True)
    page.get_by_label("Organization name").fill("Acme")
    page.get_by_label("Admin email").fill("admin@example.com")
    page.get_by_label("Password", exact=True).fill("a long admin password")
    page.get_by_label("Confirm password").fill("a long admin password")
    page.get_by_role("button", name="Create organization").click()
    page.screenshot(path=OUT / "sources-empty.png", full_page=True)
    page.get_by_role("button", name="Explore with a demo database").click()
    expect(page.locator("#sync-status")).to_have_text("SUCCESS", timeout=20_000)
    page.get_by_text("main.order_items", exact=True).click()
    page.screenshot(path=OUT / "demo-source.png", full_page=True)
    page.get_by_role("link", name="Data sources").click()
    page.get_by_role("link", name="Add data source").first.click()
    page.get_by_label("Display name").fill("Production analytics")
    page.get_by_label("Host", exact=True).fill(pg.host)
    page.get_by_label("Port", exact=True).fill(str(pg.port))
    page.get_by_label("Database name").fill(pg.database)
    page.get_by_label("Username", exact=True).fill(pg.user)
    page.get_by_label("Password", exact=True).fill("wrong-password")
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#password-error")).to_have_text("Incorrect username or password")
    page.screenshot(path=OUT / "add-source-error.png", full_page=True)
    page.get_by_label("Password", exact=True).fill(pg.password)
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#verify-result")).to_contain_text("Connection verified.")
    page.screenshot(path=OUT / "add-source-verified.png", full_page=True)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#sync-status")).to_have_text("SUCCESS", timeout=20_000)
    page.get_by_text("public.orders").click()
    page.screenshot(path=OUT / "source-schema.png", full_page=True)
    page.get_by_role("link", name="Data sources").click()
    page.screenshot(path=OUT / "sources-list.png", full_page=True)
    page.get_by_role("link", name="Audit log").click()
    page.screenshot(path=OUT / "audit-log.png", full_page=True)
    # Without JavaScript the Delete button opens this confirmation page (with it, a dialog).
    page.goto(page.url.replace("/audit", "/sources/1/delete"))
    page.screenshot(path=OUT / "delete-confirm.png", full_page=True)
