"""The Connected apps page: listing, revoking one's own grants, administrators revoking
members' grants, CSRF, and agreement with /api/oauth-client/me."""

from __future__ import annotations

import re

import httpx
from api_world import ALL_SCOPES, World
from argon2 import PasswordHasher
from sqlalchemy import select, update

from i18n_connect import grants as grant_lifecycle
from i18n_connect.clock import FrozenClock
from i18n_connect.platform.organizations import add_member
from i18n_connect.scopes import CATALOG
from i18n_connect.storage.oauth_tables import grants, oauth_clients
from i18n_connect.storage.tables import audit_events, users
from i18n_connect.web.templates import utc_iso, utc_text

PAGE = "/settings/connected-apps"
PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def sign_in(world: World, email: str) -> httpx.AsyncClient:
    """A client of the same app with its own cookie jar, signed in as ``email``."""
    async with world.services.db.transaction() as conn:
        await conn.execute(
            update(users)
            .where(users.c.email == email)
            .values(password_hash=PasswordHasher().hash(PASSWORD))
        )
    browser = httpx.AsyncClient(transport=world.http._transport, base_url=str(world.http.base_url))
    form = await browser.get("/login")
    csrf = _CSRF.search(form.text)
    assert csrf
    done = await browser.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf.group(1), "next": PAGE},
    )
    assert done.status_code == 303, done.text
    return browser


def grant_ids(html: str) -> list[str]:
    return re.findall(r'data-grant-id="([^"]+)"', html)


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match
    return match.group(1)


async def is_revoked(world: World, grant_id: str) -> bool:
    async with world.services.db.transaction(readonly=True) as conn:
        return (
            await conn.scalar(select(grants.c.revoked_at).where(grants.c.id == grant_id))
            is not None
        )


async def test_signed_out_visitors_are_sent_to_login(world: World) -> None:
    response = await world.http.get(PAGE)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/settings/connected-apps"


async def test_the_page_lists_the_users_grants_like_me_does(
    world: World, clock: FrozenClock
) -> None:
    ada = await sign_in(world, "ada@example.com")
    page = await ada.get(PAGE)
    assert page.status_code == 200
    assert grant_ids(page.text) == [world.grants["acme"], world.grants["globex"]]
    assert world.grants["initech"] not in page.text
    assert "Partner App" in page.text and "Acme" in page.text and "Globex" in page.text
    assert all(f'title="{scope}' in page.text for scope in ALL_SCOPES)  # code on hover
    assert all(f">{CATALOG[scope].title}</li>" in page.text for scope in ALL_SCOPES)
    assert page.text.count("Never") == 2
    access = await world.access_token(("acme", "globex"))
    me = await world.http.get("/api/oauth-client/me", headers={"Authorization": f"Bearer {access}"})
    assert sorted(g["grant_id"] for g in me.json()["grants"]) == sorted(grant_ids(page.text))
    token = await world.mint()
    clock.advance(minutes=5)
    await world.http.get("/api/oauth-client/organizations", headers={"x-api-key": token})
    used = await ada.get(PAGE)
    assert used.text.count("Never") == 1
    assert f'datetime="{utc_iso(clock.now())}"' in used.text
    assert f'title="{utc_text(clock.now())}"' in used.text
    await ada.aclose()


async def test_revoking_from_the_page_stops_the_app_at_once(world: World) -> None:
    token = await world.mint()
    ada = await sign_in(world, "ada@example.com")
    page = await ada.get(PAGE)
    response = await ada.post(
        f"{PAGE}/{world.grants['acme']}/revoke", data={"csrf_token": csrf_of(page.text)}
    )
    assert (response.status_code, response.headers["location"]) == (
        303,
        f"{PAGE}?revoked={world.grants['acme']}",
    )
    refused = await world.http.get("/api/oauth-client/organizations", headers={"x-api-key": token})
    assert (refused.status_code, refused.json()["error"]) == (410, "grant_revoked")
    after = await ada.get(response.headers["location"])
    assert "Access revoked: Partner App can no longer reach Acme" in after.text
    assert grant_ids(after.text) == [world.grants["globex"]]
    async with world.services.db.transaction(readonly=True) as conn:
        event = (
            await conn.execute(select(audit_events).where(audit_events.c.action == "grant.revoked"))
        ).one()
    assert (event.actor, event.grant_id, event.detail) == (
        world.ada,
        world.grants["acme"],
        {"reason": "connected_apps"},
    )
    metrics = (await world.http.get("/metrics")).text
    assert 'i18n_connect_grants_revoked_total{via="connected_apps"} 1.0' in metrics
    await ada.aclose()


async def test_the_revoked_notice_names_only_a_revoked_grant_the_user_may_see(
    world: World,
) -> None:
    ada = await sign_in(world, "ada@example.com")
    page = await ada.get(PAGE)
    await ada.post(f"{PAGE}/{world.grants['acme']}/revoke", data={"csrf_token": csrf_of(page.text)})
    bob = await sign_in(world, "bob@example.com")  # owner of initech, not in acme
    for viewer, revoked in [
        (bob, world.grants["acme"]),  # revoked, but of an organization bob cannot see
        (ada, world.grants["globex"]),  # ada's own, still live
        (ada, "grt_unknown"),
        (ada, "x" * 65),
    ]:
        shown = await viewer.get(PAGE, params={"revoked": revoked})
        assert shown.status_code == 200
        assert "Access revoked" not in shown.text
    await ada.aclose()
    await bob.aclose()


async def test_revoking_without_the_csrf_token_changes_nothing(world: World) -> None:
    ada = await sign_in(world, "ada@example.com")
    for data in ({}, {"csrf_token": "forged"}):
        response = await ada.post(f"{PAGE}/{world.grants['acme']}/revoke", data=data)
        assert response.status_code == 403
    assert not await is_revoked(world, world.grants["acme"])
    await ada.aclose()


async def test_grants_of_organizations_one_does_not_administer_cannot_be_revoked(
    world: World,
) -> None:
    ada = await sign_in(world, "ada@example.com")
    csrf = csrf_of((await ada.get(PAGE)).text)
    for grant_id in (world.grants["initech"], "grt_unknown"):
        response = await ada.post(f"{PAGE}/{grant_id}/revoke", data={"csrf_token": csrf})
        assert response.status_code == 404
    assert not await is_revoked(world, world.grants["initech"])
    await ada.aclose()


async def test_owners_see_and_revoke_members_grants_but_members_cannot(world: World) -> None:
    now = world.services.clock.now()
    async with world.services.db.transaction() as conn:
        await add_member(
            conn, organization_id=world.orgs["initech"], user_id=world.ada, role="admin", now=now
        )
        [ada_on_initech] = await grant_lifecycle.consent(
            conn,
            user_id=world.ada,
            client_id=world.client_id,
            organization_ids=[world.orgs["initech"]],
            scope=["org:read"],
            now=now,
        )
        await add_member(
            conn, organization_id=world.orgs["acme"], user_id=world.bob, role="member", now=now
        )
    bob = await sign_in(world, "bob@example.com")  # owner of initech, plain member of acme
    page = await bob.get(PAGE)
    assert grant_ids(page.text) == [world.grants["initech"], ada_on_initech.id]
    assert "ada@example.com" in page.text
    csrf = csrf_of(page.text)
    refused = await bob.post(f"{PAGE}/{world.grants['acme']}/revoke", data={"csrf_token": csrf})
    assert refused.status_code == 404
    assert not await is_revoked(world, world.grants["acme"])
    done = await bob.post(f"{PAGE}/{ada_on_initech.id}/revoke", data={"csrf_token": csrf})
    assert done.status_code == 303
    assert await is_revoked(world, ada_on_initech.id)
    async with world.services.db.transaction(readonly=True) as conn:
        event = (
            await conn.execute(
                select(audit_events).where(
                    audit_events.c.grant_id == ada_on_initech.id,
                    audit_events.c.action == "grant.revoked",
                )
            )
        ).one()
    assert (event.actor, event.detail) == (world.bob, {"reason": "connected_apps.admin"})
    await bob.aclose()


async def test_self_registered_apps_carry_the_unverified_mark(world: World) -> None:
    ada = await sign_in(world, "ada@example.com")
    row = re.compile(r'<tr data-grant-id="([^"]+)">\s*<td class="app__name">(.*?)</td>', re.S)
    assert row.findall((await ada.get(PAGE)).text) == [
        (world.grants["acme"], "Partner App"),
        (world.grants["globex"], "Partner App"),
    ]
    async with world.services.db.transaction() as conn:
        await conn.execute(
            update(oauth_clients)
            .where(oauth_clients.c.id == world.client_id)
            .values(origin="registration", verified=False)
        )
    marked = (
        'Partner App <span class="badge badge--unverified" title="This app registered itself">'
        "Unverified</span>"
    )
    assert row.findall((await ada.get(PAGE)).text) == [
        (world.grants["acme"], marked),
        (world.grants["globex"], marked),
    ]
