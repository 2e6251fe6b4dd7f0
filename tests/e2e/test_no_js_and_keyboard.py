"""The add → verify → save flow with JavaScript off, and the add form by keyboard alone, in
Chromium against `flask run` and a real PostgreSQL."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.first_run import set_up
from tests.polling import wait_until

pytestmark = pytest.mark.e2e


def test_add_verify_save_sync_and_delete_without_javascript(browser: Browser, live_server: str, pg):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    set_up(page, live_server)
    page.get_by_role("link", name="Add data source").first.click()
    page.get_by_label("Display name").fill("No script")

    # The dialect select: without htmx, the noscript button posts the form and the page comes
    # back with the chosen dialect's fields, the typed name kept, nothing verified or saved.
    page.get_by_label("Dialect").select_option("MYSQL")
    page.get_by_role("button", name="Show this dialect's fields").click()
    expect(page.get_by_role("group", name="MySQL connection")).to_be_visible()
    expect(page.get_by_label("Display name")).to_have_value("No script")
    expect(page.get_by_label("Port", exact=True)).to_have_value("3306")
    expect(page.locator("#verify-result")).to_have_text("")
    page.get_by_label("Dialect").select_option("POSTGRES")
    page.get_by_role("button", name="Show this dialect's fields").click()
    expect(page.get_by_role("group", name="PostgreSQL connection")).to_be_visible()

    page.get_by_label("Host", exact=True).fill(pg.host)
    page.get_by_label("Port", exact=True).fill(str(pg.port))
    page.get_by_label("Database name").fill(pg.database)
    page.get_by_label("Username", exact=True).fill(pg.user)
    page.get_by_label("Password", exact=True).fill("not-the-password")

    # Verify is a plain submit (formaction): the whole page comes back with the same errors.
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#password-error")).to_have_text("Incorrect username or password")
    expect(page.get_by_label("Password", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#verify-result")).to_contain_text("Could not connect.")
    expect(page.locator("#verify-result")).to_contain_text("type them again before you save")
    expect(page.get_by_label("Host", exact=True)).to_have_value(pg.host)
    expect(page.get_by_label("Password", exact=True)).to_have_value("")  # never sent back
    assert "not-the-password" not in page.content()

    page.get_by_label("Password", exact=True).fill(pg.password)
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#verify-result")).to_contain_text("Connection verified.")
    expect(page.locator("#password-error")).to_have_text("")

    # Save without retyping the password: the server refuses the login (a password is
    # optional for PostgreSQL), under the field, nothing lost.
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#password-error")).to_have_text("Incorrect username or password")
    expect(page.get_by_label("Database name")).to_have_value(pg.database)
    page.get_by_label("Password", exact=True).fill(pg.password)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="No script")).to_be_visible()

    # No polling without JavaScript: a person reloads until the first sync has ended.
    def sync_ended() -> bool:
        page.reload()
        return page.locator("#sync-status").inner_text() not in ("PENDING", "NEVER_SYNCED")

    wait_until(sync_ended, 120, 0.5, what="the first sync to end")
    expect(page.locator("#sync-status")).to_have_text("SUCCESS")
    expect(page.get_by_text("public.customers")).to_be_visible()
    assert pg.password not in page.content()

    # Delete asks first: the button opens a confirmation page whose form posts.
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("heading", name="Delete No script?")).to_be_visible()
    page.get_by_role("button", name="Delete No script").click()
    expect(page.get_by_text("Deleted No script.")).to_be_visible()
    expect(page.get_by_text("No data sources yet")).to_be_visible()
    context.close()


def _tab_until(page: Page, target: str, trail: list[str], limit: int = 40) -> None:
    """Press Tab until the element with id (or button text) `target` has focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement;"
            " return e.id || (e.textContent || '').trim() || e.tagName; }"
        )
        trail.append(focused)
        if focused == target:
            return
    raise AssertionError(f"{target} never got focus; went through {trail}")


def test_the_add_form_works_by_keyboard_alone(page: Page, live_server: str, pg):
    set_up(page, live_server)
    page.goto(live_server + "/sources/new")
    trail: list[str] = []
    typed = {
        "displayName": "Keyboard",
        "host": pg.host,
        "port": str(pg.port),
        "databaseName": pg.database,
        "username": pg.user,
        "password": "wrong-password",
    }
    for field, text in typed.items():
        _tab_until(page, field, trail)
        if field == "port":
            page.keyboard.press("Control+A")
        page.keyboard.type(text)
    # The focus went through the form in reading order, with nothing skipped or trapped.
    order = [
        x
        for x in trail
        if x
        in (
            "displayName",
            "dialect",
            "connectionString",
            "host",
            "port",
            "databaseName",
            "username",
            "password",
        )
    ]
    assert order == [
        "displayName",
        "dialect",
        "connectionString",
        "host",
        "port",
        "databaseName",
        "username",
        "password",
    ], trail
    _tab_until(page, "Verify", trail)
    page.keyboard.press("Enter")
    expect(page.locator("#password-error")).to_have_text("Incorrect username or password")
    expect(page.locator("#verify-result")).to_have_attribute("aria-live", "polite")
    # Back to the password (Shift+Tab), type the right one, and save with the keyboard.
    for _ in range(40):
        if page.evaluate("() => document.activeElement.id") == "password":
            break
        page.keyboard.press("Shift+Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type(pg.password)
    _tab_until(page, "Save", trail)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Keyboard")).to_be_visible()
    expect(page.locator("#sync-status")).to_have_text("SUCCESS", timeout=20_000)
    expect(page).to_have_url(re.compile(r"/sources/\d+$"))
