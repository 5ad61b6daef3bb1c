"""Authorizing for the MCP server of one organization (``resource=<issuer>/mcp/o/{org_slug}``,
RFC 8707): the consent screen offers that organization only, or explains why it cannot; the
code, the access token and the refresh token are bound to that resource."""

from __future__ import annotations

from urllib.parse import parse_qsl

import httpx
import pytest
from authorize_flow import (
    LOOPBACK,
    VERIFIER,
    World,
    authorize_params,
    button_disabled,
    checkboxes,
    csrf_from,
    make_world,
    query_of,
    services_of,
    sign_in_browser,
    start_authorization,
    stored_state,
)

CONSENT = "/api/auth/mcp/consent"
GLOBEX = "http://testserver/mcp/o/globex"


@pytest.fixture
async def world(app_client: httpx.AsyncClient) -> World:
    return await make_world(services_of(app_client))


async def consent_page(client: httpx.AsyncClient, world: World, resource: str) -> tuple[str, str]:
    """Alice (owner of Acme, admin of Globex, member of Initech) opens the consent page."""
    await sign_in_browser(client, world.alice)
    request_id = await start_authorization(
        client, world.client_id, resource=resource, redirect_uri=LOOPBACK
    )
    page = await client.get(CONSENT, params={"request_id": request_id})
    assert page.status_code == 200
    return request_id, page.text


async def submit(
    client: httpx.AsyncClient, request_id: str, csrf: str, organizations: list[str]
) -> httpx.Response:
    form = [("request_id", request_id), ("csrf_token", csrf), ("action", "authorize")]
    form += [("organization", org) for org in organizations] + [("scope", "keys:read")]
    return await client.post(
        CONSENT,
        content=str(httpx.QueryParams(form)),
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )


async def test_consent_offers_the_organization_of_the_resource_only(
    app_client: httpx.AsyncClient, world: World
) -> None:
    _, html = await consent_page(app_client, world, GLOBEX)
    assert checkboxes(html, "organization") == {world.globex: True}
    assert "This connection is for this organization only." in html
    assert not button_disabled(html, "authorize")


async def test_another_organization_slipped_into_the_answer_is_refused(
    app_client: httpx.AsyncClient, world: World
) -> None:
    request_id, html = await consent_page(app_client, world, GLOBEX)
    refused = await submit(app_client, request_id, csrf_from(html), [world.acme])
    assert refused.status_code == 400
    assert (await stored_state(services_of(app_client)))["grants"] == 0


@pytest.mark.parametrize("slug", ["initech", "umbrella", "nowhere"])
async def test_an_organization_the_user_cannot_connect_is_explained_and_only_deny_is_left(
    app_client: httpx.AsyncClient, world: World, slug: str
) -> None:
    request_id, html = await consent_page(app_client, world, f"http://testserver/mcp/o/{slug}")
    assert checkboxes(html, "organization") == {}
    assert f"asked to connect the organization <code>{slug}</code>" in html
    assert button_disabled(html, "authorize")
    incomplete = await submit(app_client, request_id, csrf_from(html), [])
    assert incomplete.status_code == 422
    assert f"This connection is for the organization {slug} only" in incomplete.text
    assert (await stored_state(services_of(app_client)))["grants"] == 0


@pytest.mark.parametrize(
    "resource",
    [
        "http://testserver/mcp/o/Globex",
        "http://testserver/mcp/o/globex/",
        "http://testserver/mcp/o/g",
        "http://testserver/mcp/o/",
        "https://evil.example/mcp/o/globex",
    ],
)
async def test_a_malformed_organization_resource_is_an_invalid_target(
    app_client: httpx.AsyncClient, world: World, resource: str
) -> None:
    await sign_in_browser(app_client, world.alice)
    response = await app_client.get(
        "/api/auth/mcp/authorize",
        params=authorize_params(client_id=world.operator_client_id, resource=resource),
        follow_redirects=False,
    )
    assert response.status_code == 302
    _, query = query_of(response.headers["location"])
    assert dict(query)["error"] == "invalid_target"


async def test_tokens_are_bound_to_the_organizations_resource(
    app_client: httpx.AsyncClient, world: World
) -> None:
    request_id, html = await consent_page(app_client, world, GLOBEX)
    approved = await submit(app_client, request_id, csrf_from(html), [world.globex])
    assert approved.status_code == 303
    complete = await app_client.get(approved.headers["location"])
    href = complete.text.split(f'href="{LOOPBACK}?', 1)[1].split('"', 1)[0]
    code = dict(parse_qsl(href.replace("&amp;", "&")))["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": LOOPBACK,
        "client_id": world.client_id,
        "code_verifier": VERIFIER,
        "resource": GLOBEX,
    }
    exchanged = await app_client.post("/api/auth/mcp/token", data=form)
    assert exchanged.status_code == 200, exchanged.text
    body = exchanged.json()
    assert [grant["organization_id"] for grant in body["grants"]] == [world.globex]
    tokens = services_of(app_client).tokens
    claims = await tokens.verify(body["access_token"], audience=GLOBEX)
    assert claims.grant_ids == (body["grant_id"],)

    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": body["refresh_token"],
        "client_id": world.client_id,
    }
    elsewhere = await app_client.post(
        "/api/auth/mcp/token", data={**refresh, "resource": "http://testserver/mcp/o/acme"}
    )
    assert (elsewhere.status_code, elsewhere.json()["error"]) == (400, "invalid_target")
    renewed = await app_client.post("/api/auth/mcp/token", data=refresh)
    assert renewed.status_code == 200, renewed.text
    assert (await tokens.verify(renewed.json()["access_token"], audience=GLOBEX)).aud == GLOBEX
