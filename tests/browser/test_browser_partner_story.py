"""The whole story from the partner's side, as a person does it in Chromium.

On the example partner app: sign in, Connect, log in on the platform, pick two
organizations, untick a default scope, tick a destructive one, Authorize,
Continue to your app; the app shows both connections with their projects. The
person then revokes one on the platform's Connected apps page: the app shows
Reconnect for it and keeps working for the other.
"""

from __future__ import annotations

import pytest
from browser_support import (
    PARTNER_EMAIL,
    PARTNER_PASSWORD,
    LiveServer,
    PartnerApp,
    Screenshot,
)
from playwright.sync_api import Locator, Page, expect

pytestmark = pytest.mark.browser


def _card(page: Page, organization: str) -> Locator:
    return page.locator("section.card").filter(has=page.get_by_role("heading", name=organization))


def test_partner_connects_two_organizations_and_survives_one_revocation(
    live_server: LiveServer,
    partner_app: PartnerApp,
    browser_page: Page,
    save_screenshot: Screenshot,
) -> None:
    page = browser_page

    # The partner's own app: sign in, then Connect.
    page.goto(partner_app.url + "/")
    expect(page).to_have_url(partner_app.url + "/login?next=/")
    page.get_by_label("Email").fill(PARTNER_EMAIL)
    page.get_by_label("Password").fill(PARTNER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your i18n-connect connections")).to_be_visible()
    page.get_by_role("link", name="Connect").click()

    # The platform: log in, then consent.
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email").fill(live_server.email)
    page.get_by_label("Password").fill(live_server.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    page.get_by_role("checkbox", name="Acme Corp").check()
    page.get_by_role("checkbox", name="Globex").check()
    keys_read = page.locator('input[name="scope"][value="keys:read"]')
    publish = page.locator('input[name="scope"][value="translations:publish"]')
    expect(keys_read).to_be_checked()
    expect(publish).not_to_be_checked()
    keys_read.uncheck()
    publish.check()
    save_screenshot(page, "partner-story-consent.png")
    page.get_by_role("button", name="Authorize").click()

    expect(page.get_by_text("Connection complete")).to_be_visible()
    save_screenshot(page, "partner-story-complete.png")
    page.get_by_role("link", name="Continue to your app").click()

    # Back on the partner app: two connections with their projects.
    expect(page).to_have_url(partner_app.url + "/?connected=2")
    expect(page.get_by_role("status")).to_have_text("Connected 2 organizations.")
    acme, globex = _card(page, "Acme Corp"), _card(page, "Globex")
    expect(acme.get_by_role("listitem")).to_have_text(
        ["Marketing website website", "Mobile app mobile"]
    )
    expect(globex.get_by_role("listitem")).to_have_text(["Help center help"])
    for card in (acme, globex):
        expect(card.get_by_text("translations:publish")).to_be_visible()
        expect(card.get_by_text("keys:read", exact=True)).to_have_count(0)
        expect(card.get_by_role("link", name="Reconnect")).to_have_count(0)
    save_screenshot(page, "partner-story-connected.png")

    # The person revokes Globex on the platform's Connected apps page.
    page.goto(live_server.url + "/settings/connected-apps")
    mine = page.get_by_role("table", name="Apps you connected")
    app_rows = mine.get_by_role("row").filter(has_text="Example Partner App")
    globex_row = app_rows.filter(has_text="Globex")
    expect(mine.get_by_role("row").filter(has_text="Example Partner App")).to_have_count(2)
    globex_row.get_by_text("Revoke…").click()
    globex_row.get_by_role("button", name="Revoke access of Example Partner App").click()
    expect(page.get_by_role("status")).to_contain_text("Access revoked: Example Partner App")
    expect(mine.get_by_role("row").filter(has_text="Example Partner App")).to_have_count(1)
    expect(mine.get_by_role("row").filter(has_text="Globex")).to_have_count(0)

    # The partner app notices at once: Reconnect for Globex, Acme still works.
    page.goto(partner_app.url + "/")
    globex = _card(page, "Globex")
    expect(globex.get_by_role("link", name="Reconnect")).to_be_visible()
    expect(globex.get_by_role("alert")).to_contain_text("revoked")
    acme = _card(page, "Acme Corp")
    expect(acme.get_by_role("link", name="Reconnect")).to_have_count(0)
    expect(acme.get_by_role("listitem")).to_have_text(
        ["Marketing website website", "Mobile app mobile"]
    )
    save_screenshot(page, "partner-story-reconnect.png")

    # Reconnect: consent again for Globex; the connection comes back with a new grant.
    globex.get_by_role("link", name="Reconnect").click()
    page.get_by_role("checkbox", name="Globex").check()
    page.get_by_role("button", name="Authorize").click()
    page.get_by_role("link", name="Continue to your app").click()
    expect(page).to_have_url(partner_app.url + "/?connected=1")
    globex = _card(page, "Globex")
    expect(globex.get_by_role("link", name="Reconnect")).to_have_count(0)
    expect(globex.get_by_role("listitem")).to_have_text(["Help center help"])
    expect(page.locator("section.card")).to_have_count(2)
