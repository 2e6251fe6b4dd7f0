"""The first-run setup page as a person fills it in: the organization and its first admin."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.fixtures_app import ADMIN_EMAIL, ADMIN_PASSWORD


def fill_setup(page: Page, *, demo: bool = False, email: str = ADMIN_EMAIL) -> None:
    """Fill the setup page that is open (organization "Acme", the admin) and submit it, with
    the demo database when `demo`."""
    page.get_by_label("Organization name").fill("Acme")
    page.get_by_label("Admin email").fill(email)
    page.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_label("Confirm password").fill(ADMIN_PASSWORD)
    if demo:
        page.get_by_label("Explore with a demo database").check()
    page.get_by_role("button", name="Create organization").click()


def set_up(page: Page, base: str, *, demo: bool = False, email: str = ADMIN_EMAIL) -> None:
    """Open `base` (the setup page on a new store), set up, and wait for the page it leads
    to: the sources list, or the demo source's page."""
    page.goto(base)
    fill_setup(page, demo=demo, email=email)
    if demo:
        expect(page.get_by_role("heading", name="Demo shop")).to_be_visible()
    else:
        expect(page.get_by_role("heading", name="Data sources", exact=True)).to_be_visible()
