"""A person connects a command-line tool with the device flow (RFC 8628 §3.3) in Chromium on
a 375 px phone and a 1280 px desktop: the code confirmed from the complete verification URI,
the shared consent screen, "Connection complete" with no way on to an app; then a code typed
by hand and denied. Each page fits the viewport without horizontal scrolling."""

from __future__ import annotations

import re

import httpx
import pytest
from browser_support import LiveServer, Screenshot, fits, run_async
from playwright.sync_api import Browser, Page, expect

from i18n_connect.clock import SystemClock
from i18n_connect.oauth.clients import create_client
from i18n_connect.oauth.device import DEVICE_CODE_GRANT
from i18n_connect.services import Services
from i18n_connect.storage.clients import DEFAULT_GRANT_TYPES

pytestmark = pytest.mark.browser

WIDTHS = {"phone": 375, "desktop": 1280}
SCOPE = "org:read projects:read keys:read translations:publish"


async def _register_device_client(live_server: LiveServer) -> str:
    services = Services.build(live_server.settings, clock=SystemClock())
    try:
        async with services.db.transaction() as conn:
            client, _ = await create_client(
                conn,
                name="Release CLI",
                redirect_uris=["http://127.0.0.1/cb"],
                confidential=False,
                now=services.clock.now(),
                hasher=services.hasher,
                origin="registration",
                grant_types=(*DEFAULT_GRANT_TYPES, DEVICE_CODE_GRANT),
            )
    finally:
        await services.db.dispose()
    return client.id


@pytest.fixture(params=WIDTHS.values(), ids=WIDTHS.keys())
def page(request: pytest.FixtureRequest, browser: Browser) -> Page:
    context = browser.new_context(viewport={"width": request.param, "height": 800})
    context.set_default_timeout(10_000)
    request.addfinalizer(context.close)
    return context.new_page()


def test_a_person_approves_one_device_and_denies_another(
    live_server: LiveServer, page: Page, save_screenshot: Screenshot
) -> None:
    client_id = run_async(_register_device_client(live_server))
    width = page.viewport_size["width"] if page.viewport_size else 0
    shot = f"device-{width}"
    with httpx.Client(base_url=live_server.url, timeout=10) as http:

        def start() -> dict[str, str]:
            started = http.post(
                "/api/auth/mcp/device_authorization", data={"client_id": client_id, "scope": SCOPE}
            )
            assert started.status_code == 200, started.text
            body: dict[str, str] = started.json()
            return body

        def poll(device_code: str) -> httpx.Response:
            data = {"grant_type": DEVICE_CODE_GRANT, "device_code": device_code}
            return http.post("/api/auth/mcp/token", data={**data, "client_id": client_id})

        first = start()
        page.goto(first["verification_uri_complete"])
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        fits(page, f"{shot}-login.png", save_screenshot)
        page.get_by_label("Email").fill(live_server.email)
        page.get_by_label("Password").fill(live_server.password)
        page.get_by_role("button", name="Sign in").click()

        heading = page.get_by_role("heading", name="Enter the code shown on your device")
        expect(heading).to_be_visible()
        expect(page.get_by_role("textbox", name="Code")).to_have_value(first["user_code"])
        fits(page, f"{shot}-code.png", save_screenshot)
        assert poll(first["device_code"]).json()["error"] == "authorization_pending"
        page.get_by_role("button", name="Continue").click()

        expect(page.get_by_role("heading", name="Release CLI wants to access")).to_be_visible()
        expect(page.get_by_text("Unverified")).to_be_visible()
        expect(page.get_by_text(first["user_code"], exact=True)).to_be_visible()
        warning = page.get_by_role("note").filter(has_text="live apps and CDN")
        expect(warning).to_be_visible()
        publish = page.get_by_role("checkbox", name=re.compile("^Publish translations"))
        expect(publish).not_to_be_checked()
        page.get_by_role("checkbox", name="Acme Corp").check()
        fits(page, f"{shot}-consent.png", save_screenshot)
        page.get_by_role("button", name="Authorize").click()

        expect(page.get_by_text("Connection complete")).to_be_visible()
        expect(page.get_by_role("heading", name="Release CLI is connected")).to_be_visible()
        expect(page.get_by_text("It can now work with Acme Corp.")).to_be_visible()
        expect(page.get_by_role("link", name="Continue to your app")).to_have_count(0)
        assert page.url == live_server.url + "/device/consent"
        fits(page, f"{shot}-complete.png", save_screenshot)
        tokens = poll(first["device_code"])
        assert tokens.status_code == 200, tokens.text
        assert tokens.json()["scope"] == "org:read projects:read keys:read"

        second = start()
        page.goto(second["verification_uri"])
        expect(page.get_by_role("textbox", name="Code")).to_have_value("")
        page.get_by_role("textbox", name="Code").fill(second["user_code"].replace("-", "").lower())
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("button", name="Deny").click()
        expect(page.get_by_role("heading", name="Nothing was shared")).to_be_visible()
        fits(page, f"{shot}-denied.png", save_screenshot)
        denied = poll(second["device_code"])
        assert (denied.status_code, denied.json()["error"]) == (400, "access_denied")
