"""An SSH tunnel in Chromium: a wrong SSH password shows under its field with the checklist
stopped at "SSH tunnel"; fixed, the source verifies, saves and syncs through the real sshd."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

REJECTED = "SSH server rejected this username or password"


def test_ssh_tunnel_error_under_its_field_then_verified(page: Page, live_server: str, pg, sshd):
    page.goto(live_server)
    page.get_by_label("Organization name").fill("Acme")
    page.get_by_label("Admin email").fill("admin@example.com")
    page.get_by_label("Password", exact=True).fill("a long admin password")
    page.get_by_label("Confirm password").fill("a long admin password")
    page.get_by_role("button", name="Create organization").click()
    page.get_by_role("link", name="Add data source").first.click()

    page.get_by_label("Display name").fill("Behind the bastion")
    # The database as the SSH server sees it.
    page.get_by_label("Host", exact=True).fill("127.0.0.1")
    page.get_by_label("Port", exact=True).fill(str(pg.port))
    page.get_by_label("Database name").fill(pg.database)
    page.get_by_label("Username", exact=True).fill(pg.user)
    page.get_by_label("Password", exact=True).fill(pg.password)

    expect(page.get_by_label("SSH host", exact=True)).to_be_hidden()
    page.get_by_label("Connect through an SSH tunnel").check()
    page.get_by_label("SSH host", exact=True).fill(sshd.host)
    page.get_by_label("SSH port", exact=True).fill(str(sshd.port))
    page.get_by_label("SSH username", exact=True).fill(sshd.user)
    page.get_by_label("SSH password", exact=True).fill("not-the-ssh-password")
    page.get_by_label("SSH host key (optional)").fill(sshd.known_hosts["ed25519"])

    page.get_by_role("button", name="Verify").click()
    result = page.locator("#verify-result")
    expect(result).to_contain_text("Could not connect.")
    expect(page.locator("#sshPassword-error")).to_have_text(REJECTED)
    expect(page.locator("#sshUsername-error")).to_have_text(REJECTED)
    expect(page.get_by_label("SSH password", exact=True)).to_have_attribute("aria-invalid", "true")
    for step in ("DNS", "TCP"):
        expect(result.locator("li.ok", has_text=step)).to_be_visible()
    expect(result.locator("li.failed", has_text="SSH tunnel")).to_be_visible()
    for step in ("TLS", "Authentication", "Database", "Can read the catalog"):
        expect(result.locator("li.not_run", has_text=step)).to_be_visible()
    assert "not-the-ssh-password" not in page.content()

    # Secrets are not echoed back into the form; type them again with the right SSH password.
    page.get_by_label("Password", exact=True).fill(pg.password)
    page.get_by_label("SSH password", exact=True).fill(sshd.password)
    page.get_by_role("button", name="Verify").click()
    expect(result).to_contain_text("Connection verified.")
    expect(result.locator("li.ok", has_text="SSH tunnel")).to_be_visible()
    expect(result.locator("li.ok", has_text="Can read the catalog")).to_be_visible()
    expect(page.locator("#sshPassword-error")).to_have_text("")
    expect(page.get_by_label("SSH password", exact=True)).not_to_have_attribute(
        "aria-invalid", "true"
    )

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Behind the bastion")).to_be_visible()
    expect(page.locator("#sync-status")).to_have_text("SUCCESS", timeout=20_000)
    expect(page.get_by_text("public.customers")).to_be_visible()
    html = page.content()
    assert sshd.password not in html and pg.password not in html
    expect(page).to_have_url(re.compile(r"/sources/\d+$"))
