"""The README's first flow, driven by what the demo prints: sign in with the printed password,
follow the printed authorize link through consent, exchange the code with the printed verifier,
mint an installation token and call the partner API."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from i18n_connect.demo import DEMO_SCOPE, REDIRECT_URI, DemoSeed, seed, welcome_text
from i18n_connect.platform import accounts
from i18n_connect.platform import organizations as orgs
from i18n_connect.services import Services


def _field(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found is not None, f"no {name} field"
    return html.unescape(found[1])


async def _connect(app_client: httpx.AsyncClient) -> tuple[DemoSeed, dict[str, Any]]:
    """Follow the demo's printed login and authorize link; the token response."""
    services: Services = app_client.app.state.services  # type: ignore[attr-defined]
    seeded = await seed(services)
    text = welcome_text(seeded, str(app_client.base_url).rstrip("/"))
    link = re.search(r"open   (\S+)", text)
    verifier = re.search(r"code_verifier=(\S+)", text)
    assert link is not None and verifier is not None

    started = await app_client.get(link[1])
    assert started.status_code == 303
    login_page = await app_client.get(started.headers["location"])
    assert login_page.status_code == 200
    signed_in = await app_client.post(
        "/login",
        data={
            "email": seeded.email,
            "password": seeded.password or "",
            "csrf_token": _field(login_page.text, "csrf_token"),
            "next": _field(login_page.text, "next"),
        },
    )
    assert signed_in.status_code == 303
    consent = await app_client.get(signed_in.headers["location"], follow_redirects=True)
    assert consent.status_code == 200
    offered = re.findall(r'type="checkbox" name="organization" value="([^"]+)"', consent.text)
    assert len(offered) == 2  # Acme and Globex; Initech (member only) is not offered
    scopes = re.findall(r'name="scope" value="([^"]+)"', consent.text)
    assert set(scopes) == set(DEMO_SCOPE.split(" "))
    authorized = await app_client.post(
        "/api/auth/mcp/consent",
        data={
            "request_id": _field(consent.text, "request_id"),
            "csrf_token": _field(consent.text, "csrf_token"),
            "organization": offered,
            "scope": scopes,
            "action": "authorize",
        },
    )
    assert authorized.status_code == 303
    complete = await app_client.get(authorized.headers["location"])
    continue_uri = re.search(rf'href="({re.escape(REDIRECT_URI)}\?[^"]+)"', complete.text)
    assert continue_uri is not None
    code = parse_qs(urlsplit(html.unescape(continue_uri[1])).query)["code"][0]

    token = await app_client.post(
        "/api/auth/mcp/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": seeded.client_id,
            "code_verifier": verifier[1],
            "redirect_uri": REDIRECT_URI,
        },
    )
    assert token.status_code == 200, token.text
    return seeded, token.json()


async def test_the_printed_login_and_authorize_link_complete_a_flow(
    app_client: httpx.AsyncClient,
) -> None:
    _, body = await _connect(app_client)
    assert len(body["grants"]) == 2
    minted = await app_client.post(
        f"/api/oauth-client/installations/{body['grant_id']}/tokens",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert minted.status_code == 201, minted.text
    installation = minted.json()["installation_token"]
    organizations = await app_client.get(
        "/api/oauth-client/organizations", headers={"x-api-key": installation}
    )
    assert organizations.status_code == 200
    assert [org["id"] for org in organizations.json()["organizations"]] == [body["organization_id"]]


async def test_demoting_the_demo_user_cuts_off_the_app_at_once(
    app_client: httpx.AsyncClient,
) -> None:
    seeded, body = await _connect(app_client)
    services: Services = app_client.app.state.services  # type: ignore[attr-defined]
    async with services.db.transaction(readonly=True) as conn:
        globex = await orgs.get_organization_by_slug(conn, "globex")
        user = await accounts.get_user_by_email(conn, seeded.email)
    assert globex is not None and user is not None
    grant = next(g for g in body["grants"] if g["organization_id"] == globex.id)
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    minted = await app_client.post(
        f"/api/oauth-client/installations/{grant['grant_id']}/tokens", headers=bearer
    )
    installation = {"x-api-key": minted.json()["installation_token"]}
    assert (
        await app_client.get("/api/oauth-client/organizations", headers=installation)
    ).status_code == 200

    async with services.db.transaction() as conn:
        await orgs.set_role(
            conn,
            organization_id=globex.id,
            user_id=user.id,
            role="member",
            now=services.clock.now(),
            actor="test",
        )

    cut = await app_client.get("/api/oauth-client/organizations", headers=installation)
    assert (cut.status_code, cut.json()["error"]) == (410, "grant_revoked")
    refreshed = await app_client.post(
        "/api/auth/mcp/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": grant["refresh_token"],
            "client_id": seeded.client_id,
        },
    )
    assert (refreshed.status_code, refreshed.json()["error"]) == (400, "invalid_grant")
    other = next(g for g in body["grants"] if g["organization_id"] != globex.id)
    still = await app_client.post(
        f"/api/oauth-client/installations/{other['grant_id']}/tokens", headers=bearer
    )
    assert still.status_code == 201
