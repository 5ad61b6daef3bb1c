"""The consent screen of a per-organization MCP address (``resource=<issuer>/mcp/o/{slug}``) in
Chromium at 375 px and 1280 px: it offers that organization only, or explains why the person
cannot connect it and leaves only Deny; no horizontal scrolling either way."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from browser_support import LiveServer, Screenshot, fits, run_async
from playwright.sync_api import Browser, Page, expect

from i18n_connect.clock import SystemClock
from i18n_connect.oauth.clients import create_client
from i18n_connect.oauth.pkce import s256_challenge
from i18n_connect.services import Services

pytestmark = pytest.mark.browser

WIDTHS = {"phone": 375, "desktop": 1280}
CALLBACK = "http://127.0.0.1:9/callback"


async def _register_agent(live_server: LiveServer) -> str:
    services = Services.build(live_server.settings, clock=SystemClock())
    try:
        async with services.db.transaction() as conn:
            client, _ = await create_client(
                conn,
                name="Claude",
                redirect_uris=["http://127.0.0.1/callback"],
                confidential=False,
                now=services.clock.now(),
                hasher=services.hasher,
                origin="registration",
            )
    finally:
        await services.db.dispose()
    return client.id


def _authorize(live_server: LiveServer, client_id: str, slug: str) -> str:
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CALLBACK,
        "scope": "projects:read keys:read glossary:read",
        "state": "s",
        "code_challenge": s256_challenge("v" * 43),
        "code_challenge_method": "S256",
        "resource": f"{live_server.url}/mcp/o/{slug}",
    }
    return f"{live_server.url}/api/auth/mcp/authorize?{urlencode(query)}"


@pytest.fixture(params=WIDTHS.values(), ids=WIDTHS.keys())
def page(request: pytest.FixtureRequest, browser: Browser) -> Page:
    context = browser.new_context(viewport={"width": request.param, "height": 800})
    context.set_default_timeout(10_000)
    request.addfinalizer(context.close)
    return context.new_page()


def test_consent_for_one_organization_offers_it_alone_or_says_why_not(
    live_server: LiveServer, page: Page, save_screenshot: Screenshot
) -> None:
    width = page.viewport_size["width"] if page.viewport_size else 0
    client_id = run_async(_register_agent(live_server))

    page.goto(_authorize(live_server, client_id, "globex"))
    page.get_by_label("Email").fill(live_server.email)
    page.get_by_label("Password").fill(live_server.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("This connection is for this organization only.")).to_be_visible()
    organizations = page.locator('input[name="organization"]')
    expect(organizations).to_have_count(1)
    globex = page.get_by_role("checkbox", name="Globex")
    expect(globex).to_be_checked()
    expect(page.get_by_role("button", name="Authorize")).to_be_enabled()
    fits(page, f"consent-organization-{width}.png", save_screenshot)
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_text("It can now work with Globex.")).to_be_visible()

    page.goto(_authorize(live_server, client_id, "umbrella"))
    expect(page.locator('input[name="organization"]')).to_have_count(0)
    notice = page.get_by_text("asked to connect the organization umbrella only")
    expect(notice).to_be_visible()
    expect(page.get_by_role("button", name="Authorize")).to_be_disabled()
    expect(page.get_by_role("button", name="Deny")).to_be_enabled()
    expect(page.get_by_text("You already connected")).to_have_count(0)  # Globex is not offered
    fits(page, f"consent-organization-refused-{width}.png", save_screenshot)
