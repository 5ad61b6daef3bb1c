"""The example partner app against the real i18n-connect app, in process, on both backends.

The partner app's SDK talks to the server through an ASGI transport; a second
HTTP client plays the person (login, consent form, Continue to your app).
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
from examples.partner_app import Config, create_app

from factories import ada_and_bob
from i18n_connect.clock import FrozenClock
from i18n_connect.oauth.clients import create_client
from i18n_connect.platform.projects import create_project
from i18n_connect.services import Services

ISSUER = "http://testserver"
PARTNER_URL = "http://127.0.0.1:8001"
PASSWORD = "correct horse battery"


@dataclass
class Story:
    server: httpx.AsyncClient  # the person's browser on the platform
    partner: httpx.AsyncClient  # the person's browser on the partner app
    config: Config
    organizations: dict[str, str]


async def _seed(services: Services, clock: FrozenClock) -> tuple[str, dict[str, str]]:
    now = clock.now()
    async with services.db.transaction() as conn:
        people = await ada_and_bob(conn, password=PASSWORD, now=now)
        acme, globex = people.acme, people.globex
        for org, name, slug in [(acme, "Website", "website"), (globex, "Help center", "help")]:
            await create_project(
                conn, organization_id=org.id, name=name, slug=slug, source_language="en", now=now
            )
        client, _ = await create_client(
            conn,
            name="Example Partner App",
            redirect_uris=[PARTNER_URL + "/connect/callback"],
            confidential=False,
            now=now,
            hasher=services.hasher,
        )
    return client.id, {"acme": acme.id, "globex": globex.id}


@pytest.fixture
async def story(
    app_client: httpx.AsyncClient, clock: FrozenClock, tmp_path: Path
) -> AsyncIterator[Story]:
    server_app = app_client.app  # type: ignore[attr-defined]
    client_id, organizations = await _seed(server_app.state.services, clock)
    config = Config(
        client_id=client_id,
        issuer=ISSUER,
        public_url=PARTNER_URL,
        database=tmp_path / "partner.db",
        session_secret="partner-session-secret",
    )
    sdk_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=server_app))
    partner_app = create_app(config, http=sdk_http)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=partner_app), base_url=PARTNER_URL
    ) as partner:
        await _sign_in_partner(partner)
        yield Story(app_client, partner, config, organizations)
    await sdk_http.aclose()


def _field(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no {name} in the page"
    return html.unescape(match[1])


async def _sign_in_partner(partner: httpx.AsyncClient) -> None:
    page = await partner.get("/login")
    response = await partner.post(
        "/login",
        data={
            "email": "dev@partner-app.test",
            "password": "partner pw",
            "csrf": _field(page.text, "csrf"),
        },
    )
    assert response.status_code == 303


async def connect(story: Story, organizations: list[str], scopes: list[str]) -> httpx.Response:
    """Connect on the partner app, consent on the platform, and land on the callback."""
    start = await story.partner.get("/connect/start")
    assert start.status_code == 303
    browser = story.server
    response = await browser.get(start.headers["location"])
    if response.headers["location"].startswith("/login"):
        login = await browser.get(response.headers["location"])
        response = await browser.post(
            "/login",
            data={
                "email": "ada@example.com",
                "password": PASSWORD,
                "csrf_token": _field(login.text, "csrf_token"),
                "next": _field(login.text, "next"),
            },
        )
    consent = await browser.get(response.headers["location"], follow_redirects=True)
    form = [
        ("request_id", _field(consent.text, "request_id")),
        ("csrf_token", _field(consent.text, "csrf_token")),
        ("action", "authorize"),
        *(("organization", story.organizations[slug]) for slug in organizations),
        *(("scope", scope) for scope in scopes),
    ]
    response = await browser.post(
        "/api/auth/mcp/consent",
        content=str(httpx.QueryParams(form)),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 303, response.text
    complete = await browser.get(response.headers["location"])
    href = re.search(r'href="([^"]+)"\s+rel="noreferrer">Continue to your app', complete.text)
    assert href, complete.text
    location = urljoin(ISSUER, html.unescape(href[1]))
    while not location.startswith(PARTNER_URL):
        response = await browser.get(location)
        location = urljoin(ISSUER, response.headers["location"])
    return await story.partner.get(location.removeprefix(PARTNER_URL))


SCOPES = ["org:read", "projects:read", "keys:read", "keys:write", "translations:write"]


async def test_connect_two_organizations_lists_their_projects(story: Story) -> None:
    response = await connect(story, ["acme", "globex"], SCOPES)
    assert response.status_code == 303 and response.headers["location"] == "/?connected=2"
    home = await story.partner.get("/?connected=2")
    for text in ("Acme Corp", "Globex", "Website", "Help center", "Connected 2 organizations"):
        assert text in home.text
    assert "Reconnect" not in home.text


async def test_without_projects_read_the_card_says_which_scope_is_missing(story: Story) -> None:
    await connect(story, ["acme"], ["org:read", "keys:read"])
    home = await story.partner.get("/")
    assert "Acme Corp" in home.text
    assert "it lacks projects:read" in home.text


async def test_revoked_on_the_platform_shows_reconnect_and_disconnect_cleans_up(
    story: Story,
) -> None:
    await connect(story, ["acme", "globex"], SCOPES)
    assert (await story.partner.get("/")).status_code == 200  # tokens minted and cached
    page = await story.server.get("/settings/connected-apps")
    globex_grant = re.search(
        r'data-grant-id="([^"]+)">\s*<td class="app__name">Example Partner App</td>'
        r'\s*<td data-label="Organization">Globex',
        page.text,
    )
    assert globex_grant
    revoked = await story.server.post(
        f"/settings/connected-apps/{globex_grant[1]}/revoke",
        data={"csrf_token": _field(page.text, "csrf_token")},
    )
    assert revoked.status_code == 303
    home = await story.partner.get("/")
    assert home.text.count(">Reconnect</a>") == 1
    assert "Access was revoked on the platform." in home.text
    assert "Website" in home.text and "Help center" not in home.text

    # Disconnect Acme on the partner side: the platform revokes that grant too.
    csrf = _field(home.text, "csrf")
    acme_id = re.search(r"/connections/(\d+)/disconnect", home.text.split("Acme Corp", 1)[1])
    assert acme_id
    response = await story.partner.post(
        f"/connections/{acme_id[1]}/disconnect", data={"csrf": csrf}
    )
    assert response.status_code == 303
    page = await story.server.get("/settings/connected-apps")
    assert "Example Partner App" not in page.text
