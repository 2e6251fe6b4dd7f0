"""`make screenshots`: drive the app in Chromium and write PNGs of the main pages to
docs/screenshots/ (1100 px wide; the add form also at 390 px, a phone).

The sources are real: a shop database made here in the throwaway PostgreSQL (tables with
foreign keys and comments), the generated demo, and a second login whose password is changed
after it was saved, so the list shows a failed sync next to the healthy ones."""

from __future__ import annotations

from pathlib import Path

import psycopg
from playwright.sync_api import Page, expect

from tests.e2e.first_run import fill_setup
from tests.servers import PgServer

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SHOP = "acme_shop"
REPORTING = "shop_reporting"  # the login that stops working (its password is changed)
SYNC_MS = 60_000  # a sync on a loaded machine; nothing is timed

SHOP_SQL = """
CREATE TABLE customers (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL,
  email text UNIQUE, country char(2), created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE products (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  sku text NOT NULL UNIQUE, name text NOT NULL, price_cents int NOT NULL);
CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id int NOT NULL REFERENCES customers(id), status text NOT NULL DEFAULT 'open',
  total_cents int, placed_on date NOT NULL DEFAULT current_date);
CREATE TABLE order_items (order_id bigint NOT NULL REFERENCES orders(id),
  line_no int NOT NULL, product_id int NOT NULL REFERENCES products(id), quantity int NOT NULL,
  PRIMARY KEY (order_id, line_no));
CREATE VIEW open_orders AS SELECT * FROM orders WHERE status = 'open';
COMMENT ON TABLE customers IS 'Everyone who has placed an order or signed up';
COMMENT ON COLUMN customers.country IS 'ISO 3166-1 alpha-2 code';
COMMENT ON TABLE orders IS 'One row per checkout; totals in cents';
COMMENT ON COLUMN orders.customer_id IS 'Who placed the order';
COMMENT ON COLUMN orders.status IS 'open, paid, shipped or cancelled';
COMMENT ON COLUMN orders.total_cents IS 'Sum of the items, tax included';
COMMENT ON TABLE order_items IS 'The products of an order, one line each';
INSERT INTO customers (name, email, country)
  SELECT 'Customer ' || g, 'c' || g || '@example.com', 'FI' FROM generate_series(1, 40) g;
INSERT INTO orders (customer_id, total_cents) SELECT 1 + g % 40, g * 100
  FROM generate_series(1, 300) g;
ANALYZE;
"""


def shop_database(pg: PgServer) -> None:
    """A fresh shop database owned by the test login, and a second login that may read it."""
    with psycopg.connect(pg.superuser_dsn(), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {SHOP} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {SHOP} OWNER {pg.user}")
        admin.execute(f"DROP ROLE IF EXISTS {REPORTING}")
        admin.execute(f"CREATE ROLE {REPORTING} LOGIN PASSWORD 'reporting password'")
    with psycopg.connect(pg.superuser_dsn(SHOP), autocommit=True) as conn:
        conn.execute(f"SET ROLE {pg.user}")
        conn.execute(SHOP_SQL)
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {REPORTING}")


def shot(page: Page, name: str) -> None:
    """The whole page, without a focus ring left by the last click or fill."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.screenshot(path=OUT / f"{name}.png", full_page=True)


def section(page: Page, name: str) -> None:
    """Show the source page's section `name` (a tab with JavaScript)."""
    tab = page.get_by_role("tab", name=name, exact=True)
    if tab.count():
        tab.click()
        expect(tab).to_have_attribute("aria-selected", "true")


def fill_postgres(page: Page, pg: PgServer, name: str, user: str, password: str) -> None:
    page.get_by_label("Display name").fill(name)
    tile = page.get_by_role("radio", name="PostgreSQL")
    if tile.count():
        tile.click()
    else:
        page.get_by_label("Dialect", exact=True).select_option("POSTGRES")
    page.get_by_label("Host", exact=True).fill(pg.host)
    page.get_by_label("Port", exact=True).fill(str(pg.port))
    page.get_by_label("Database name").fill(SHOP)
    page.get_by_label("Username", exact=True).fill(user)
    page.get_by_label("Password", exact=True).fill(password)


def add_source(page: Page, base: str) -> None:
    page.goto(base + "/sources/new")
    expect(page.get_by_role("heading", name="Add data source")).to_be_visible()


def test_screenshots(page: Page, live_server: str, pg: PgServer):
    OUT.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=SYNC_MS)
    shop_database(pg)
    page.set_viewport_size({"width": 1100, "height": 900})
    page.goto(live_server)
    shot(page, "setup")
    fill_setup(page)
    shot(page, "sources-empty")
    page.get_by_role("button", name="Explore with a demo database").click()
    section(page, "Schema")
    expect(page.locator("#sync-status")).to_have_text("SUCCESS")
    page.get_by_text("main.order_items", exact=True).click()
    shot(page, "demo-source")

    # The add form: the engine tiles, a wrong password under its field, then a passed verify.
    add_source(page, live_server)
    shot(page, "add-source-tiles")
    fill_postgres(page, pg, "Production shop", pg.user, "wrong-password")
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#password-error")).to_have_text("Incorrect username or password")
    shot(page, "add-source-error")
    page.get_by_label("Password", exact=True).fill(pg.password)
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#verify-result")).to_contain_text("Connection verified.")
    shot(page, "add-source-verified")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Production shop")).to_be_visible()
    section(page, "Schema")
    expect(page.locator("#sync-status")).to_have_text("SUCCESS")
    section(page, "Schema")
    page.get_by_text("public.orders", exact=True).click()
    expect(page.get_by_role("cell", name="customer_id")).to_be_visible()
    shot(page, "source-schema")
    shop_url = page.url.split("#")[0]

    # A source whose login stops working: its next sync fails.
    add_source(page, live_server)
    fill_postgres(page, pg, "Shop reporting", REPORTING, "reporting password")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Shop reporting")).to_be_visible()
    section(page, "Schema")
    expect(page.locator("#sync-status")).to_have_text("SUCCESS")
    with psycopg.connect(pg.superuser_dsn(), autocommit=True) as admin:
        admin.execute(f"ALTER ROLE {REPORTING} PASSWORD 'rotated elsewhere'")
    page.get_by_role("button", name="Sync now").click()
    section(page, "Schema")
    expect(page.locator("#sync-status")).to_have_text("FAILED")
    section(page, "Health")
    page.locator("#health-panel").get_by_role("button", name="Check now").click()
    expect(page.locator("#health-error")).to_be_visible()

    # The shop's overview once its first health check has answered.
    page.goto(shop_url)
    section(page, "Overview")
    expect(page.locator("#overview")).to_contain_text("Healthy")
    shot(page, "source-overview")

    page.goto(live_server + "/catalog?q=customer")
    expect(page.locator(".catalog-hits mark").first).to_be_visible()
    shot(page, "catalog-search")
    page.goto(live_server + "/sources")
    expect(page.locator(".status-failed").first).to_be_visible()
    shot(page, "sources-list")
    page.goto(live_server + "/settings/members")
    page.get_by_label("Email").fill("analyst@example.com")
    page.get_by_role("button", name="Create invitation").click()
    expect(page.locator("#new-invitation")).to_be_visible()
    shot(page, "members")
    page.goto(live_server + "/activity")
    shot(page, "activity")
    page.goto(live_server + "/audit")
    shot(page, "audit-log")
    # Without JavaScript the Delete button opens this confirmation page (with it, a dialog).
    page.goto(shop_url + "/delete")
    shot(page, "delete-confirm")

    # A phone: the add form's tiles wrap to two columns.
    page.set_viewport_size({"width": 390, "height": 844})
    add_source(page, live_server)
    fill_postgres(page, pg, "Production shop", pg.user, pg.password)
    shot(page, "add-source-mobile")
    expect.set_options(timeout=None)
