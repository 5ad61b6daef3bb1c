"""A member asks to connect an app and connects it once an owner approved, choosing one project,
in Chromium on a 375 px phone and a 1280 px desktop: the consent screen shows the organization
disabled with "Ask an owner", the owner signs in to a header badge that leads to the request
and its note on the App policy page, the member is told of the approval in the header, and the
member's grant covers only the project she chose."""

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
from i18n_connect.platform.accounts import create_user
from i18n_connect.platform.organizations import add_member, get_organization_by_slug
from i18n_connect.platform.projects import get_project_by_slug
from i18n_connect.services import Services
from i18n_connect.settings import Settings

pytestmark = pytest.mark.browser

WIDTHS = {"phone": 375, "desktop": 1280}
MEMBER = "max@example.com"
PASSWORD = "member password"


async def _member_of_acme(settings: Settings) -> tuple[str, str]:
    """Max, a member of Acme Corp: Acme's id and its "website" project's id."""
    services = Services.build(settings, clock=SystemClock())
    now = services.clock.now()
    try:
        async with services.db.transaction() as conn:
            user = await create_user(conn, email=MEMBER, password=PASSWORD, name="Max", now=now)
            acme = await get_organization_by_slug(conn, "acme")
            assert acme is not None
            await add_member(conn, organization_id=acme.id, user_id=user.id, role="member", now=now)
            website = await get_project_by_slug(conn, acme.id, "website")
            assert website is not None
        return acme.id, website.id
    finally:
        await services.db.dispose()


async def _grant_projects(settings: Settings, organization_id: str) -> list[object]:
    services = Services.build(settings, clock=SystemClock())
    try:
        async with services.db.transaction(readonly=True) as conn:
            found = await grants.list_grants(conn, organization_id=organization_id)
        return [grant.project_ids for grant in found]
    finally:
        await services.db.dispose()


def _page(browser: Browser, width: int) -> Page:
    context = browser.new_context(viewport={"width": width, "height": 800})
    context.set_default_timeout(10_000)
    return context.new_page()


def _connect_from_partner_app(page: Page, partner_app: PartnerApp, email: str | None) -> None:
    page.goto(partner_app.url + "/")
    if page.get_by_label("Email").count():
        page.get_by_label("Email").fill(PARTNER_EMAIL)
        page.get_by_label("Password").fill(PARTNER_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Connect").first.click()
    if email is not None:
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_member_asks_owner_approves_member_connects_one_project(
    live_server: LiveServer,
    partner_app: PartnerApp,
    browser: Browser,
    save_screenshot: Screenshot,
    width: int,
) -> None:
    shot = f"requests-{width}"
    acme_id, website_id = run_async(_member_of_acme(live_server.settings))
    member = _page(browser, width)
    owner = _page(browser, width)
    try:
        _connect_from_partner_app(member, partner_app, MEMBER)
        acme = member.get_by_role("checkbox", name="Acme Corp")
        expect(acme).to_be_disabled()
        expect(
            member.get_by_text("Only owners and admins of Acme Corp can connect apps")
        ).to_be_visible()
        member.get_by_text("Ask an owner of Acme Corp").click()
        member.get_by_label("Note for the owners (optional)").fill(
            "For the website's German launch"
        )
        fits(member, f"{shot}-ask.png", save_screenshot)
        member.get_by_role("button", name="Send request").click()
        expect(member.get_by_role("status").filter(has_text="You asked its owners")).to_be_visible()
        fits(member, f"{shot}-asked.png", save_screenshot)

        owner.goto(live_server.url + "/")
        owner.get_by_label("Email").fill(live_server.email)
        owner.get_by_label("Password").fill(live_server.password)
        owner.get_by_role("button", name="Sign in").click()
        badge = owner.get_by_role("navigation", name="Account").get_by_role(
            "link", name="1 app request"
        )
        expect(badge).to_be_visible()
        fits(owner, f"{shot}-badge.png", save_screenshot)
        badge.click()
        expect(owner).to_have_url(live_server.url + "/orgs/acme/app-policy#requests-title")
        request = owner.locator("li[data-request-id]")
        expect(request).to_contain_text("Max")
        expect(request).to_contain_text("For the website's German launch")
        fits(owner, f"{shot}-pending.png", save_screenshot)
        request.get_by_role("button", name="Approve").click()
        expect(owner.locator("li[data-request-id]")).to_contain_text("Approved")
        expect(owner.get_by_role("link", name="1 app request")).to_have_count(0)

        member.goto(live_server.url + "/")
        told = member.get_by_role("link", name="App request approved")
        expect(told).to_be_visible()
        fits(member, f"{shot}-told-header.png", save_screenshot)
        told.click()
        expect(member.get_by_text("connect again to finish")).to_be_visible()
        fits(member, f"{shot}-told.png", save_screenshot)
        _connect_from_partner_app(member, partner_app, None)
        expect(member.get_by_role("checkbox", name="Acme Corp")).to_be_checked()
        expect(member.get_by_text("Request approved", exact=True)).to_be_visible()
        projects = member.get_by_role("radiogroup", name="Projects of Acme Corp")
        projects.get_by_role("radio", name="Only these projects:").check()
        projects.get_by_role("checkbox", name="Marketing website").check()
        fits(member, f"{shot}-consent.png", save_screenshot)
        member.get_by_role("button", name="Authorize").click()
        expect(member.get_by_text("Connection complete")).to_be_visible()
        assert run_async(_grant_projects(live_server.settings, acme_id)) == [(website_id,)]
        member.goto(live_server.url + "/")
        expect(member.get_by_role("link", name="App request approved")).to_have_count(0)
    finally:
        member.context.close()
        owner.context.close()
