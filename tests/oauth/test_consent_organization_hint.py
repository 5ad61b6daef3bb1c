"""``organization_hint`` at authorize pre-selects one organization on the consent screen;
organizations the client already holds a live grant for are labelled Connected."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest
from authorize_flow import (
    World,
    authorize_params,
    checkboxes,
    make_world,
    query_of,
    services_of,
    sign_in_browser,
    start_authorization,
)

from i18n_connect import grants

CONSENT = "/api/auth/mcp/consent"


@pytest.fixture
async def world(app_client: httpx.AsyncClient) -> World:
    return await make_world(services_of(app_client))


async def _consent_after(client: httpx.AsyncClient, world: World, hint: str) -> httpx.Response:
    await sign_in_browser(client, world.alice)  # owner of Acme, admin of Globex
    response = await client.get(
        "/api/auth/mcp/authorize",
        params=authorize_params(client_id=world.client_id, organization_hint=hint),
        follow_redirects=False,
    )
    assert response.status_code == 303
    path, query = query_of(response.headers["location"])
    assert path == CONSENT
    page = await client.get(response.headers["location"])
    assert page.status_code == 200
    assert dict(query).get("organization_hint") == (hint if 0 < len(hint) <= 64 else None)
    return page


@pytest.mark.parametrize("by", ["id", "slug"])
async def test_the_hinted_organization_is_ticked(
    app_client: httpx.AsyncClient, world: World, by: str
) -> None:
    page = await _consent_after(app_client, world, world.globex if by == "id" else "globex")
    assert checkboxes(page.text, "organization") == {world.acme: False, world.globex: True}


@pytest.mark.parametrize(
    "hint",
    ["initech", "umbrella", "org_unknown", "", "<script>alert(1)</script>", "globex" + "x" * 64],
    ids=["only-a-member", "a-stranger", "unknown", "empty", "markup", "too-long"],
)
async def test_a_hint_the_user_may_not_connect_ticks_nothing_and_is_not_echoed(
    app_client: httpx.AsyncClient, world: World, hint: str
) -> None:
    page = await _consent_after(app_client, world, hint)
    assert checkboxes(page.text, "organization") == {world.acme: False, world.globex: False}
    assert "alert(1)" not in page.text


async def test_the_hint_survives_signing_in(app_client: httpx.AsyncClient, world: World) -> None:
    signed_out = await app_client.get(
        "/api/auth/mcp/authorize",
        params=authorize_params(client_id=world.client_id, organization_hint="globex"),
        follow_redirects=False,
    )
    assert signed_out.status_code == 303
    assert quote("organization_hint=globex", safe="") in signed_out.headers["location"]


async def test_organizations_with_a_live_grant_of_the_client_are_labelled_connected(
    app_client: httpx.AsyncClient, world: World
) -> None:
    services = services_of(app_client)
    async with services.db.transaction() as conn:
        await grants.consent(  # Bob, the owner, connected Globex; Alice sees it as Connected
            conn,
            user_id=world.bob,
            client_id=world.client_id,
            organization_ids=[world.globex],
            scope=["org:read"],
            now=services.clock.now(),
        )
    await sign_in_browser(app_client, world.alice)
    request_id = await start_authorization(app_client, world.client_id)
    page = await app_client.get(CONSENT, params={"request_id": request_id})
    assert page.text.count(">Connected</span>") == 1
    globex_row = page.text.split(f'value="{world.globex}"')[1].split("</label>")[0]
    assert ">Connected</span>" in globex_row
