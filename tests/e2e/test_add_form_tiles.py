"""The add form's dialect tiles and help (issue 14) in Chromium against `flask run`: tiles with
a search box chosen by keyboard alone (the select stays the form's value), required marks, the
engine's docs links, a read-only user's SQL per dialect and the outbound address with Copy;
without JavaScript the select and the help still work; at 390 px the tiles wrap and the page
does not scroll sideways."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e import first_run
from tests.fixtures_app import ADMIN_PASSWORD
from webapp.dialects import DIALECTS

pytestmark = pytest.mark.e2e

OUTBOUND = "203.0.113.7"  # documentation range: only shown and copied, never dialled


@pytest.fixture
def live_server_env() -> dict[str, str]:
    """The outbound address the form shows with its Copy button."""
    return {"DATADOCK_OUTBOUND_ADDRESS": OUTBOUND}


def set_up(page: Page, base: str) -> None:
    """Set up, then open the add form."""
    first_run.set_up(page, base)
    page.get_by_role("link", name="Add data source").first.click()


def focused_id(page: Page) -> str:
    return page.evaluate("() => document.activeElement.id")


def test_add_form_with_and_without_javascript_and_at_390px(
    page: Page, browser: Browser, live_server: str
):
    """One server for the three views (each `flask run` costs seconds of the suite)."""
    with_javascript(page, live_server)
    without_javascript(browser, live_server)


def with_javascript(page: Page, live_server: str) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    set_up(page, live_server)
    tiles = page.get_by_role("radiogroup", name="Engines")
    shown = tiles.get_by_role("radio")
    snippet = page.locator("#read-only-sql")
    expect(tiles.get_by_role("radio", name="PostgreSQL")).to_have_attribute("aria-checked", "true")
    expect(snippet).to_contain_text("CREATE ROLE datadock_reader")
    expect(page.locator("#host-row .req")).to_be_visible()  # required: an asterisk
    expect(page.get_by_label("Host", exact=True)).to_have_attribute("aria-required", "true")
    docs = page.get_by_role("link", name="PostgreSQL's connection docs")
    expect(docs).to_have_attribute("target", "_blank")
    expect(docs).to_have_attribute("rel", "noopener")

    # A value typed for PostgreSQL comes back after a switch made with the tiles.
    page.get_by_label("Host", exact=True).fill("pg.example.test")

    # Keyboard only: Tab from the name through the select into the search, type, arrow down to
    # the one tile left, Enter chooses it: the select changes and htmx swaps MariaDB's fields.
    page.get_by_label("Display name").focus()
    page.keyboard.press("Tab")
    assert focused_id(page) == "dialect"
    page.keyboard.press("Tab")
    assert focused_id(page) == "dialect-search"
    page.keyboard.type("maria")
    expect(shown).to_have_count(1)
    expect(page.locator("#dialect-matches")).to_have_text("1 engine matches.")
    page.keyboard.press("ArrowDown")
    assert focused_id(page) == "tile-MARIADB"
    page.keyboard.press("Enter")
    expect(page.get_by_role("group", name="MariaDB connection")).to_be_visible()
    expect(page.get_by_label("Dialect")).to_have_value("MARIADB")
    expect(page.get_by_label("Port", exact=True)).to_have_value("3306")
    expect(tiles.get_by_role("radio", name="MariaDB")).to_have_attribute("aria-checked", "true")
    expect(snippet).to_contain_text("'datadock_reader'@'%'")  # the snippet is MariaDB's

    # Back to the search, clear it: every tile again; Tab lands on the chosen tile, arrows
    # move (MariaDB → PlanetScale, the tile before it), Space chooses.
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Control+A")
    page.keyboard.press("Backspace")
    expect(shown).to_have_count(page.locator("#dialect option").count())
    page.keyboard.press("Tab")
    assert focused_id(page) == "tile-MARIADB"
    page.keyboard.press("ArrowLeft")
    assert focused_id(page) == "tile-PLANETSCALE"
    page.keyboard.press("Space")
    expect(page.get_by_role("group", name="PlanetScale connection")).to_be_visible()
    expect(snippet).to_have_count(0)  # PlanetScale makes logins in its console
    expect(page.locator(".read-only-note")).to_contain_text("Read-only role")

    # The select's own change moves the tiles' choice too, and the typed host came back.
    page.get_by_label("Dialect").select_option("POSTGRES")
    expect(page.get_by_role("group", name="PostgreSQL connection")).to_be_visible()
    expect(tiles.get_by_role("radio", name="PostgreSQL")).to_have_attribute("aria-checked", "true")
    expect(page.get_by_label("Host", exact=True)).to_have_value("pg.example.test")

    # Copy: the SQL (the box stays open across a switch) and the outbound address.
    page.get_by_text("Create a read-only user for Datadock").click()
    page.get_by_role("button", name="Copy SQL").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == snippet.text_content()
    tiles.get_by_role("radio", name="MySQL").click()
    expect(page.get_by_role("group", name="MySQL connection")).to_be_visible()
    expect(snippet).to_be_visible()
    expect(page.get_by_label("Datadock connects from")).to_have_value(OUTBOUND)
    page.locator("#outbound").get_by_role("button", name="Copy").click()
    expect(page.locator("#outbound").get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == OUTBOUND

    # A pasted string of another dialect swaps the select out of band: the tiles follow.
    string = page.get_by_label("Connection string (optional)")
    string.fill("postgresql://reader@db.example.test:5432/sales")
    string.press("Tab")
    expect(page.get_by_role("group", name="PostgreSQL connection")).to_be_visible()
    expect(tiles.get_by_role("radio", name="PostgreSQL")).to_have_attribute("aria-checked", "true")

    # A 390 px phone: the tiles wrap into two columns and nothing scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    tops = shown.evaluate_all("ts => ts.slice(0, 3).map(t => t.getBoundingClientRect().top)")
    assert tops[0] == tops[1] < tops[2], tops
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert page.evaluate(overflow) <= 0


def without_javascript(browser: Browser, live_server: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server + "/login")
    page.get_by_label("Email").fill("admin@example.com")
    page.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Data sources", exact=True)).to_be_visible()
    page.get_by_role("link", name="Add data source").first.click()
    expect(page.locator("#dialect-picker")).to_be_hidden()  # tiles need the script
    expect(page.get_by_role("button", name="Copy SQL")).to_be_hidden()
    expect(page.locator(".required-legend")).to_contain_text("marks a required field")
    expect(page.locator("#displayName-row .req")).to_be_visible()
    expect(page.locator("#password-row .req")).to_have_count(0)  # PostgreSQL's is optional
    page.get_by_text("Create a read-only user for Datadock").click()  # <details>, no script
    expect(page.locator("#read-only-sql")).to_contain_text("CREATE ROLE datadock_reader")
    expect(page.get_by_label("Datadock connects from")).to_have_value(OUTBOUND)

    page.get_by_label("Dialect").select_option("SNOWFLAKE")
    page.get_by_role("button", name="Show this dialect's fields").click()
    expect(page.get_by_role("group", name="Snowflake connection")).to_be_visible()
    docs = page.get_by_role("link", name="Snowflake's connection docs")
    expect(docs).to_have_attribute("href", DIALECTS["SNOWFLAKE"].docs_url)
    expect(docs).to_have_attribute("rel", "noopener")
    field_docs = page.locator("#snowflakeAccountId-help").get_by_role("link", name="Docs")
    expect(field_docs).to_have_attribute("target", "_blank")
    expect(page.locator("#read-only-sql")).to_contain_text("GRANT ROLE datadock_reader")
    context.close()
