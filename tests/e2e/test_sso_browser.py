"""Single sign-on in Chromium: Datadock (`flask run`) with OpenID Connect configured against a
real provider on loopback (oidc-provider-mock, in this process), through the provider's own
login form. The provider's page links a stylesheet on a CDN: the browser is kept on loopback
(every other request is aborted), so nothing leaves the machine."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.first_run import set_up
from tests.fixtures_app import ADMIN_EMAIL, ADMIN_PASSWORD

with warnings.catch_warnings():  # its Authlib imports warn; Authlib's own "always" filter
    import authlib.deprecate  # noqa: F401  (comes first, so the "ignore" below wins)

    warnings.simplefilter("ignore", DeprecationWarning)
    import oidc_provider_mock

pytestmark = pytest.mark.e2e

LOOPBACK = re.compile(r"^https?://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(/|$)")
USERS = [
    oidc_provider_mock.User(
        sub="bob-sub", claims={"email": "bob@example.com", "email_verified": True, "name": "Bob"}
    ),
    oidc_provider_mock.User(
        sub="carol-sub",
        claims={"email": "carol@example.com", "email_verified": True, "name": "Carol"},
    ),
    oidc_provider_mock.User(
        sub="mallory-sub",
        claims={"email": "mallory@example.com", "email_verified": True, "aud": "another-client"},
    ),
]


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """The provider's issuer URL."""
    with oidc_provider_mock.run_server_in_thread(
        port=0, require_nonce=True, user_claims=USERS
    ) as server:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1", host
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def live_server_env(provider) -> dict[str, str]:
    """Datadock configured for the provider; people without an invitation become viewers."""
    return {
        "DATADOCK_OIDC_ISSUER": provider,
        "DATADOCK_OIDC_CLIENT_ID": "datadock",
        "DATADOCK_OIDC_CLIENT_SECRET": "e2e-client-secret",
        "DATADOCK_OIDC_PROVIDER_NAME": "Acme ID",
        "DATADOCK_OIDC_DEFAULT_ROLE": "viewer",
        "DATADOCK_OIDC_ALLOWED_DOMAINS": "example.com",
    }


def loopback_only(context: BrowserContext) -> BrowserContext:
    """Abort every request that would leave loopback (the provider page's CDN stylesheet)."""
    context.route(lambda url: not LOOPBACK.match(url), lambda route: route.abort())
    return context


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """pytest-playwright's context, kept on loopback."""
    ctx = loopback_only(browser.new_context())
    yield ctx
    ctx.close()


def sign_in_at_provider(page: Page, sub: str) -> None:
    """The provider's login form: the button of a predefined user."""
    expect(page.get_by_role("heading", name="Authorize Client")).to_be_visible()
    page.get_by_role("button", name=sub, exact=True).click()


def test_sso_signs_in_with_the_default_role_and_a_replayed_callback_is_refused(
    page: Page, browser: Browser, live_server: str
):
    set_up(page, live_server)
    page.get_by_role("button", name="Log out").click()
    callbacks: list[str] = []
    page.on(
        "request", lambda r: callbacks.append(r.url) if "/login/sso/callback" in r.url else None
    )

    page.get_by_role("button", name="Sign in with Acme ID").click()
    sign_in_at_provider(page, "bob-sub")
    expect(page).to_have_url(re.compile(r"/sources$"))
    expect(page.get_by_role("heading", name="Data sources", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Add data source")).to_have_count(0)  # a viewer
    expect(page.get_by_role("link", name="Members")).to_have_count(0)

    # The same callback again (state spent) is refused on the login page.
    assert len(callbacks) == 1
    page.get_by_role("button", name="Log out").click()
    page.goto(callbacks[0])
    expect(page.locator("#sso-error")).to_contain_text("already used")
    expect(page.get_by_role("button", name="Sign in with Acme ID")).to_be_visible()

    # The admin sees Bob as a viewer who signs in with SSO.
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.get_by_role("link", name="Members").click()
    row = page.locator("tr[data-email='bob@example.com']")
    expect(row.get_by_label("Role of bob@example.com", exact=True)).to_have_value("viewer")
    expect(row).to_contain_text("SSO")


def test_a_token_for_another_audience_is_refused_in_the_browser(page: Page, live_server: str):
    set_up(page, live_server)
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Sign in with Acme ID").click()
    sign_in_at_provider(page, "mallory-sub")
    expect(page.locator("#sso-error")).to_contain_text(
        "The ID token was issued for another application (wrong audience)."
    )
    page.goto(page.url.split("/login")[0] + "/sources")
    expect(page).to_have_url(re.compile(r"/login"))  # not signed in


def test_an_invited_email_joins_through_sso_from_the_invitation_page(
    page: Page, browser: Browser, live_server: str
):
    set_up(page, live_server)
    page.get_by_role("link", name="Members").click()
    page.get_by_label("Email", exact=True).fill("carol@example.com")
    page.get_by_label("Role", exact=True).select_option("editor")
    page.get_by_role("button", name="Create invitation").click()
    link = page.locator("#invitation-url").input_value()

    invited = loopback_only(browser.new_context())
    try:
        carol = invited.new_page()
        carol.goto(link)
        expect(carol.get_by_text("Or sign in with Acme ID as carol@example.com")).to_be_visible()
        carol.get_by_role("button", name="Sign in with Acme ID").click()
        sign_in_at_provider(carol, "carol-sub")
        expect(carol).to_have_url(re.compile(r"/sources$"))
        expect(carol.get_by_role("link", name="Add data source").first).to_be_visible()  # editor
    finally:
        invited.close()
    page.reload()
    row = page.locator("tr[data-email='carol@example.com']")
    expect(row.get_by_label("Role of carol@example.com", exact=True)).to_have_value("editor")
