"""The developer console in Chromium at 375 px and 1280 px (issue #14): an owner creates a
confidential app with a logo, sees its secret once, rotates it with a grace period, and
deletes the app after typing its name; the consent screen shows a console app's publisher,
logo and homepage domain, and the verified mark only once an operator gave it. No page
scrolls sideways."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path
from urllib.parse import urlencode

import pytest
from browser_support import LiveServer, Screenshot, fits, run_async
from playwright.sync_api import Browser, Page, expect

from i18n_connect.clock import SystemClock
from i18n_connect.developer import apps
from i18n_connect.developer.logos import checked_logo
from i18n_connect.oauth.client_lifecycle import set_verified
from i18n_connect.platform.accounts import get_user_by_email
from i18n_connect.platform.organizations import get_organization_by_slug
from i18n_connect.services import Services
from i18n_connect.settings import Settings

pytestmark = pytest.mark.browser

WIDTHS = {"phone": 375, "desktop": 1280}
SECRET = re.compile(r"^cs_[A-Za-z0-9_-]{40,}$")
REDIRECT = "http://127.0.0.1:9/callback"


def _png(path: Path) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\x2f\x5b\xd3\xff" * 16 for _ in range(16))
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return path


@pytest.fixture(params=WIDTHS.values(), ids=WIDTHS.keys())
def page(request: pytest.FixtureRequest, browser: Browser) -> Page:
    context = browser.new_context(viewport={"width": request.param, "height": 800})
    context.set_default_timeout(10_000)
    request.addfinalizer(context.close)
    return context.new_page()


def test_an_owner_creates_rotates_and_deletes_an_app_on_any_screen(
    live_server: LiveServer, page: Page, save_screenshot: Screenshot, tmp_path: Path
) -> None:
    width = page.viewport_size["width"] if page.viewport_size else 0
    shot = f"console-{width}"
    page.goto(live_server.url + "/developer/apps")
    page.get_by_label("Email").fill(live_server.email)
    page.get_by_label("Password").fill(live_server.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your apps")).to_be_visible()
    expect(page.get_by_text("No apps yet.")).to_be_visible()
    fits(page, f"{shot}-empty.png", save_screenshot)

    page.get_by_role("link", name="New app").click()
    page.get_by_label("Published by").select_option(label="Acme Corp")
    page.get_by_label("Name").fill("Lingo Sync")
    page.get_by_label("Description").fill("Keeps your strings in sync with your repository.")
    page.get_by_label("Upload a file").set_input_files(_png(tmp_path / "logo.png"))
    page.get_by_label("Homepage").fill("https://lingo.example/")
    page.get_by_label("Privacy policy").fill("https://lingo.example/privacy")
    page.get_by_label("Redirect URIs").fill("https://lingo.example/callback#oops")
    page.get_by_label("Confidential").check()
    page.get_by_label("Read translation keys").check()
    fits(page, f"{shot}-new.png", save_screenshot)
    page.get_by_role("button", name="Create app").click()

    # A wrong field says what is wrong, next to it; the rest is kept.
    expect(page.locator("#redirect_uris-error")).to_have_text(
        "Line 1: A redirect URI may not contain a fragment."
    )
    expect(page.get_by_label("Name")).to_have_value("Lingo Sync")
    fits(page, f"{shot}-new-error.png", save_screenshot)
    page.get_by_label("Redirect URIs").fill("https://lingo.example/callback")
    page.get_by_label("Upload a file").set_input_files(_png(tmp_path / "logo.png"))
    page.get_by_role("button", name="Create app").click()

    # The secret, once.
    expect(page.get_by_role("heading", name="Lingo Sync", level=1)).to_be_visible()
    secret = page.get_by_test_id("new-secret").inner_text()
    assert SECRET.match(secret), secret
    expect(page.get_by_text("it is shown only this once")).to_be_visible()
    expect(page.get_by_text("Published by Acme Corp")).to_be_visible()
    expect(page.get_by_text("Unverified", exact=True)).to_be_visible()
    logo = page.get_by_role("img", name="Logo of Lingo Sync")
    expect(logo).to_be_visible()
    assert logo.evaluate("img => img.naturalWidth") == 16  # served by us, decoded by Chromium
    expect(page.get_by_role("link", name="Webhooks")).to_have_attribute(
        "href", re.compile(r"^/developer/apps/cli_[^/]+/webhooks$")
    )
    fits(page, f"{shot}-created.png", save_screenshot)
    page.reload()
    expect(page.get_by_test_id("new-secret")).to_have_count(0)
    assert secret not in page.content()
    expect(page.get_by_test_id("previous-secret")).to_have_text("None accepted")

    # Rotate: a new secret once; the old one accepted for the chosen grace.
    page.get_by_label("Keep the current secret working for (hours)").fill("48")
    page.get_by_role("button", name="Rotate secret").click()
    rotated = page.get_by_test_id("new-secret").inner_text()
    assert SECRET.match(rotated) and rotated != secret
    expect(page.get_by_test_id("previous-secret")).to_contain_text(
        "Still accepted; it stops working at"
    )
    fits(page, f"{shot}-rotated.png", save_screenshot)
    page.goto(page.url.rsplit("/rotate-secret", 1)[0])
    assert rotated not in page.content() and secret not in page.content()

    # Delete: the name must be typed.
    confirm = page.get_by_role("button", name="Delete Lingo Sync")
    expect(confirm).to_be_hidden()
    page.get_by_text("Delete app…").click()
    page.get_by_label("Type Lingo Sync to confirm").fill("Lingo")
    fits(page, f"{shot}-delete.png", save_screenshot)
    confirm.click()
    expect(page.locator("#confirm_name-error")).to_have_text(
        "Type the app's name, Lingo Sync, exactly to delete it."
    )
    page.get_by_label("Type Lingo Sync to confirm").fill("Lingo Sync")
    page.get_by_role("button", name="Delete Lingo Sync").click()
    expect(page.get_by_role("status")).to_contain_text("The app was deleted.")
    expect(page.get_by_text("No apps yet.")).to_be_visible()
    fits(page, f"{shot}-deleted.png", save_screenshot)


async def _console_app(settings: Settings, email: str, logo: bytes, verified: bool) -> str:
    """An app published by Acme, with a logo; its client id."""
    services = Services.build(settings, clock=SystemClock())
    try:
        async with services.db.transaction() as conn:
            user = await get_user_by_email(conn, email)
            acme = await get_organization_by_slug(conn, "acme")
            assert user is not None and acme is not None
            checked, errors = apps.check_form(
                apps.AppForm(
                    name="Lingo Sync",
                    client_uri="https://www.lingo.example/about",
                    redirect_uris=REDIRECT,
                    kind="public",
                    scopes=("org:read", "keys:read"),
                )
            )
            assert checked is not None, errors
            client, _ = await apps.create_app(
                conn,
                checked,
                organization=acme,
                logo=checked_logo(logo),
                user_id=user.id,
                now=services.clock.now(),
                hasher=services.hasher,
            )
            if verified:
                await set_verified(conn, client, verified=True, actor="cli", now=client.created_at)
    finally:
        await services.db.dispose()
    return client.id


@pytest.mark.parametrize("verified", [False, True], ids=["unverified", "verified"])
def test_the_consent_screen_shows_the_publisher_its_logo_and_domain(
    live_server: LiveServer,
    page: Page,
    save_screenshot: Screenshot,
    tmp_path: Path,
    verified: bool,
) -> None:
    width = page.viewport_size["width"] if page.viewport_size else 0
    logo = _png(tmp_path / "logo.png").read_bytes()
    client_id = run_async(_console_app(live_server.settings, live_server.email, logo, verified))
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT,
            "scope": "org:read keys:read",
            "state": "s",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        }
    )
    page.goto(f"{live_server.url}/api/auth/mcp/authorize?{query}")
    page.get_by_label("Email").fill(live_server.email)
    page.get_by_label("Password").fill(live_server.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    publisher = page.locator(".consent__publisher")
    expect(publisher).to_contain_text("by Acme Corp · www.lingo.example")
    image = publisher.get_by_role("img", name="Logo of Lingo Sync")
    expect(image).to_have_attribute(
        "src", re.compile(rf"^/app-logos/{client_id}\?v=[0-9a-f]{{16}}$")
    )
    assert image.evaluate("img => img.naturalWidth") == 16
    if verified:
        expect(publisher.get_by_text("Verified publisher")).to_be_visible()
        expect(page.get_by_text("Unverified", exact=True)).to_have_count(0)
    else:
        expect(page.get_by_text("Unverified", exact=True)).to_be_visible()
        expect(page.get_by_text("This site has not verified its publisher yet.")).to_be_visible()
    mark = "verified" if verified else "unverified"
    fits(page, f"console-{width}-consent-{mark}.png", save_screenshot)

    page.get_by_role("checkbox", name="Acme Corp").check()
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_text("Connection complete")).to_be_visible()
    page.goto(live_server.url + "/settings/connected-apps")
    row = page.locator("tr[data-grant-id]")
    expect(row.locator(".publisher")).to_contain_text("by Acme Corp · www.lingo.example")
    expect(row.get_by_role("img", name="Logo of Lingo Sync")).to_be_visible()
    expect(row.get_by_text("Unverified", exact=True)).to_have_count(0 if verified else 1)
    fits(page, f"console-{width}-connected-apps-{mark}.png", save_screenshot)
