"""The whole story from the partner's side, as a person does it in Chromium.

On the example partner app: sign in, Connect, log in on the platform, pick two
organizations, untick a default scope, tick a destructive one, Authorize,
Continue to your app; the app shows both connections with their projects. The
person then revokes one on the platform's Connected apps page: the app shows
Reconnect for it and keeps working for the other.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from browser_support import LiveServer, Screenshot
from playwright.sync_api import Locator, Page, expect

from i18n_connect.clock import SystemClock
from i18n_connect.oauth.clients import create_client
from i18n_connect.services import Services

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # examples/ lives at the repository root, outside src/
    sys.path.insert(0, str(ROOT))

from examples.partner_app import Config, create_app  # noqa: E402

pytestmark = pytest.mark.browser

PARTNER_EMAIL = "dev@partner-app.test"
PARTNER_PASSWORD = "partner password"
SCOPES = (
    "org:read",
    "projects:read",
    "keys:read",
    "keys:write",
    "translations:write",
    "translations:publish",
)
START_TIMEOUT = 15.0


@dataclass(frozen=True)
class PartnerApp:
    url: str
    config: Config


async def _register(live_server: LiveServer, redirect_uri: str) -> str:
    services = Services.build(live_server.settings, clock=SystemClock())
    try:
        async with services.db.transaction() as conn:
            client, _ = await create_client(
                conn,
                name="Example Partner App",
                redirect_uris=[redirect_uri],
                confidential=False,
                now=services.clock.now(),
                hasher=services.hasher,
            )
    finally:
        await services.db.dispose()
    return client.id


@pytest.fixture
def partner_app(live_server: LiveServer, tmp_path: Path) -> Iterator[PartnerApp]:
    """The example partner app on a free port, registered as a client of the live server."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API owns this thread's loop
        client_id = pool.submit(asyncio.run, _register(live_server, f"{url}/connect/callback"))
    client_id = client_id.result()
    config = Config(
        client_id=client_id,
        issuer=live_server.url,
        public_url=url,
        database=tmp_path / "partner-app.db",
        session_secret="browser-test-partner-session-secret",
        scopes=SCOPES,
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), log_level="warning", lifespan="on", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the partner app did not start")
        time.sleep(0.05)
    try:
        yield PartnerApp(url, config)
    finally:
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT)
        sock.close()


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
    expect(page.get_by_role("status")).to_contain_text("Access revoked.")
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
