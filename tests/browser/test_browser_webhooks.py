"""The webhook story in Chromium: Ada, an owner of Acme, adds an endpoint to Acme's app in the
developer console; the app is connected, then Ada revokes it on Connected apps; a real receiver
on 127.0.0.1 gets grant.created then grant.revoked, verified with the standardwebhooks library;
the delivery log shows both and redelivers one. The page fits 375 px and 1280 px."""

from __future__ import annotations

import time

import pytest
from browser_support import LiveServer, Screenshot, fits, run_async
from playwright.sync_api import Page, expect

from i18n_connect import grants
from i18n_connect.clock import SystemClock
from i18n_connect.oauth.clients import create_client
from i18n_connect.platform.accounts import get_user_by_email
from i18n_connect.platform.organizations import get_organization_by_slug
from i18n_connect.services import Services
from i18n_connect.settings import Settings
from i18n_connect.storage.client_profiles import Profile, insert_profile
from webhook_receiver import Receiver, free_port, receiving

pytestmark = pytest.mark.browser


async def _acme_app(settings: Settings) -> str:
    """A confidential app published by Acme Corp."""
    services = Services.build(settings, clock=SystemClock())
    try:
        async with services.db.transaction() as conn:
            acme = await get_organization_by_slug(conn, "acme")
            assert acme is not None
            client, _ = await create_client(
                conn,
                name="Lingo Hooks",
                redirect_uris=["http://127.0.0.1/callback"],
                confidential=True,
                now=services.clock.now(),
                hasher=services.hasher,
            )
            now = services.clock.now()
            await insert_profile(  # published by Acme, as the console makes it
                conn, Profile(client.id, acme.id, "Hooks", None, None, "usr_ada", now, now)
            )
        return client.id
    finally:
        await services.db.dispose()


async def _consent(settings: Settings, email: str, client_id: str) -> str:
    services = Services.build(settings, clock=SystemClock())
    try:
        async with services.db.transaction() as conn:
            user = await get_user_by_email(conn, email)
            acme = await get_organization_by_slug(conn, "acme")
            assert user is not None and acme is not None
            [grant] = await grants.consent(
                conn,
                user_id=user.id,
                client_id=client_id,
                organization_ids=[acme.id],
                scope=["org:read"],
                now=services.clock.now(),
            )
        return grant.id
    finally:
        await services.db.dispose()


def _fits_both_widths(page: Page, name: str, save_screenshot: Screenshot) -> None:
    for width in (375, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        fits(page, f"{name}-{width}.png", save_screenshot)


def test_endpoint_from_the_console_receives_created_then_revoked(
    live_server: LiveServer, browser_page: Page, save_screenshot: Screenshot
) -> None:
    client_id = run_async(_acme_app(live_server.settings))
    page = browser_page
    console = f"{live_server.url}/developer/apps/{client_id}/webhooks"
    page.goto(console)
    page.get_by_label("Email").fill(live_server.email)
    page.get_by_label("Password").fill(live_server.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(console)
    expect(page.get_by_role("heading", name="Webhooks of Lingo Hooks")).to_be_visible()

    # a bad URL: the exact reason, the form kept
    page.get_by_label("Endpoint URL (https)").fill("http://hooks.example.com/x")
    page.get_by_label("grant.revoked").check()
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_role("alert")).to_have_text("url must be an https URL.")
    expect(page.get_by_label("grant.revoked")).to_be_checked()

    with receiving(Receiver(free_port())) as receiver:
        page.get_by_label("Endpoint URL (https)").fill(receiver.url)
        page.get_by_label("grant.created").check()
        page.get_by_role("button", name="Add endpoint").click()
        secret = page.locator(".secret__value").inner_text()
        assert secret.startswith("whsec_")
        _fits_both_widths(page, "webhooks-secret", save_screenshot)
        page.goto(console)
        assert secret not in page.content()  # shown once

        grant_id = run_async(_consent(live_server.settings, live_server.email, client_id))
        page.goto(live_server.url + "/settings/connected-apps")
        row = page.locator(f'tr[data-grant-id="{grant_id}"]')
        row.get_by_text("Revoke…").click()
        row.get_by_role("button", name="Revoke access of Lingo Hooks").click()
        expect(page.get_by_role("status")).to_contain_text("Access revoked")

        received = receiver.wait_for(2)
        events = receiver.verified(secret)
        assert [e["type"] for e in events] == ["grant.created", "grant.revoked"]
        assert [e["data"]["grant_id"] for e in events] == [grant_id, grant_id]
        assert events[1]["data"]["reason"] == "user"

        log = page.locator("tr[data-delivery-id]")
        for _ in range(50):  # the receiver answered; the worker records the outcome next
            page.goto(console)
            if log.filter(has_text="delivered").count() == 2:
                break
            time.sleep(0.1)
        expect(log).to_have_count(2)
        expect(log.first).to_contain_text("grant.revoked")
        expect(log.first).to_contain_text("delivered · HTTP 204")
        _fits_both_widths(page, "webhooks-log", save_screenshot)
        log.first.get_by_role("button", name="Redeliver").click()
        expect(page.get_by_role("status")).to_have_text("grant.revoked queued again.")
        received = receiver.wait_for(3)
        assert received[2].headers["webhook-id"] == received[1].headers["webhook-id"]
        time.sleep(0.3)  # let the worker record the outcome before the server stops


def test_someone_outside_the_owning_organization_sees_not_found(
    live_server: LiveServer, browser_page: Page
) -> None:
    client_id = run_async(_acme_app(live_server.settings))
    page = browser_page
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_label("Password").fill(live_server.password)
    page.get_by_role("button", name="Sign in").click()
    response = page.goto(f"{live_server.url}/developer/apps/{client_id}/webhooks")
    assert response is not None and response.status == 404
