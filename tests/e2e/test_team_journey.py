"""Teams in Chromium: the admin invites a viewer and an editor; each accepts in a fresh
browser context and sees exactly what the role allows; the admin removes the editor, whose
open page's next action is refused and whose API key gets 401."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "a long admin password"
MEMBER_PASSWORD = "a long member password"


def _invite(page: Page, live_server: str, email: str, role: str) -> str:
    page.goto(live_server + "/settings/members")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Role", exact=True).select_option(role)
    page.get_by_role("button", name="Create invitation").click()
    expect(page.locator("#new-invitation")).to_contain_text(email)
    link = page.locator("#invitation-url").input_value()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == link
    return link


def _accept(browser: Browser, link: str, name: str) -> Page:
    context = browser.new_context()  # a fresh browser: no cookie of the admin's
    page = context.new_page()
    page.goto(link)
    expect(page.get_by_role("heading", name="Join Acme")).to_be_visible()
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Password", exact=True).fill(MEMBER_PASSWORD)
    page.get_by_label("Confirm password").fill(MEMBER_PASSWORD)
    page.get_by_role("button", name="Join and sign in").click()
    expect(page.get_by_role("heading", name="Data sources", exact=True)).to_be_visible()
    return page


def _api_status(url: str, key: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_invite_a_viewer_and_an_editor_then_remove_the_editor(
    page: Page, browser: Browser, live_server: str, tmp_path
):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(live_server)
    page.get_by_label("Organization name").fill("Acme")
    page.get_by_label("Admin email").fill("admin@corp.local")
    page.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_label("Confirm password").fill(ADMIN_PASSWORD)
    page.get_by_label("Explore with a demo database").check()
    page.get_by_role("button", name="Create organization").click()
    expect(page.get_by_role("link", name="Members")).to_be_visible()

    viewer_link = _invite(page, live_server, "vi@example.test", "viewer")
    editor_link = _invite(page, live_server, "ed@corp.local", "editor")
    expect(page.get_by_role("row", name=re.compile("vi@example.test"))).to_contain_text("viewer")

    viewer = _accept(browser, viewer_link, "Vi")
    expect(viewer.get_by_role("link", name="Add data source")).to_have_count(0)
    expect(viewer.get_by_role("link", name="Members")).to_have_count(0)
    viewer.get_by_role("row").nth(1).get_by_role("link").click()
    expect(viewer.get_by_role("heading", level=1)).to_contain_text("Demo")
    for name in ("Edit", "Sync now", "Delete", "Check now"):
        expect(viewer.get_by_role("button", name=name)).to_have_count(0)
        expect(viewer.get_by_role("link", name=name, exact=True)).to_have_count(0)
    assert viewer.goto(live_server + "/sources/new").status == 403
    assert viewer.goto(live_server + "/settings/members").status == 403

    editor = _accept(browser, editor_link, "Ed")
    expect(editor.get_by_role("link", name="Add data source").first).to_be_visible()
    expect(editor.get_by_role("link", name="Members")).to_have_count(0)
    assert editor.goto(live_server + "/settings/api-keys").status == 403
    editor.goto(live_server + "/sources")
    editor.get_by_role("row").nth(1).get_by_role("link").click()
    expect(editor.get_by_role("button", name="Sync now")).to_be_visible()

    # The editor's key (made for them here, as an admin's key page would for an admin).
    key = _key_for(tmp_path / "instance", "ed@corp.local")
    sources_url = f"{live_server}/api/public/organizations/1/data-sources"
    assert _api_status(sources_url, key) == 200

    page.goto(live_server + "/settings/members")
    page.get_by_role("button", name="Remove ed@corp.local").click()
    expect(page.get_by_role("status").first).to_contain_text("Removed ed@corp.local")

    editor.get_by_role("button", name="Sync now").click()  # the open page's next action
    expect(editor).to_have_url(re.compile(r"/login$"))
    expect(editor.get_by_text("Your session has ended")).to_be_visible()
    assert _api_status(sources_url, key) == 401
    # The viewer is unaffected; no page broke the CSP.
    viewer.goto(live_server + "/sources")
    expect(viewer.get_by_role("heading", name="Data sources", exact=True)).to_be_visible()
    assert violations == []


def _key_for(instance: Path, email: str) -> str:
    """A write key created by `email`, written to the server's store by a short Python
    process (editors have no key page; this stands in for a key they made while admin)."""
    script = (
        "import sys\n"
        "from webapp import create_app\n"
        "from webapp.api_keys import create_key\n"
        "from webapp.extensions import db\n"
        "from webapp.models import Organization, User\n"
        "app = create_app({'SCHEDULER_ENABLED': False})\n"
        "with app.app_context():\n"
        f"    user = db.session.scalar(db.select(User).filter_by(email={email!r}))\n"
        "    org = db.session.get(Organization, 1)\n"
        "    print(create_key(org, 'editor script', user, scope='write')[1])\n"
    )
    env = {**os.environ, "DATADOCK_INSTANCE_PATH": str(instance)}
    env.pop("DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return out.stdout.strip().splitlines()[-1]
