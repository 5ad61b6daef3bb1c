"""Every page a new user meets, in Chromium on a 375 px phone and a 1280 px desktop.

The user signs in on the example partner app, connects two organizations,
revokes one on Connected apps, reconnects it and disconnects the other. Each
page must fit the viewport without horizontal scrolling; along the way the
pages name the app, show scopes in plain words and times in the reader's zone,
and the partner app confirms before it disconnects.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit

import pytest
from browser_support import (
    PARTNER_APP_NAME,
    PARTNER_EMAIL,
    PARTNER_PASSWORD,
    LiveServer,
    PartnerApp,
    Screenshot,
    fits,
)
from playwright.sync_api import Browser, Locator, Page, expect

pytestmark = pytest.mark.browser

WIDTHS = {"phone": 375, "desktop": 1280}
ONE_LINE = (
    "e => e.getBoundingClientRect().height < 1.5 * parseFloat(getComputedStyle(e).lineHeight)"
)
UTC_TEXT = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$")


def _inside(inner: Locator, outer: Locator) -> None:
    box, frame = inner.bounding_box(), outer.bounding_box()
    assert box is not None and frame is not None
    assert box["x"] >= frame["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"]


def _card(page: Page, organization: str) -> Locator:
    return page.locator("section.card").filter(has=page.get_by_role("heading", name=organization))


@pytest.fixture(params=WIDTHS.values(), ids=WIDTHS.keys())
def page(request: pytest.FixtureRequest, browser: Browser) -> Page:
    context = browser.new_context(
        viewport={"width": request.param, "height": 800},
        timezone_id="Asia/Tokyo",  # UTC+9, so a converted time differs from the UTC one
    )
    context.set_default_timeout(10_000)
    request.addfinalizer(context.close)
    return context.new_page()


def test_a_new_user_connects_revokes_reconnects_and_disconnects_on_any_screen(
    live_server: LiveServer, partner_app: PartnerApp, page: Page, save_screenshot: Screenshot
) -> None:
    width = page.viewport_size["width"] if page.viewport_size else 0
    shot = f"pages-{width}"

    # The partner app's own sign-in and its empty connections page.
    page.goto(partner_app.url + "/")
    fits(page, f"{shot}-partner-login.png", save_screenshot)
    page.get_by_label("Email").fill(PARTNER_EMAIL)
    page.get_by_label("Password").fill(PARTNER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=PARTNER_APP_NAME)).to_be_visible()
    page.get_by_role("link", name="Connect").click()

    # The platform's sign-in says which app is asking.
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text(f"Sign in to continue to {PARTNER_APP_NAME}")).to_be_visible()
    fits(page, f"{shot}-login-for-app.png", save_screenshot)
    page.get_by_label("Email").fill(live_server.email)
    page.get_by_label("Password").fill(live_server.password)
    page.get_by_role("button", name="Sign in").click()

    # Consent: the email is shown whole; two organizations, one destructive scope.
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    expect(page.locator(".consent__email")).to_have_text(f"({live_server.email})")
    assert page.locator(".consent__email").evaluate(ONE_LINE), "the email is broken mid-word"
    expect(page.locator(".account__email")).to_have_text(live_server.email)
    assert page.locator(".account__email").evaluate(ONE_LINE)
    email_box = page.locator(".account__email").bounding_box()
    assert email_box is not None and email_box["x"] + email_box["width"] <= width
    expect(page.get_by_text("Connected", exact=True)).to_have_count(0)
    fits(page, f"{shot}-consent.png", save_screenshot)
    page.get_by_role("checkbox", name="Acme Corp").check()
    page.get_by_role("checkbox", name="Globex").check()
    page.locator('input[name="scope"][value="translations:publish"]').check()
    page.get_by_role("button", name="Authorize").click()

    # Connection complete: permissions in plain words, with the destructive warning.
    expect(page.get_by_text("Connection complete")).to_be_visible()
    given = page.get_by_role("list", name=f"Permissions given to {PARTNER_APP_NAME}")
    expect(given.get_by_text("Publish translations", exact=True)).to_be_visible()
    expect(given.get_by_role("note")).to_have_text(
        "⚠ Can publish translations straight to your live apps and CDN."
    )
    expect(given.get_by_text("Read your organizations", exact=True)).to_be_visible()
    fits(page, f"{shot}-complete.png", save_screenshot)
    page.get_by_role("link", name="Continue to your app").click()
    expect(page.get_by_role("status")).to_have_text("Connected 2 organizations.")
    fits(page, f"{shot}-partner-connected.png", save_screenshot)

    # Connected apps: titles instead of codes, local times with UTC on hover.
    page.goto(live_server.url + "/settings/connected-apps")
    rows = page.locator("tr[data-grant-id]")
    expect(rows).to_have_count(2)
    globex_row = rows.filter(has_text="Globex")
    permissions = globex_row.get_by_role("list", name=f"Permissions of {PARTNER_APP_NAME}")
    expect(permissions.get_by_role("listitem")).to_have_text(
        [
            "Read your organizations",
            "Read projects and their languages",
            "Read translation keys",
            re.compile("^Create and delete translation keys"),
            "Write draft translations",
            "⚠ Publish translations",
        ]
    )
    expect(permissions.locator("li.tags__destructive")).to_have_count(1)
    connected_at = globex_row.locator("time.local-time").first
    expect(connected_at).to_have_class("local-time local-time--converted")
    expect(connected_at).to_have_attribute("title", UTC_TEXT)
    expect(connected_at).to_contain_text("GMT+9")
    fits(page, f"{shot}-connected-apps.png", save_screenshot)

    globex_row.get_by_text("Revoke…").click()
    confirm = globex_row.get_by_role("button", name=f"Revoke access of {PARTNER_APP_NAME}")
    expect(confirm).to_be_visible()
    _inside(globex_row.locator(".confirm__form"), page.locator("section.card").first)
    fits(page, f"{shot}-connected-apps-confirm.png", save_screenshot)
    confirm.click()
    expect(page.get_by_role("status")).to_have_text(
        f"Access revoked: {PARTNER_APP_NAME} can no longer reach Globex. Its tokens no longer work."
    )
    fits(page, f"{shot}-connected-apps-revoked.png", save_screenshot)

    # Reconnect Globex: the consent screen has it ticked; Acme is labelled Connected.
    page.goto(partner_app.url + "/")
    _card(page, "Globex").get_by_role("link", name="Reconnect").click()
    expect(page.get_by_role("checkbox", name="Globex")).to_be_checked()
    expect(page.get_by_role("checkbox", name="Acme Corp")).not_to_be_checked()
    acme_choice = page.locator("label.check").filter(has_text="Acme Corp")
    expect(acme_choice.get_by_text("Connected", exact=True)).to_be_visible()
    expect(
        page.locator("label.check").filter(has_text="Globex").get_by_text("Connected", exact=True)
    ).to_have_count(0)
    fits(page, f"{shot}-consent-reconnect.png", save_screenshot)
    page.get_by_role("button", name="Authorize").click()
    page.get_by_role("link", name="Continue to your app").click()
    expect(page.get_by_role("status")).to_have_text("Connected 1 organization.")

    # Disconnect Acme in the partner app: a confirmation first, then what happened.
    acme = _card(page, "Acme Corp")
    acme.get_by_text("Disconnect…").click()
    confirm = acme.get_by_role("button", name="Disconnect Acme Corp")
    expect(acme.get_by_text("revokes its access on i18n-connect")).to_be_visible()
    fits(page, f"{shot}-partner-disconnect-confirm.png", save_screenshot)
    confirm.click()
    expect(page.get_by_role("status")).to_contain_text("Disconnected Acme Corp.")
    expect(page.locator("section.card")).to_have_count(1)
    fits(page, f"{shot}-partner-disconnected.png", save_screenshot)


def test_home_error_and_not_found_pages_fit_any_screen(
    live_server: LiveServer, partner_app: PartnerApp, page: Page, save_screenshot: Screenshot
) -> None:
    width = page.viewport_size["width"] if page.viewport_size else 0
    shot = f"pages-{width}"
    page.goto(live_server.url + "/")
    page.get_by_label("Email").fill(live_server.email)
    page.get_by_label("Password").fill(live_server.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()
    fits(page, f"{shot}-home.png", save_screenshot)

    response = page.goto(live_server.url + "/no/such/page")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    fits(page, f"{shot}-not-found.png", save_screenshot)

    query = urlencode(
        {
            "response_type": "code",
            "client_id": partner_app.config.client_id,
            "redirect_uri": "https://elsewhere.test/callback",
            "code_challenge": "x" * 43,
            "code_challenge_method": "S256",
        }
    )
    response = page.goto(f"{live_server.url}/api/auth/mcp/authorize?{query}")
    assert response is not None and response.status == 400
    expect(page.get_by_role("heading", name="This app cannot connect")).to_be_visible()
    expect(page.get_by_text("an address that it never registered")).to_be_visible()
    expect(page.get_by_text("Nothing was shared with the app")).to_be_visible()
    expect(page.get_by_text("redirect_uri")).to_have_count(0)
    fits(page, f"{shot}-authorize-error.png", save_screenshot)


def test_the_api_explorer_renders_offline_from_this_server(
    live_server: LiveServer, page: Page, save_screenshot: Screenshot
) -> None:
    width = page.viewport_size["width"] if page.viewport_size else 0
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto(live_server.url + "/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() >= 10
    expect(page.get_by_text("/api/oauth-client/organizations", exact=True).first).to_be_visible()
    fits(page, f"pages-{width}-docs.png", save_screenshot)
    top = save_screenshot(page, f"pages-{width}-docs.png").with_name(f"pages-{width}-docs-top.png")
    page.screenshot(path=str(top))  # the first screenful, legible
    assert hosts == {urlsplit(live_server.url).netloc}
    assert refused == []
