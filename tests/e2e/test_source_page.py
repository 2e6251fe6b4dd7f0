"""Issue 14 in Chromium: the source page in sections (Overview · Schema · Health · History ·
Settings) with a breadcrumb; tabs with JavaScript (click, arrow keys, Home/End, the hash kept
through reload and Back, panels polling while hidden), every section and its anchor without;
no sideways scroll at 390 px. And the numbered bugs on that page and its forms: a silent host
is named at "Server response" with the passed steps shown passed (10), a saved password's help
agrees with "Enter the password again" (9), the schema panel, the history and the overview
never disagree on a sync while the panel polls (8).

Real parts: `flask run`, a throwaway PostgreSQL, a loopback listener that accepts and never
answers, and a loopback proxy with a gate (tests/integration/jobs_helpers.py) that holds the
sync's connection so a sync is seen in progress. Every wait is Playwright's `expect` or
`wait_until`; nothing is timed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.first_run import set_up
from tests.integration.jobs_helpers import GatedProxy
from tests.polling import wait_until
from webapp.web.forms import MOVED_HELP, SAVED_HELP

pytestmark = pytest.mark.e2e

TABS = ["Overview", "Schema", "Health", "History", "Settings"]
BAD = "rgb(180, 35, 24)"  # --bad, the red banner's text

# Every state of the three sync displays, recorded at each change of the page (a swap and its
# out-of-band companions land in one task, so a record never sees half a swap).
RECORD_STATES = """
window.__syncStates = [];
new MutationObserver(() => {
  const panel = document.getElementById("sync-status");
  const run = document.querySelector("#sync-history tbody tr");
  const line = document.querySelector("#summary-sync .status");
  if (!panel || !run || !line) { return; }
  const state = [panel.textContent.trim(), run.getAttribute("data-status"),
                 line.textContent.trim()];
  const last = window.__syncStates[window.__syncStates.length - 1];
  if (!last || last.join() !== state.join()) { window.__syncStates.push(state); }
}).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
"""


@pytest.fixture
def live_server_env() -> dict[str, str]:
    """A 2 s deadline: the silent host's verify costs one deadline."""
    return {"DATADOCK_VERIFY_TIMEOUT": "2"}


@pytest.fixture(autouse=True)
def patient_expect():
    """Each `expect` waits up to 30 s while pages answer slowly."""
    expect.set_options(timeout=30_000)
    yield
    expect.set_options(timeout=None)


@pytest.fixture
def gated(pg) -> Iterator[GatedProxy]:
    proxy = GatedProxy(pg.port)
    yield proxy
    proxy.stop()


def agree(panel: str, run: str, line: str) -> bool:
    """The schema panel, the newest history row and the overview's line say the same."""
    if panel == "PENDING":
        return line == "PENDING" and run in ("QUEUED", "RUNNING")
    return line == panel == run


def no_sideways_scroll(page: Page) -> None:
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert page.evaluate(overflow) <= 0, f"{page.url} scrolls sideways at 390 px"


def test_silent_host_tabs_keyboard_hash_saved_password_and_a_sync_seen_agreeing(
    page: Page, live_server: str, pg, silent_port: int, gated: GatedProxy
):
    set_up(page, live_server)
    page.get_by_role("link", name="Add data source").first.click()
    page.get_by_label("Display name").fill("Warehouse")
    page.get_by_label("Host", exact=True).fill("127.0.0.1")
    page.get_by_label("Port", exact=True).fill(str(silent_port))
    page.get_by_label("Database name").fill(pg.database)
    page.get_by_label("Username", exact=True).fill(pg.user)
    page.get_by_label("Password", exact=True).fill(pg.password)

    # Bug 10: the silent host hangs at the server's first answer, not at Authentication; the
    # passed steps read as passed, in the ink colour, outside the red banner.
    page.get_by_role("button", name="Verify").click()
    result = page.locator("#verify-result")
    expect(result.locator(".banner.error")).to_contain_text(
        "accepted the connection but never answered within 2 s"
    )
    failed = result.locator("ol.steps li.failed")
    expect(failed).to_have_count(1)
    expect(failed).to_have_attribute("data-step", "response")
    expect(failed).to_contain_text("Server response")
    expect(result.locator('li[data-step="auth"]')).to_have_class("not_run")
    for step in ("dns", "tcp"):
        passed = result.locator(f'li[data-step="{step}"]')
        expect(passed).to_have_class(re.compile(r"\bpassed\b"))
        assert passed.evaluate("li => getComputedStyle(li).color") != BAD
    assert result.locator(".banner.error ol.steps").count() == 0

    page.get_by_label("Port", exact=True).fill(str(gated.port))
    page.get_by_role("button", name="Verify").click()
    expect(result).to_contain_text("Connection verified.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Warehouse", level=1)).to_be_visible()

    # The breadcrumb, and the tabs: Schema is open while the first sync runs (its message shows).
    crumbs = page.get_by_role("navigation", name="Breadcrumb")
    expect(crumbs.get_by_role("link", name="Data sources")).to_have_attribute("href", "/sources")
    expect(crumbs.locator("[aria-current=page]")).to_have_text("Warehouse")
    bar = page.get_by_role("tablist", name="Source sections")
    expect(bar.get_by_role("tab")).to_have_text(TABS)
    tab = {name: bar.get_by_role("tab", name=name) for name in TABS}
    expect(tab["Schema"]).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("tabpanel", name="Schema")).to_be_visible()
    expect(page.locator("#overview")).to_be_hidden()
    expect(page.locator("#sync-status")).to_have_text("SUCCESS", timeout=60_000)
    expect(page.get_by_text("public.customers", exact=True).first).to_be_visible()
    # The hidden sections' panels poll on: the overview's health line fills in.
    expect(page.locator("#summary-health")).to_contain_text("Healthy")

    tab["Overview"].click()
    expect(page).to_have_url(re.compile(r"#overview$"))
    expect(page.locator("#overview")).to_be_visible()
    expect(page.locator("#schema")).to_be_hidden()
    expect(page.locator("#overview")).to_contain_text("127.0.0.1")
    for key, name in (("ArrowRight", "Schema"), ("End", "Settings"), ("Home", "Overview")):
        page.keyboard.press(key)
        expect(tab[name]).to_be_focused()
        expect(tab[name]).to_have_attribute("aria-selected", "true")
        expect(page).to_have_url(re.compile(f"#{name.lower()}$"))
    page.keyboard.press("ArrowLeft")  # wraps round to the last
    expect(tab["Settings"]).to_have_attribute("aria-selected", "true")
    expect(tab["Overview"]).to_have_attribute("aria-selected", "false")
    expect(tab["Overview"]).to_have_attribute("tabindex", "-1")
    tab["Health"].click()
    expect(page.locator("#health-panel")).to_be_visible()
    page.reload()
    expect(tab["Health"]).to_have_attribute("aria-selected", "true")
    expect(page.locator("#settings")).to_be_hidden()
    page.go_back()
    expect(tab["Settings"]).to_have_attribute("aria-selected", "true")
    expect(page.locator("#webhook")).to_be_visible()
    page.goto(page.url.split("#")[0] + "#sync-history")  # inside a section: its tab opens
    expect(tab["History"]).to_have_attribute("aria-selected", "true")

    # Bug 8: a sync held mid-connect, then let go; at every change of the page the schema
    # panel, the history (a hidden tab) and the overview (another) agree.
    page.add_init_script(RECORD_STATES)
    gated.close_gate()
    page.get_by_role("button", name="Sync now").click()
    expect(tab["Schema"]).to_have_attribute("aria-selected", "true")
    assert gated.waiting.acquire(timeout=60), "the sync never reached the database"
    expect(page.locator("#sync-status")).to_have_text("PENDING")
    expect(page.locator("#sync-history tbody tr").first).to_have_attribute("data-status", "RUNNING")
    wait_until(lambda: len(page.evaluate("window.__syncStates")) >= 1, what="a recorded state")
    gated.open_gate()
    expect(page.locator("#sync-status")).not_to_have_text("PENDING", timeout=60_000)
    states = page.evaluate("window.__syncStates")
    assert states[0][0] == "PENDING", states
    assert states[-1][0] in ("SUCCESS", "FAILED"), states
    assert all(agree(*state) for state in states), states

    # Bug 9: the saved password's help agrees with the error once the host moves.
    tab["Settings"].click()
    page.get_by_role("link", name="Edit", exact=True).click()
    help_text = page.locator("#password-help")
    expect(help_text).to_have_text(SAVED_HELP)
    page.get_by_label("Host", exact=True).fill("localhost")
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#password-error")).to_contain_text("Enter the password again")
    expect(help_text).to_have_text(MOVED_HELP)
    expect(page.locator("#password-row")).not_to_contain_text("leave blank to keep")


def test_without_javascript_every_section_shows_and_at_390px_nothing_scrolls_sideways(
    browser: Browser, page: Page, live_server: str
):
    set_up(page, live_server, demo=True)
    expect(page.get_by_role("heading", name="Demo shop")).to_be_visible()
    expect(page.locator("#sync-status")).to_have_text("SUCCESS", timeout=120_000)
    source_url = page.url.split("#")[0]

    plain = browser.new_context(
        java_script_enabled=False, storage_state=page.context.storage_state()
    )
    try:
        nojs = plain.new_page()
        nojs.goto(source_url)
        crumbs = nojs.get_by_role("navigation", name="Breadcrumb")
        expect(crumbs.get_by_role("link", name="Data sources")).to_be_visible()
        expect(crumbs).to_contain_text("Demo shop")
        links = nojs.get_by_role("navigation", name="Source sections").get_by_role("link")
        expect(links).to_have_text(TABS)
        expect(nojs.get_by_role("tablist")).to_have_count(0)
        for key in ("overview", "schema", "health", "history", "settings"):
            expect(nojs.locator(f"#{key}")).to_be_visible()
        links.filter(has_text="Settings").click()
        expect(nojs).to_have_url(re.compile(r"#settings$"))
        expect(nojs.locator("#settings")).to_be_in_viewport()
        expect(nojs.get_by_text("main.orders", exact=True).first).to_be_visible()
    finally:
        plain.close()

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(source_url)
    bar = page.get_by_role("tablist", name="Source sections")
    for name in TABS:
        bar.get_by_role("tab", name=name).click()
        expect(page.locator(f"#{name.lower()}")).to_be_visible()
        expect(bar.get_by_role("tab", name=name)).to_be_in_viewport()
        no_sideways_scroll(page)
    # The breadcrumb's "Data sources" and the top bar's go to the same list.
    page.get_by_role("banner").get_by_role("link", name="Data sources").click()
    expect(page.get_by_role("heading", name="Data sources", exact=True)).to_be_visible()
