"""The SDK against a real ``i18n-connect serve`` process: the whole partner flow over HTTP.

The user's part (login, consent, "Continue to your app") is played with plain
HTTP requests and the CSRF tokens parsed from the pages.
"""

from __future__ import annotations

import asyncio
import html
import re
from urllib.parse import urljoin

import httpx
import pytest
from client_e2e_support import REDIRECT_URI, RunningServer

from i18n_connect.client import (
    AccessDenied,
    AuthorizationSession,
    ConnectClient,
    GrantRevoked,
    InstallationToken,
    InstallationTokenCache,
    InvalidClient,
    InvalidGrant,
    InvalidToken,
    MissingScope,
    TokenSet,
    WrongOrganization,
)

SCOPES = ["org:read", "projects:read", "keys:read", "keys:write", "translations:read"]
SCOPES += ["translations:write", "translations:publish", "glossary:read"]


def _field(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no {name} in the page"
    return html.unescape(match[1])


async def play_consent(
    server: RunningServer,
    session: AuthorizationSession,
    *,
    organizations: list[str],
    scopes: list[str],
    action: str = "authorize",
) -> str:
    """Log in, answer the consent form, click Continue: the callback URL the app receives."""
    async with httpx.AsyncClient(base_url=server.issuer) as browser:
        response = await browser.get(session.url)
        assert response.status_code == 303
        login_url = urljoin(server.issuer, response.headers["location"])
        login_page = await browser.get(login_url)
        response = await browser.post(
            "/login",
            data={
                "email": server.email,
                "password": server.password,
                "csrf_token": _field(login_page.text, "csrf_token"),
                "next": _field(login_page.text, "next"),
            },
        )
        assert response.status_code == 303, response.text
        consent_page = await browser.get(response.headers["location"], follow_redirects=True)
        assert consent_page.status_code == 200
        form = [
            ("request_id", _field(consent_page.text, "request_id")),
            ("csrf_token", _field(consent_page.text, "csrf_token")),
            ("action", action),
            *(("organization", server.organizations[slug]) for slug in organizations),
            *(("scope", scope) for scope in scopes),
        ]
        response = await browser.post(
            "/api/auth/mcp/consent",
            content=str(httpx.QueryParams(form)),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 303, response.text
        location = response.headers["location"]
        if action == "deny":
            return location
        complete = await browser.get(location)
        assert complete.status_code == 200 and "Continue to your app" in complete.text
        href = re.search(r'href="([^"]+)"\s+rel="noreferrer">Continue to your app', complete.text)
        assert href
        location = urljoin(server.issuer, html.unescape(href[1]))
        while not location.startswith(REDIRECT_URI):
            response = await browser.get(location)
            assert response.is_redirect, response.text
            location = urljoin(server.issuer, response.headers["location"])
        return location


async def connect(
    server: RunningServer, client: ConnectClient, organizations: list[str], scopes: list[str]
) -> TokenSet:
    session = client.start_authorization(REDIRECT_URI, SCOPES)
    callback = await play_consent(server, session, organizations=organizations, scopes=scopes)
    return await client.complete_authorization(session, callback, require_iss=True)


async def test_full_partner_flow_with_two_organizations(running_server: RunningServer) -> None:
    server = running_server
    async with ConnectClient(server.issuer, server.client_id) as client:
        granted = [s for s in SCOPES if s != "keys:read"]  # the user unticks one
        tokens = await connect(server, client, ["acme", "globex"], granted)
        assert [g.organization_id for g in tokens.grants] == [
            server.organizations["acme"],
            server.organizations["globex"],
        ]
        assert all(g.refresh_token.startswith("rt_") for g in tokens.grants)
        assert set(tokens.grants[0].scope) == set(granted)
        assert tokens.expires_in == 1800 and tokens.token_type == "Bearer"

        me = await client.me(tokens.access_token)
        assert me["user"]["email"] == server.email
        assert {g["grant_id"] for g in me["grants"]} == {g.grant_id for g in tokens.grants}

        acme, globex = tokens.grants
        minted = await client.mint_installation_token(tokens.access_token, acme.grant_id)
        assert minted.token.startswith("bi_oat_") and minted.expires_in == 3600
        api = client.partner_api(minted.token)
        assert [o["slug"] for o in await api.organizations()] == ["acme"]
        projects = await api.projects(acme.organization_id)
        assert [p["slug"] for p in projects] == ["website"]
        project_id = projects[0]["id"]

        created = await api.create_keys(project_id, [{"name": "home.title"}])
        assert [k["name"] for k in created] == ["home.title"]
        written = await api.set_translations(project_id, "de", {"home.title": "Startseite"})
        assert written == {"language": "de", "written": 1}
        assert await api.publish(project_id, ["de"]) == 1
        texts = await api.translations(project_id, "de")
        assert texts["translations"][0]["published"] == "Startseite"
        assert await api.glossary(project_id) == []

        with pytest.raises(MissingScope) as missing:
            await api.keys(project_id)  # keys:read was unticked on consent
        assert (missing.value.status, missing.value.required) == (403, "keys:read")
        with pytest.raises(WrongOrganization):
            await api.projects(globex.organization_id)
        with pytest.raises(InvalidToken):
            await client.partner_api(tokens.access_token).organizations()


async def test_refresh_rotates_and_a_reused_token_revokes_the_chain(
    running_server: RunningServer,
) -> None:
    server = running_server
    async with ConnectClient(server.issuer, server.client_id) as client:
        tokens = await connect(server, client, ["acme"], SCOPES)
        stored: list[str] = []

        first = await client.refresh(
            tokens.refresh_token, persist=lambda t: stored.append(t.refresh_token)
        )
        assert stored == [first.refresh_token] and first.refresh_token != tokens.refresh_token
        assert first.grant_id == tokens.grant_id
        # The response was "lost": the same token is accepted again, for the same successor.
        again = await client.refresh(
            tokens.refresh_token, persist=lambda t: stored.append(t.refresh_token)
        )
        assert again.refresh_token == first.refresh_token
        second = await client.refresh(
            again.refresh_token, persist=lambda t: stored.append(t.refresh_token)
        )
        # Presenting an older token now is reuse: the whole chain dies.
        with pytest.raises(InvalidGrant) as reused:
            await client.refresh(tokens.refresh_token, persist=lambda t: stored.append("never"))
        assert reused.value.status == 400
        with pytest.raises(InvalidGrant):
            await client.refresh(second.refresh_token, persist=lambda t: stored.append("never"))
        assert "never" not in stored


async def test_revoked_grant_answers_410_to_mints_and_installation_tokens(
    running_server: RunningServer,
) -> None:
    server = running_server
    async with ConnectClient(server.issuer, server.client_id) as client:
        tokens = await connect(server, client, ["acme", "globex"], SCOPES)
        acme, globex = tokens.grants
        token = await client.mint_installation_token(tokens.access_token, acme.grant_id)
        await client.revoke_grant(tokens.access_token, acme.grant_id)
        await client.revoke_grant(tokens.access_token, acme.grant_id)  # idempotent
        with pytest.raises(GrantRevoked) as revoked:
            await client.partner_api(token.token).organizations()
        assert revoked.value.status == 410
        with pytest.raises(GrantRevoked):
            await client.mint_installation_token(tokens.access_token, acme.grant_id)
        with pytest.raises(InvalidGrant):
            await client.refresh(acme.refresh_token, persist=lambda t: None)
        other = await client.mint_installation_token(tokens.access_token, globex.grant_id)
        assert [o["slug"] for o in await client.partner_api(other.token).organizations()] == [
            "globex"
        ]


async def test_rfc7009_revocation_of_a_refresh_token_ends_its_chain(
    running_server: RunningServer,
) -> None:
    server = running_server
    async with ConnectClient(server.issuer, server.client_id) as client:
        tokens = await connect(server, client, ["acme"], SCOPES)
        await client.revoke_token(tokens.refresh_token, token_type_hint="refresh_token")
        with pytest.raises(InvalidGrant):
            await client.refresh(tokens.refresh_token, persist=lambda t: None)


async def test_code_is_single_use(running_server: RunningServer) -> None:
    server = running_server
    async with ConnectClient(server.issuer, server.client_id) as client:
        session = client.start_authorization(REDIRECT_URI, SCOPES)
        callback = await play_consent(server, session, organizations=["acme"], scopes=SCOPES)
        await client.complete_authorization(session, callback, require_iss=True)
        with pytest.raises(InvalidGrant):
            await client.complete_authorization(session, callback, require_iss=True)


async def test_denied_consent_reaches_the_app_as_access_denied(
    running_server: RunningServer,
) -> None:
    server = running_server
    async with ConnectClient(server.issuer, server.client_id) as client:
        session = client.start_authorization(REDIRECT_URI, SCOPES)
        callback = await play_consent(server, session, organizations=[], scopes=[], action="deny")
        with pytest.raises(AccessDenied):
            session.code_from_callback(callback, require_iss=True)


async def test_cache_mints_once_for_concurrent_callers_against_the_server(
    running_server: RunningServer,
) -> None:
    server = running_server
    async with ConnectClient(server.issuer, server.client_id) as client:
        tokens = await connect(server, client, ["acme"], SCOPES)
        cache = InstallationTokenCache()
        mints = 0

        async def mint() -> InstallationToken:
            nonlocal mints
            mints += 1
            return await client.mint_installation_token(tokens.access_token, tokens.grant_id)

        results = await asyncio.gather(
            *(cache.get(tokens.grant_id, tokens.organization_id, mint) for _ in range(50))
        )
        assert mints == 1 and len({r.token for r in results}) == 1
        assert [o["slug"] for o in await client.partner_api(results[0].token).organizations()] == [
            "acme"
        ]


async def test_confidential_client_authenticates_with_its_secret(
    running_server: RunningServer,
) -> None:
    server = running_server
    async with ConnectClient(
        server.issuer, server.confidential_id, client_secret=server.confidential_secret
    ) as client:
        tokens = await connect(server, client, ["globex"], SCOPES)
        assert tokens.organization_id == server.organizations["globex"]
        refreshed = await client.refresh(tokens.refresh_token, persist=lambda t: None)
        assert refreshed.grant_id == tokens.grant_id
    async with ConnectClient(
        server.issuer, server.confidential_id, client_secret="cs_wrong"
    ) as impostor:
        with pytest.raises(InvalidClient) as caught:
            await impostor.refresh(refreshed.refresh_token, persist=lambda t: None)
        assert caught.value.status == 401
    async with ConnectClient(server.issuer, server.confidential_id) as no_secret:
        with pytest.raises(InvalidClient):
            await no_secret.refresh(refreshed.refresh_token, persist=lambda t: None)
