"""An owner sets her organization's app policy in Chromium on a 375 px phone and a 1280 px
desktop: "verified publishers only" revokes an unverified app after a confirmation that counts
its connections; a blocked app then finds the organization disabled, with the reason, on the
consent screen, and a form tampered to connect it anyway is refused."""

from __future__ import annotations

import pytest
from browser_support import (
    PARTNER_EMAIL,
    PARTNER_PASSWORD,
    LiveServer,
    PartnerApp,
    Screenshot,
    fits,
    run_async,
)
from playwright.sync_api import Browser, Page, expect

from i18n_connect import grants
from i18n_connect.clock import SystemClock
from i18n_connect.oauth.clients import create_client
from i18n_connect.platform import policies
from i18n_connect.platform.accounts import get_user_by_email
from i18n_connect.platform.organizations import get_organization_by_slug
from i18n_connect.services import Services
from i18n_connect.settings import Settings

pytestmark = pytest.mark.browser

WIDTHS = {"phone": 375, "desktop": 1280}


async def _unverified_app_on_acme(settings: Settings, email: str) -> tuple[str, str]:
    """A self-registered app connected to Acme by the user: its grant id, and Acme's id."""
    services = Services.build(settings, clock=SystemClock())
    now = services.clock.now()
    try:
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
                origin="registration",
            )
            [grant] = await grants.consent(
                conn,
                user_id=user.id,
                client_id=client.id,
                organization_ids=[acme.id],
                scope=["org:read"],
                now=now,
            )
        return grant.id, acme.id
    finally:
        await services.db.dispose()


async def _revoked(settings: Settings, grant_id: str) -> bool:
    services = Services.build(settings, clock=SystemClock())
    try:
        async with services.db.transaction(readonly=True) as conn:
            grant = await grants.get_grant(conn, grant_id)
        return grant is not None and grant.revoked_at is not None
    finally:
        await services.db.dispose()


@pytest.fixture(params=WIDTHS.values(), ids=WIDTHS.keys())
def page(request: pytest.FixtureRequest, browser: Browser) -> Page:
    context = browser.new_context(viewport={"width": request.param, "height": 800})
    context.set_default_timeout(10_000)
    request.addfinalizer(context.close)
    return context.new_page()


def test_owner_restricts_apps_confirms_the_revocation_and_consent_shows_the_reason(
    live_server: LiveServer, partner_app: PartnerApp, page: Page, save_screenshot: Screenshot
) -> None:
    width = page.viewport_size["width"] if page.viewport_size else 0
    shot = f"policy-{width}"
    grant_id, acme_id = run_async(_unverified_app_on_acme(live_server.settings, live_server.email))

    page.goto(live_server.url + "/orgs/acme/app-policy")
    page.get_by_label("Email").fill(live_server.email)
    page.get_by_label("Password").fill(live_server.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="App policy")).to_be_visible()
    expect(page.get_by_role("radio", name="Owners and admins")).to_be_checked()
    connected = page.locator("section.card").filter(has_text="Apps connected to Acme Corp")
    expect(connected.get_by_text("1 connection")).to_be_visible()
    fits(page, f"{shot}-page.png", save_screenshot)

    page.get_by_role("radio", name="Only apps from verified publishers").check()
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_role("heading", name="Revoke 1 connection?")).to_be_visible()
    expect(page.locator(".app-list")).to_contain_text("Lingo Sync")
    fits(page, f"{shot}-confirm.png", save_screenshot)
    assert not run_async(_revoked(live_server.settings, grant_id))
    page.get_by_role("button", name="Revoke 1 connection and save").click()
    expect(page.get_by_role("status")).to_have_text(
        "Policy saved. 1 connection revoked: those apps can no longer reach Acme Corp."
    )
    assert run_async(_revoked(live_server.settings, grant_id))
    expect(page.get_by_role("radio", name="Only apps from verified publishers")).to_be_checked()

    # Block the (verified) partner app by its client id: nothing to revoke, saved at once.
    blocked = page.locator("section.card").filter(has_text="Blocked apps")
    blocked.get_by_label("Client id of the app").fill(partner_app.config.client_id)
    blocked.get_by_role("button", name="Block app").click()
    expect(page.get_by_role("status")).to_have_text("Policy saved.")
    expect(blocked.locator(".app-list")).to_contain_text("Example Partner App")
    fits(page, f"{shot}-blocked.png", save_screenshot)

    # The partner app asks to connect: Acme Corp is shown, disabled, with the reason.
    page.goto(partner_app.url + "/")
    page.get_by_label("Email").fill(PARTNER_EMAIL)
    page.get_by_label("Password").fill(PARTNER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Connect").click()
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    acme = page.get_by_role("checkbox", name="Acme Corp")
    expect(acme).to_be_disabled()
    expect(page.get_by_text("Acme Corp has blocked this app.")).to_be_visible()
    expect(page.get_by_role("checkbox", name="Globex")).to_be_enabled()
    fits(page, f"{shot}-consent.png", save_screenshot)

    # A form tampered to connect Acme Corp anyway is refused.
    page.evaluate(
        """id => {
            const input = document.createElement("input");
            input.type = "hidden"; input.name = "organization"; input.value = id;
            document.querySelector("form[action='/api/auth/mcp/consent']").append(input);
        }""",
        acme_id,
    )
    with page.expect_response(lambda r: r.url.endswith("/api/auth/mcp/consent")) as answered:
        page.get_by_role("button", name="Authorize").click()
    assert answered.value.status == 400
    expect(page.get_by_text("Acme Corp has blocked this app.")).to_be_visible()
    fits(page, f"{shot}-tampered.png", save_screenshot)

    # The audit trail names the app and the owner, and filters by what happened.
    page.goto(live_server.url + "/orgs/acme/audit")
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    revoked = page.locator('li[data-action="grant.revoked"]')
    expect(revoked).to_contain_text("Lingo Sync")
    expect(revoked).to_contain_text(live_server.email)
    expect(revoked).to_contain_text("reason: organization_policy")
    fits(page, f"{shot}-audit.png", save_screenshot)
    page.get_by_label("What").select_option("policy.app_blocked")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("li[data-action]")).to_have_count(1)
    expect(page.locator("li[data-action]")).to_contain_text("Example Partner App")
    fits(page, f"{shot}-audit-filtered.png", save_screenshot)


async def _owners_only_globex(settings: Settings) -> tuple[str, str]:
    """Grace, Globex's owner, lets only owners connect apps to it: Acme's and Globex's ids."""
    services = Services.build(settings, clock=SystemClock())
    try:
        async with services.db.transaction() as conn:
            grace = await get_user_by_email(conn, "grace@example.com")
            acme = await get_organization_by_slug(conn, "acme")
            globex = await get_organization_by_slug(conn, "globex")
            assert grace is not None and acme is not None and globex is not None
            await policies.change_policy(
                conn,
                organization_id=globex.id,
                connect_roles="owners",
                allowed_apps="any",
                actor=grace.id,
                now=services.clock.now(),
            )
        return acme.id, globex.id
    finally:
        await services.db.dispose()


def test_approved_list_and_owners_only_show_their_reasons_and_refuse_the_tampered_form(
    live_server: LiveServer, partner_app: PartnerApp, page: Page, save_screenshot: Screenshot
) -> None:
    width = page.viewport_size["width"] if page.viewport_size else 0
    shot = f"policy-approved-{width}"
    acme_id, globex_id = run_async(_owners_only_globex(live_server.settings))

    page.goto(live_server.url + "/orgs/acme/app-policy")
    page.get_by_label("Email").fill(live_server.email)
    page.get_by_label("Password").fill(live_server.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("radio", name="Only approved apps").check()
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_role("status")).to_have_text("Policy saved.")

    # Acme allows only approved apps; Globex, where Ada is an admin, only its owners.
    page.goto(partner_app.url + "/")
    page.get_by_label("Email").fill(PARTNER_EMAIL)
    page.get_by_label("Password").fill(PARTNER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Connect").click()
    expect(page.get_by_role("checkbox", name="Acme Corp")).to_be_disabled()
    expect(page.get_by_text("Acme Corp allows only apps its owners approved.")).to_be_visible()
    expect(page.get_by_role("checkbox", name="Globex")).to_be_disabled()
    expect(page.get_by_text("Only owners of Globex can connect apps to it.")).to_be_visible()
    expect(page.get_by_text("Ask an owner of Globex")).to_be_visible()  # the role alone
    expect(page.get_by_text("Ask an owner of Acme Corp")).to_have_count(0)  # the app policy
    expect(page.get_by_text("None of your organizations lets you connect")).to_be_visible()
    fits(page, f"{shot}-consent.png", save_screenshot)

    for organization_id, reason in (
        (acme_id, "Acme Corp allows only apps its owners approved."),
        (globex_id, "Only owners of Globex can connect apps to it."),
    ):
        page.goto(partner_app.url + "/")
        page.get_by_role("link", name="Connect").click()
        page.evaluate(
            """id => {
                const input = document.createElement("input");
                input.type = "hidden"; input.name = "organization"; input.value = id;
                document.querySelector("form[action='/api/auth/mcp/consent']").append(input);
                document.querySelector("button[value='authorize']").disabled = false;
            }""",
            organization_id,
        )
        with page.expect_response(lambda r: r.url.endswith("/api/auth/mcp/consent")) as answered:
            page.get_by_role("button", name="Authorize").click()
        assert answered.value.status == 400
        expect(page.get_by_text(reason)).to_be_visible()
    fits(page, f"{shot}-tampered.png", save_screenshot)

    assert run_async(_grant_count(live_server.settings)) == 0

    # Once Ada approves the app on Acme's page, Acme is offered; Globex still is not.
    page.goto(live_server.url + "/orgs/acme/app-policy")
    approved = page.locator("section.card").filter(has_text="Approved apps")
    approved.get_by_label("Client id of the app").fill(partner_app.config.client_id)
    approved.get_by_role("button", name="Approve app").click()
    expect(page.get_by_role("status")).to_have_text("Policy saved.")
    expect(approved.locator(".app-list")).to_contain_text("Example Partner App")
    page.goto(partner_app.url + "/")
    page.get_by_role("link", name="Connect").click()
    expect(page.get_by_role("checkbox", name="Acme Corp")).to_be_enabled()
    expect(page.get_by_role("checkbox", name="Globex")).to_be_disabled()
    fits(page, f"{shot}-allowed.png", save_screenshot)


async def _grant_count(settings: Settings) -> int:
    services = Services.build(settings, clock=SystemClock())
    try:
        async with services.db.transaction(readonly=True) as conn:
            return len(await grants.list_grants(conn))
    finally:
        await services.db.dispose()
