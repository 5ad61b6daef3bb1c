"""A person signs in through the real login page in Chromium and sees their organizations."""

from __future__ import annotations

import pytest
from browser_support import LiveServer, Screenshot
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_person_signs_in_and_sees_their_organizations(
    live_server: LiveServer, browser_page: Page, save_screenshot: Screenshot
) -> None:
    page = browser_page
    page.goto(live_server.url + "/")
    expect(page).to_have_url(live_server.url + "/login?next=/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    save_screenshot(page, "login-page.png")

    page.get_by_label("Email").fill(live_server.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    expect(page.get_by_label("Email")).to_have_value(live_server.email)

    page.get_by_label("Password").fill(live_server.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()
    expect(page.get_by_role("heading", name="Acme Corp acme")).to_be_visible()
    expect(page.get_by_role("heading", name="Globex globex")).to_be_visible()
    expect(page.get_by_role("cell", name="Marketing website", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="Help center", exact=True)).to_be_visible()
    expect(
        page.get_by_role("list", name="Languages of Mobile app").get_by_role("listitem")
    ).to_have_text(["en", "es", "pt-BR"])
    expect(page.get_by_text(live_server.email)).to_be_visible()
    session = next(c for c in page.context.cookies() if c["name"] == "i18n_connect_session")
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Lax"
    save_screenshot(page, "login-home.png")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    save_screenshot(page, "login-home-mobile.png")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(live_server.url + "/login")
    page.goto(live_server.url + "/")
    expect(page).to_have_url(live_server.url + "/login?next=/")
