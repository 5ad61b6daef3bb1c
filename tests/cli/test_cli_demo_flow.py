"""The README's first flow, driven by what the demo prints: sign in with the printed password,
follow the printed authorize link through consent, exchange the code with the printed verifier,
mint an installation token and call the partner API."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import httpx

from i18n_connect.demo import DEMO_SCOPE, REDIRECT_URI, seed, welcome_text
from i18n_connect.services import Services


def _field(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found is not None, f"no {name} field"
    return html.unescape(found[1])


async def test_the_printed_login_and_authorize_link_complete_a_flow(
    app_client: httpx.AsyncClient,
) -> None:
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
    consent = await app_client.get(signed_in.headers["location"])
    assert consent.status_code == 200
    offered = re.findall(r'name="organization" value="([^"]+)"', consent.text)
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
    body = token.json()
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
