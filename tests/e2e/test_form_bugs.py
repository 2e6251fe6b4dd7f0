"""The add form's rough edges from issue 14, in Chromium against `flask run` and real servers:
an optional password, "Retry without SSL", buttons disabled while a verify runs, per-dialect
connection-string hints and parse errors, values kept per dialect, and a dialect chosen before
htmx loaded."""

from __future__ import annotations

import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e import first_run
from tests.polling import wait_until
from tests.servers import PgServer, silent_listener

pytestmark = pytest.mark.e2e

TRUSTED_USER = "datadock_trusted"


def set_up(page: Page, base: str) -> None:
    """Set up, then open the add form."""
    first_run.set_up(page, base)
    page.get_by_role("link", name="Add data source").first.click()


@pytest.fixture(scope="module")
def trusted_pg(pg_nossl: PgServer) -> PgServer:
    """The plain (no SSL) server, with one login that trust auth lets in without a password
    (a line for that user only, ahead of the server's password lines)."""
    with psycopg.connect(pg_nossl.superuser_dsn(), autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {TRUSTED_USER}")
        conn.execute(f"CREATE ROLE {TRUSTED_USER} LOGIN")
        hba = pg_nossl.data_dir / "pg_hba.conf"
        lines = hba.read_text()
        line = f"host all {TRUSTED_USER} 127.0.0.1/32 trust\n"
        if line not in lines:
            hba.write_text(line + lines)
        conn.execute("SELECT pg_reload_conf()")
    return pg_nossl


def fill_pg(page: Page, server: PgServer, user: str, password: str = "") -> None:
    page.get_by_label("Display name").fill("Local")
    page.get_by_label("Host", exact=True).fill(server.host)
    page.get_by_label("Port", exact=True).fill(str(server.port))
    page.get_by_label("Database name").fill(server.database)
    page.get_by_label("Username", exact=True).fill(user)
    if password:
        page.get_by_label("Password", exact=True).fill(password)


def test_trust_login_without_password_and_retry_without_ssl(
    page: Page, live_server: str, trusted_pg: PgServer
):
    """Bugs 6 and 7: no password needed where the server lets the user in; a server without
    SSL gets "Retry without SSL", which turns SSL off in the form and verifies again."""
    set_up(page, live_server)
    fill_pg(page, trusted_pg, TRUSTED_USER)
    expect(page.get_by_label("Password", exact=True)).not_to_have_attribute("required", "")
    expect(page.get_by_label("SSL", exact=True)).to_be_checked()
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#sslEnabled-error")).to_have_text("The server does not support SSL")
    page.get_by_role("button", name="Retry without SSL").click()
    expect(page.locator("#verify-result")).to_contain_text("Connection verified.")
    expect(page.get_by_label("SSL", exact=True)).not_to_be_checked()
    expect(page.locator("#sslEnabled-error")).to_have_text("")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Local")).to_be_visible()


def test_a_password_the_server_wants_is_still_asked_for(
    page: Page, live_server: str, trusted_pg: PgServer
):
    """Bug 6: a blank password for a user with one is the server's "Incorrect" answer."""
    set_up(page, live_server)
    fill_pg(page, trusted_pg, trusted_pg.user)
    page.get_by_label("SSL", exact=True).uncheck()
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#password-error")).to_have_text("Incorrect username or password")


def test_retry_without_ssl_without_javascript(
    browser: Browser, live_server: str, trusted_pg: PgServer
):
    """Bug 7 with JavaScript off: the retry button posts the form with SSL off."""
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    set_up(page, live_server)
    fill_pg(page, trusted_pg, trusted_pg.user, trusted_pg.password)
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#sslEnabled-error")).to_have_text("The server does not support SSL")
    page.get_by_label("Password", exact=True).fill(trusted_pg.password)
    page.get_by_role("button", name="Retry without SSL").click()
    expect(page.locator("#verify-result")).to_contain_text("Connection verified.")
    expect(page.get_by_label("SSL", exact=True)).not_to_be_checked()
    context.close()


def test_buttons_are_disabled_while_a_verify_runs(page: Page, live_server: str):
    """Bug 2: a host that never answers keeps the verify running until the deadline (5 s in
    the live server); meanwhile both buttons are disabled, a second click sends nothing and
    the spinner counts seconds against the deadline. No console error."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    verifies: list[str] = []
    page.on("request", lambda r: verifies.append(r.url) if "/verify" in r.url else None)
    set_up(page, live_server)
    with silent_listener() as (host, port):
        page.get_by_label("Display name").fill("Silent")
        page.get_by_label("Host", exact=True).fill(host)
        page.get_by_label("Port", exact=True).fill(str(port))
        page.get_by_label("Database name").fill("db")
        page.get_by_label("Username", exact=True).fill("user")
        verify = page.get_by_role("button", name="Verify")
        verify.click()
        expect(verify).to_be_disabled()
        expect(page.get_by_role("button", name="Save")).to_be_disabled()
        expect(page.locator("#verify-elapsed")).to_contain_text("of 5 s")
        verify.click(force=True)  # a second click on the disabled button
        expect(page.locator("#verify-result")).to_contain_text("Could not connect.", timeout=20_000)
        expect(verify).to_be_enabled()
        expect(page.get_by_role("button", name="Save")).to_be_enabled()
    assert len(verifies) == 1
    assert errors == []


def test_a_double_click_on_save_sends_one_save(page: Page, live_server: str):
    """Bug 2: Save verifies first; against a silent host it runs until the deadline, and a
    double-click sends one request."""
    saves: list[str] = []
    page.on(
        "request",
        lambda r: saves.append(r.url) if r.method == "POST" and "/sources/new" in r.url else None,
    )
    set_up(page, live_server)
    with silent_listener() as (host, port):
        page.get_by_label("Display name").fill("Silent")
        page.get_by_label("Host", exact=True).fill(host)
        page.get_by_label("Port", exact=True).fill(str(port))
        page.get_by_label("Database name").fill("db")
        page.get_by_label("Username", exact=True).fill("user")
        page.get_by_role("button", name="Save").dblclick()
        expect(page.get_by_role("button", name="Verify")).to_be_disabled()
        expect(page.locator("#verify-result")).to_contain_text("Could not connect.", timeout=20_000)
    assert len(saves) == 1


def test_a_bad_connection_string_keeps_the_fields_and_hints_follow_the_dialect(
    page: Page, live_server: str
):
    """Bug 4: a string that cannot be read leaves the typed fields and says why under the
    field; the example is the chosen dialect's, and SQLite says it takes none."""
    set_up(page, live_server)
    page.get_by_label("Host", exact=True).fill("db.example.test")
    page.get_by_label("Username", exact=True).fill("reader")
    string = page.get_by_label("Connection string (optional)")
    string.fill("postgresql://[broken")
    string.press("Tab")
    expect(page.locator("#connectionString-error")).not_to_have_text("")
    expect(page.get_by_label("Host", exact=True)).to_have_value("db.example.test")
    expect(page.get_by_label("Username", exact=True)).to_have_value("reader")
    expect(page.locator("#connectionString-help")).to_contain_text("postgresql://")
    page.get_by_label("Dialect").select_option("MYSQL")
    expect(page.locator("#connectionString-help")).to_contain_text(
        "mysql://user:password@host:3306/database"
    )
    page.get_by_label("Dialect").select_option("SQLITE")
    expect(page.locator("#connectionString-help")).to_contain_text("takes no connection string")


def test_typed_values_come_back_per_dialect_and_only_same_meaning_carries(
    page: Page, live_server: str
):
    """Bug 5: PostgreSQL → BigQuery → PostgreSQL keeps host, port, database and user;
    MySQL → SQLite does not put the database name into "Database file"."""
    set_up(page, live_server)
    page.get_by_label("Host", exact=True).fill("pg.example.test")
    page.get_by_label("Port", exact=True).fill("6543")
    page.get_by_label("Database name").fill("sales")
    page.get_by_label("Username", exact=True).fill("reader")
    page.get_by_label("Dialect").select_option("BIGQUERY")
    expect(page.get_by_role("group", name="BigQuery connection")).to_be_visible()
    page.get_by_label("Dialect").select_option("POSTGRES")
    expect(page.get_by_role("group", name="PostgreSQL connection")).to_be_visible()
    expect(page.get_by_label("Host", exact=True)).to_have_value("pg.example.test")
    expect(page.get_by_label("Port", exact=True)).to_have_value("6543")
    expect(page.get_by_label("Database name")).to_have_value("sales")
    expect(page.get_by_label("Username", exact=True)).to_have_value("reader")

    page.get_by_label("Dialect").select_option("MYSQL")
    expect(page.get_by_role("group", name="MySQL connection")).to_be_visible()
    expect(page.get_by_label("Host", exact=True)).to_have_value("pg.example.test")  # same meaning
    page.get_by_label("Dialect").select_option("SQLITE")
    expect(page.get_by_role("group", name="SQLite connection")).to_be_visible()
    expect(page.get_by_label("Database file")).to_have_value("")


def test_a_dialect_chosen_before_htmx_loaded_gets_its_fields(page: Page, live_server: str):
    """Bug 3: htmx's script is held back while the user picks MySQL; once it loads, the
    fieldset is MySQL's (not PostgreSQL's under a MySQL select)."""
    set_up(page, live_server)
    held = []
    page.route("**/vendor/htmx-*.js", lambda route: held.append(route))
    page.reload(wait_until="commit")
    page.get_by_label("Dialect").select_option("MYSQL")
    expect(page.get_by_role("group", name="PostgreSQL connection")).to_be_visible()

    def arrived() -> bool:
        page.evaluate("0")  # lets Playwright hand the held request to the route handler
        return bool(held)

    wait_until(arrived, 30, 0.05, what="htmx's script request to be held")
    for route in held:
        route.continue_()
    page.unroute("**/vendor/htmx-*.js")
    expect(page.get_by_role("group", name="MySQL connection")).to_be_visible()
    expect(page.get_by_label("Port", exact=True)).to_have_value("3306")
