"""A person revokes an app on the Connected apps page; the app's token stops working at once."""

from __future__ import annotations

import httpx
import pytest
from browser_support import LiveServer, Screenshot, run_async
from playwright.sync_api import Page, expect

from i18n_connect import grants
from i18n_connect.clock import SystemClock
from i18n_connect.oauth.clients import create_client
from i18n_connect.platform.accounts import get_user_by_email
from i18n_connect.platform.organizations import get_organization_by_slug
from i18n_connect.services import Services
from i18n_connect.settings import Settings

pytestmark = pytest.mark.browser


async def _connect_app(settings: Settings, email: str) -> tuple[str, str]:
    """The partner app connected to acme by the user: its grant id and an access token."""
    services = Services.build(settings, clock=SystemClock())
    now = services.clock.now()
    try:
        await services.keys.load()
        async with services.db.transaction() as conn:
            user = await get_user_by_email(conn, email)
            acme = await get_organization_by_slug(conn, "acme")
            assert user is not None and acme is not None
            client, _ = await create_client(
                conn,
                name="Lingo Sync",
                redirect_uris=["http://127.0.0.1/callback"],
                confidential=False,
                now=now,
                hasher=services.hasher,
            )
            [grant] = await grants.consent(
                conn,
                user_id=user.id,
                client_id=client.id,
                organization_ids=[acme.id],
                scope=["org:read", "keys:read"],
                now=now,
            )
        issued = await services.tokens.issue(
            user_id=user.id,
            client_id=client.id,
            scope=["org:read", "keys:read"],
            grant_ids=[grant.id],
            audience=settings.api_resource,
        )
        return grant.id, issued.token
    finally:
        await services.db.dispose()


def test_person_revokes_an_app_and_its_installation_token_gets_410(
    live_server: LiveServer, browser_page: Page, save_screenshot: Screenshot
) -> None:
    grant_id, access = run_async(_connect_app(live_server.settings, live_server.email))
    api = live_server.url + "/api/oauth-client"
    minted = httpx.post(
        f"{api}/installations/{grant_id}/tokens",
        headers={"Authorization": f"Bearer {access}"},
        timeout=10,
    )
    assert minted.status_code == 201, minted.text
    token = minted.json()["installation_token"]
    assert httpx.get(f"{api}/organizations", headers={"x-api-key": token}).status_code == 200

    page = browser_page
    page.goto(live_server.url + "/settings/connected-apps")
    page.get_by_label("Email").fill(live_server.email)
    page.get_by_label("Password").fill(live_server.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(live_server.url + "/settings/connected-apps")
    expect(page.get_by_role("heading", name="Connected apps", exact=True)).to_be_visible()
    row = page.locator(f'tr[data-grant-id="{grant_id}"]')
    expect(row.get_by_role("cell", name="Lingo Sync", exact=True)).to_be_visible()
    expect(
        row.get_by_role("list", name="Permissions of Lingo Sync").get_by_role("listitem")
    ).to_have_text(["Read your organizations", "Read translation keys"])
    confirm = row.get_by_role("button", name="Revoke access of Lingo Sync")
    expect(confirm).to_be_hidden()  # a first click only opens the confirmation
    save_screenshot(page, "connected-apps.png")

    row.get_by_text("Revoke…").click()
    expect(confirm).to_be_visible()
    expect(row.get_by_text("loses access to Acme Corp at once")).to_be_visible()
    save_screenshot(page, "connected-apps-confirm.png")
    confirm.click()

    expect(page.get_by_role("status")).to_have_text(
        "Access revoked: Lingo Sync can no longer reach Acme Corp. Its tokens no longer work."
    )
    expect(page.locator(f'tr[data-grant-id="{grant_id}"]')).to_have_count(0)
    save_screenshot(page, "connected-apps-revoked.png")
    refused = httpx.get(f"{api}/organizations", headers={"x-api-key": token}, timeout=10)
    assert (refused.status_code, refused.json()["error"]) == (410, "grant_revoked")
