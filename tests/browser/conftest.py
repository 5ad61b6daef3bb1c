"""Whole-system browser fixtures: a real uvicorn server and a Chromium page.

`live_server` serves a fresh app on a free 127.0.0.1 port over a temporary
SQLite database, seeded with a demo user (`LiveServer.email`/`.password`),
organizations she owns or belongs to, and their projects. Tests may seed more
through `LiveServer.settings` (same database). `partner_app` serves the example partner
app next to it, registered as its client. `browser_page` is a new
Chromium page (Debian's ``/usr/bin/chromium`` through Playwright) with its own
cookie jar. `save_screenshot` writes to ``test-output/`` (not in git).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import uvicorn
from browser_support import (
    PARTNER_APP_NAME,
    PARTNER_SCOPES,
    Config,
    LiveServer,
    PartnerApp,
    Screenshot,
    off_loop,
    run_async,
)
from examples.partner_app import create_app as create_partner_app
from playwright.sync_api import Browser, Page, sync_playwright

from i18n_connect.app import create_app
from i18n_connect.clock import SystemClock
from i18n_connect.oauth.clients import create_client
from i18n_connect.platform.accounts import create_user
from i18n_connect.platform.organizations import add_member, create_organization
from i18n_connect.platform.projects import create_project
from i18n_connect.services import Services
from i18n_connect.settings import Settings
from i18n_connect.storage.migrate import upgrade

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output"
SECRET = "browser-test-secret-0123456789abcdef0123456789"
_START_TIMEOUT_SECONDS = 15


async def _seed(settings: Settings, email: str, password: str) -> None:
    services = Services.build(settings, clock=SystemClock())
    now = services.clock.now()
    try:
        async with services.db.transaction() as conn:
            ada = await create_user(
                conn, email=email, password=password, name="Ada Lovelace", now=now
            )
            grace = await create_user(
                conn, email="grace@example.com", password=password, name="Grace", now=now
            )
            acme = await create_organization(
                conn, slug="acme", name="Acme Corp", owner_user_id=ada.id, now=now
            )
            globex = await create_organization(
                conn, slug="globex", name="Globex", owner_user_id=grace.id, now=now
            )
            await add_member(conn, organization_id=globex.id, user_id=ada.id, role="admin", now=now)
            for organization_id, name, slug, source, targets in [
                (acme.id, "Marketing website", "website", "en", ("de", "fr", "ja")),
                (acme.id, "Mobile app", "mobile", "en", ("es", "pt-BR")),
                (globex.id, "Help center", "help", "en", ("de",)),
            ]:
                await create_project(
                    conn,
                    organization_id=organization_id,
                    name=name,
                    slug=slug,
                    source_language=source,
                    target_languages=targets,
                    now=now,
                )
    finally:
        await services.db.dispose()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A real uvicorn server in a thread, on a free port, stopped (bounded) after the test."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'live.db'}",
        issuer=f"http://127.0.0.1:{port}",
        secret_key=SECRET,
        webhook_allow_loopback=True,  # the webhook story's receiver is on 127.0.0.1
        webhook_poll_seconds=0.2,
    )
    off_loop(upgrade, settings.database_url)
    server_info = LiveServer(settings.issuer, settings, "ada@example.com", "correct horse battery")
    run_async(_seed(settings, server_info.email, server_info.password))

    config = uvicorn.Config(
        create_app(settings), log_level="warning", lifespan="on", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    try:
        yield server_info
    finally:
        server.should_exit = True
        thread.join(timeout=_START_TIMEOUT_SECONDS)
        sock.close()


async def _register(live_server: LiveServer, redirect_uri: str) -> str:
    services = Services.build(live_server.settings, clock=SystemClock())
    try:
        async with services.db.transaction() as conn:
            client, _ = await create_client(
                conn,
                name=PARTNER_APP_NAME,
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
    config = Config(
        client_id=client_id.result(),
        issuer=live_server.url,
        public_url=url,
        database=tmp_path / "partner-app.db",
        session_secret="browser-test-partner-session-secret",
        scopes=PARTNER_SCOPES,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_partner_app(config), log_level="warning", lifespan="on", access_log=False
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the partner app did not start")
        time.sleep(0.05)
    try:
        yield PartnerApp(url, config)
    finally:
        server.should_exit = True
        thread.join(timeout=_START_TIMEOUT_SECONDS)
        sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module. Not session-wide: Playwright's sync API keeps an event
    loop running in the main thread while it is open, which async tests elsewhere cannot share."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def browser_page(browser: Browser) -> Iterator[Page]:
    """A fresh page in its own browser context (no cookies shared between tests)."""
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def save_screenshot() -> Screenshot:
    """``save_screenshot(page, "name.png")``: a full-page screenshot under test-output/."""

    def save(page: Page, name: str) -> Path:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / name
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
