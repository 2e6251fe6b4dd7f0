"""The Catalog page in Chromium against `flask run`: with JavaScript it searches as you type
(the results swapped in, the URL pushed, no page load), pages with htmx, marks the match and
keeps a table named <script> (and a comment with an onerror image) inert text; a table's link
opens its source's schema on that table. Without JavaScript the same form and pager are plain
GETs. At 390 px nothing scrolls sideways. Every wait is Playwright's `expect`."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.catalog_helpers import add_schema, column
from tests.e2e.first_run import set_up
from webapp import create_app
from webapp.extensions import db

pytestmark = pytest.mark.e2e

LONG = "order_lines_by_customer_region_and_fiscal_quarter_with_every_adjustment_kept"


@pytest.fixture(autouse=True)
def patient_expect():
    """Each `expect` waits up to 30 s while pages answer slowly."""
    expect.set_options(timeout=30_000)
    yield
    expect.set_options(timeout=None)


def seed(tmp_path, monkeypatch) -> None:
    """Two synced sources in the live server's store (the same instance folder)."""
    monkeypatch.setenv("DATADOCK_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"TESTING": True, "SCHEDULER_ENABLED": False})
    orders = [("public", f"orders_{i:02d}", None, [column("id")]) for i in range(55)]
    add_schema(app, 1, "Shop", [
        *orders,
        ("public", "<script>", '<img src=x onerror="window.xss=1"> order notes', [column("id")]),
        ("public", LONG, None, [column("customer_order_reference_number_for_the_ledger")]),
    ])  # fmt: skip
    add_schema(app, 1, "Warehouse", [("dw", "fact_sales", None, [column("order_id")])])
    with app.app_context():
        db.engine.dispose()


def no_sideways_scroll(page: Page) -> None:
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert page.evaluate(overflow) <= 0, f"{page.url} scrolls sideways at 390 px"


def test_catalog_search_with_and_without_javascript_and_at_390px(
    page: Page, browser: Browser, live_server: str, tmp_path, monkeypatch
):
    set_up(page, live_server)
    seed(tmp_path, monkeypatch)

    # With JavaScript: typing searches, the results swap in and the URL follows; no page load.
    page.get_by_role("link", name="Catalog", exact=True).click()
    results = page.locator("#catalog-results")
    expect(results).to_contain_text("58 tables in 2 sources")
    page.evaluate("window.samePage = true")
    page.get_by_label("Find a table or column").press_sequentially("order", delay=30)
    expect(page).to_have_url(re.compile(r"/catalog\?q=order$"))
    expect(results).to_contain_text("57 tables and 2 columns in 2 sources match “order”")
    expect(results.locator("mark").first).to_have_text("order")
    expect(results.get_by_role("heading", name=re.compile("^Shop"))).to_be_visible()
    results.get_by_role("link", name="Next").click()
    expect(page).to_have_url(re.compile(r"/catalog\?q=order&page=2$"))
    expect(results).to_contain_text("page 2 of 2")
    expect(results.get_by_role("heading", name=re.compile("^Warehouse"))).to_be_visible()
    assert page.evaluate("window.samePage") is True

    page.get_by_label("Find a table or column").fill("<script>")
    script_table = results.locator(".table-name", has_text="public.<script>")
    expect(script_table).to_be_visible()
    expect(results.locator(".comment").first).to_contain_text('<img src=x onerror="window.xss=1">')
    assert page.evaluate("window.xss") is None  # text, never markup
    script_table.click()
    expect(page.locator("#sync-panel").get_by_text("public.<script>", exact=True)).to_be_visible()

    # At 390 px the long names wrap inside their card.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/catalog?q=customer_order")
    expect(results.locator(".column-name")).to_contain_text("customer_order_reference")
    no_sideways_scroll(page)

    # Without JavaScript: the same form and pager, as plain GETs.
    context = browser.new_context(
        java_script_enabled=False, storage_state=page.context.storage_state()
    )
    plain = context.new_page()
    plain.goto(f"{live_server}/catalog")
    plain.get_by_label("Find a table or column").fill("ORDER")
    plain.get_by_label("Find a table or column").press("Enter")
    expect(plain).to_have_url(re.compile(r"/catalog\?q=ORDER$"))
    expect(plain.locator("#catalog-results")).to_contain_text("match “ORDER” · page 1 of 2")
    plain.get_by_role("link", name="Next").click()
    expect(plain).to_have_url(re.compile(r"/catalog\?q=ORDER&page=2$"))
    expect(plain.get_by_role("heading", name=re.compile("^Warehouse"))).to_be_visible()
    context.close()
