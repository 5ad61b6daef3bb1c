"""A person connects an app through the real pages in Chromium: login, consent with two
organizations and adjusted permissions, Connection complete, Continue; then the app exchanges
the code and refreshes (SPEC §3, seed document "Authorization Flow")."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from browser_support import LiveServer, Screenshot, run_async
from playwright.sync_api import Page, Route, expect

from i18n_connect.clock import SystemClock
from i18n_connect.oauth.clients import create_client
from i18n_connect.oauth.pkce import s256_challenge
from i18n_connect.services import Services

pytestmark = pytest.mark.browser

DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
CALLBACK = "http://127.0.0.1:9/connect/callback"  # loopback: any port matches at authorize
VERIFIER = "browser-flow-verifier-0123456789-abcdefghijklmnop"
STATE = "state-4f2c"
SCOPE = "org:read projects:read keys:read keys:write translations:write translations:publish"


async def _register_client(live_server: LiveServer) -> str:
    services = Services.build(live_server.settings, clock=SystemClock())
    try:
        async with services.db.transaction() as conn:
            client, _ = await create_client(
                conn,
                name="Acme IDE plugin",
                redirect_uris=["http://127.0.0.1/connect/callback"],
                confidential=False,
                now=services.clock.now(),
                hasher=services.hasher,
                origin="registration",  # as RFC 7591 registration does: shown as unverified
            )
    finally:
        await services.db.dispose()
    return client.id


def test_person_connects_an_app_to_two_organizations_and_the_app_gets_tokens(
    live_server: LiveServer, browser_page: Page, save_screenshot: Screenshot
) -> None:
    client_id = run_async(_register_client(live_server))
    page = browser_page
    arrived: list[str] = []

    def partner_callback(route: Route) -> None:
        arrived.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>Connected</h1>")

    page.route("http://127.0.0.1:9/**", partner_callback)

    authorize = (
        live_server.url
        + "/api/auth/mcp/authorize?"
        + urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": CALLBACK,
                "scope": SCOPE,
                "state": STATE,
                "code_challenge": s256_challenge(VERIFIER),
                "code_challenge_method": "S256",
            }
        )
    )
    page.goto(authorize)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email").fill(live_server.email)
    page.get_by_label("Password").fill(live_server.password)
    page.get_by_role("button", name="Sign in").click()

    # The consent screen: the app, where it returns, who is signed in.
    expect(page.get_by_role("heading", name="Acme IDE plugin wants to access")).to_be_visible()
    expect(page.get_by_text("Unverified")).to_be_visible()
    expect(page.get_by_text("127.0.0.1:9", exact=True)).to_be_visible()
    expect(page.get_by_text("Ada Lovelace")).to_be_visible()
    acme = page.get_by_role("checkbox", name="Acme Corp")
    globex = page.get_by_role("checkbox", name="Globex")
    expect(acme).not_to_be_checked()
    expect(globex).not_to_be_checked()
    keys_write = page.get_by_role("checkbox", name="Create and delete translation keys")
    publish = page.get_by_role("checkbox", name=re.compile("^Publish translations"))
    expect(keys_write).to_be_checked()
    expect(publish).not_to_be_checked()
    warning = page.get_by_role("note").filter(has_text="live apps and CDN")
    expect(warning).to_be_visible()
    assert warning.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 246, 214)"
    expect(page.get_by_role("checkbox")).to_have_count(2 + 6)

    acme.check()
    globex.check()
    keys_write.uncheck()
    publish.check()
    save_screenshot(page, "consent.png")
    page.get_by_role("button", name="Authorize").click()

    expect(page.get_by_text("Connection complete")).to_be_visible()
    expect(page.get_by_role("heading", name="Acme IDE plugin is connected")).to_be_visible()
    expect(page.get_by_text("It can now work with Acme Corp, Globex.")).to_be_visible()
    assert "code=" not in page.url
    save_screenshot(page, "complete.png")
    assert arrived == []  # nothing reaches the app before the click
    page.get_by_role("link", name="Continue to your app").click()
    expect(page.get_by_role("heading", name="Connected")).to_be_visible()

    (callback_url,) = arrived
    parts = urlsplit(callback_url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CALLBACK
    query = parse_qs(parts.query)
    assert sorted(query) == ["code", "iss", "state"]
    assert query["state"] == [STATE]
    assert query["iss"] == [live_server.url]

    token_url = live_server.url + "/api/auth/mcp/token"
    with httpx.Client(timeout=10) as http:
        exchanged = http.post(
            token_url,
            data={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "redirect_uri": CALLBACK,
                "client_id": client_id,
                "code_verifier": VERIFIER,
            },
        )
        assert exchanged.status_code == 200, exchanged.text
        tokens = exchanged.json()
        granted = "org:read projects:read keys:read translations:write translations:publish"
        assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 1800
        assert tokens["scope"] == granted
        assert len(tokens["grants"]) == 2
        assert {g["scope"] for g in tokens["grants"]} == {granted}
        assert tokens["grant_id"] == tokens["grants"][0]["grant_id"]
        assert tokens["refresh_token"] == tokens["grants"][0]["refresh_token"]

        refreshed = http.post(
            token_url,
            data={
                "grant_type": "refresh_token",
                "refresh_token": tokens["grants"][1]["refresh_token"],
                "client_id": client_id,
            },
        )
        assert refreshed.status_code == 200, refreshed.text
        renewed = refreshed.json()
        assert renewed["grant_id"] == tokens["grants"][1]["grant_id"]
        assert renewed["refresh_token"].startswith("rt_")
        assert renewed["refresh_token"] != tokens["grants"][1]["refresh_token"]
        assert renewed["scope"] == granted

    DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
    output = Path(__file__).resolve().parents[2] / "test-output"
    for name in ("consent.png", "complete.png"):
        shutil.copyfile(output / name, DOCS_IMAGES / name)
