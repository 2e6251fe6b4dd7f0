"""The schema browser in Chromium against `flask run`: tables grouped per schema with their
counts, kind badges, row estimates, comments and a column grid; a foreign key's link opens the
table it refers to (on the same page: in place, with JavaScript; on another page of the pager:
through the `?q=` search, opened). Without JavaScript the same facts show and the link's search
opens the table. At 390 px an opened table's grid scrolls inside itself, never the page.

The snapshot is written to the live server's store as a sync writes it (the sync's reading of
comments is tested against real servers in tests/integration/test_schema_comments.py). One
source, one JavaScript page and one without; every wait is Playwright's `expect`."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.catalog_helpers import add_schema
from tests.e2e.first_run import set_up
from webapp import create_app
from webapp.extensions import db
from webapp.models import SchemaSnapshot, SchemaTable, Source

pytestmark = pytest.mark.e2e

ARCHIVED = 101  # zz_archive's tables: the pager's second page holds the last ones
WIDE_COMMENT = "The customer's e-mail address, lower-cased at sign-up and never shown " * 3


@pytest.fixture(autouse=True)
def patient_expect():
    """Each `expect` waits up to 30 s while pages answer slowly."""
    expect.set_options(timeout=30_000)
    yield
    expect.set_options(timeout=None)


def col(name: str, ordinal: int, **extra: object) -> dict[str, object]:
    return {"name": name, "type": "integer", "nullable": ordinal != 1, "default": None,
            "primaryKey": ordinal == 1, "ordinal": ordinal, **extra}  # fmt: skip


def fk(column: str, schema: str, table: str) -> dict[str, object]:
    return {"name": f"{column}_fkey", "columns": [column], "referredSchema": schema,
            "referredTable": table, "referredColumns": ["id"]}  # fmt: skip


def seed(tmp_path, monkeypatch) -> int:
    """A source whose snapshot has crm (a table, a view), sales (a table with two foreign keys,
    a materialized view) and zz_archive (ARCHIVED tables, the last one on page 2, whose key
    refers back to crm.customers on page 1). Returns the source's id."""
    monkeypatch.setenv("DATADOCK_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"TESTING": True, "SCHEDULER_ENABLED": False})
    source_id = add_schema(app, 1, "Shop", None)
    tables = [
        ("crm", "customers", "table", "One row per paying customer", 12_400,
         [col("id", 1), col("email", 2, type="text", default="''::text", comment=WIDE_COMMENT)],
         []),
        ("crm", "active_customers", "view", None, None, [col("id", 1)], []),
        ("sales", "orders", "table", None, 98_765,
         [col("id", 1), col("customer_id", 2), col("archive_id", 3)],
         [fk("customer_id", "crm", "customers"),
          fk("archive_id", "zz_archive", f"archive_{ARCHIVED - 1:03d}")]),
        ("sales", "order_totals", "materialized view", "Refreshed nightly", 40, [col("n", 1)], []),
        *[("zz_archive", f"archive_{i:03d}", "table", None, 1, [col("id", 1), col("owner", 2)],
           [fk("owner", "crm", "customers")] if i == ARCHIVED - 1 else [])
          for i in range(ARCHIVED)],
    ]  # fmt: skip
    with app.app_context():
        shot = SchemaSnapshot(source_id=source_id, complete=True, table_count=len(tables))
        db.session.add(shot)
        db.session.flush()
        db.session.execute(
            SchemaTable.__table__.insert(),
            [
                {"snapshot_id": shot.id, "schema_name": s, "name": n, "kind": k, "comment": c,
                 "row_estimate": e, "columns": cols, "foreign_keys": keys}
                for s, n, k, c, e, cols, keys in tables
            ],
        )  # fmt: skip
        source = db.session.get(Source, source_id)
        source.current_snapshot_id = shot.id
        source.last_sync_status = "SUCCESS"
        db.session.commit()
        db.engine.dispose()
    return source_id


def table(page: Page, qualified: str):
    """A table's <details> (its id is t-<schema>.<name>)."""
    return page.locator(f'details[id="t-{qualified}"]')


def test_schema_browser_with_and_without_javascript_and_at_390px(
    page: Page, browser: Browser, live_server: str, tmp_path, monkeypatch
):
    set_up(page, live_server)
    source_id = seed(tmp_path, monkeypatch)
    detail = f"{live_server}/sources/{source_id}"

    # With JavaScript: the groups and their counts over the whole snapshot.
    page.goto(f"{detail}#schema")
    panel = page.locator("#sync-panel")
    expect(panel).to_contain_text(f"{ARCHIVED + 4} tables · page 1 of 2")
    expect(panel.get_by_role("heading", name="crm 1 table, 1 view")).to_be_visible()
    expect(panel.get_by_role("heading", name="sales 1 table, 1 materialized view")).to_be_visible()
    archive = panel.get_by_role("heading", name="zz_archive 101 tables · 96 on this page")
    expect(archive).to_be_visible()
    orders = table(page, "sales.orders")
    expect(orders.locator("summary")).to_have_text("sales.orders table ≈ 98,765 rows 3 columns")
    totals = table(page, "sales.order_totals").locator("summary")
    expect(totals.locator(".kind")).to_have_text("materialized view")
    expect(totals.locator(".table-comment")).to_have_text("Refreshed nightly")
    expect(table(page, "crm.active_customers").locator(".kind")).to_have_text("view")
    customers = table(page, "crm.customers")
    expect(customers).not_to_have_attribute("open", "")

    # A key to a table on this page opens it in place (no page load, the hash names it).
    page.evaluate("window.samePage = true")
    orders.locator("summary").click()
    orders.get_by_role("link", name="crm.customers").click()
    expect(page).to_have_url(re.compile(r"#t-crm\.customers$"))
    expect(customers).to_have_attribute("open", "")
    expect(customers.get_by_role("cell", name="''::text")).to_be_visible()
    expect(customers.locator(".column-comment").last).to_contain_text("lower-cased at sign-up")
    assert page.evaluate("window.samePage") is True

    # A key to a table on page 2 goes to the search for it, which shows it opened.
    orders.get_by_role("link", name=f"zz_archive.archive_{ARCHIVED - 1:03d}").click()
    last = table(page, f"zz_archive.archive_{ARCHIVED - 1:03d}")
    expect(page).to_have_url(re.compile(rf"\?q=zz_archive\.archive_{ARCHIVED - 1:03d}#t-"))
    expect(last).to_have_attribute("open", "")
    expect(last.get_by_role("link", name="crm.customers")).to_be_visible()
    # The server-side search and pager still work through htmx.
    search = page.get_by_label("Find a table")
    search.fill("order")
    expect(panel).to_contain_text("2 tables matching “order”")
    expect(panel.get_by_role("heading", name="sales 1 table, 1 materialized view")).to_be_visible()

    # At 390 px: an opened table's grid scrolls inside itself; the page never sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{detail}?q=crm.customers#t-crm.customers")
    expect(customers).to_have_attribute("open", "")
    grid = customers.locator(".grid-scroll")
    expect(grid).to_be_visible()
    assert grid.evaluate("e => e.scrollWidth > e.clientWidth"), "the grid should scroll inside"
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert page.evaluate(overflow) <= 0, "the page scrolls sideways at 390 px"

    # Without JavaScript: the same facts, and a key's link searches for its table, opened.
    context = browser.new_context(
        java_script_enabled=False, storage_state=page.context.storage_state()
    )
    plain = context.new_page()
    plain.goto(detail)
    plain_panel = plain.locator("#sync-panel")
    expect(plain_panel.get_by_role("heading", name="crm 1 table, 1 view")).to_be_visible()
    summary = table(plain, "crm.customers").locator("summary")
    expect(summary.locator(".rows")).to_have_text("≈ 12,400 rows")
    expect(summary.locator(".table-comment")).to_have_text("One row per paying customer")
    table(plain, "sales.orders").locator("summary").click()  # <details> needs no script
    table(plain, "sales.orders").get_by_role("link", name="crm.customers").click()
    expect(plain).to_have_url(re.compile(r"\?q=crm\.customers#t-crm\.customers$"))
    opened = table(plain, "crm.customers")
    expect(opened).to_have_attribute("open", "")
    expect(opened.locator(".column-comment").last).to_contain_text("lower-cased at sign-up")
    expect(opened.get_by_role("cell", name="''::text")).to_be_visible()
    expect(plain_panel).to_contain_text("1 table matching “crm.customers”")
    context.close()
