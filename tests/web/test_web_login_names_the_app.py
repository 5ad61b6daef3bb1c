"""The sign-in page reached from an authorization link names the app that asks."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pytest
from web_helpers import app_services

from i18n_connect.clock import FrozenClock
from i18n_connect.oauth.clients import Client, create_client

AUTHORIZE = "/api/auth/mcp/authorize"
REDIRECT_URI = "http://127.0.0.1:8001/connect/callback"


async def _client(app_client: httpx.AsyncClient, clock: FrozenClock, *, verified: bool) -> Client:
    services = app_services(app_client)
    async with services.db.transaction() as conn:
        client, _ = await create_client(
            conn,
            name="Example Partner App",
            redirect_uris=[REDIRECT_URI],
            confidential=False,
            now=clock.now(),
            hasher=services.hasher,
            origin="cli" if verified else "dynamic",
        )
    assert client.verified is verified
    return client


def _next(**params: str) -> str:
    return f"{AUTHORIZE}?{urlencode({'response_type': 'code', **params})}"


async def test_login_from_an_authorize_link_names_the_registered_app(
    app_client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    client = await _client(app_client, clock, verified=True)
    page = await app_client.get(
        "/login", params={"next": _next(client_id=client.id, redirect_uri=REDIRECT_URI)}
    )
    assert page.status_code == 200
    assert "Sign in to continue to <strong>Example Partner App</strong>" in page.text
    assert "Unverified" not in page.text


async def test_a_self_registered_app_is_named_with_the_unverified_mark(
    app_client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    client = await _client(app_client, clock, verified=False)
    page = await app_client.get(
        "/login", params={"next": _next(client_id=client.id, redirect_uri=REDIRECT_URI)}
    )
    assert "Sign in to continue to <strong>Example Partner App</strong>" in page.text
    assert "Unverified" in page.text


@pytest.mark.parametrize(
    "case", ["unknown-client", "unregistered-redirect", "two-client-ids", "other-path", "offsite"]
)
async def test_anything_else_shows_the_plain_page_and_echoes_nothing(
    app_client: httpx.AsyncClient, clock: FrozenClock, case: str
) -> None:
    client = await _client(app_client, clock, verified=True)
    target = {
        "unknown-client": _next(client_id="Evil <b>Corp</b>", redirect_uri=REDIRECT_URI),
        "unregistered-redirect": _next(client_id=client.id, redirect_uri="https://evil.test/cb"),
        "two-client-ids": f"{_next(client_id=client.id, redirect_uri=REDIRECT_URI)}"
        f"&client_id={client.id}",
        "other-path": f"/settings/connected-apps?client_id={client.id}&redirect_uri={REDIRECT_URI}",
        "offsite": f"//evil.test{_next(client_id=client.id, redirect_uri=REDIRECT_URI)}",
    }[case]
    page = await app_client.get("/login", params={"next": target})
    assert page.status_code == 200
    assert "Sign in to continue to" not in page.text
    assert "Example Partner App" not in page.text
    assert "<b>Corp" not in page.text
    assert "Welcome back." in page.text


async def test_a_wrong_password_keeps_the_apps_name(
    app_client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    client = await _client(app_client, clock, verified=True)
    target = _next(client_id=client.id, redirect_uri=REDIRECT_URI)
    page = await app_client.get("/login", params={"next": target})
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = await app_client.post(
        "/login",
        data={"email": "nobody@example.com", "password": "x", "csrf_token": csrf, "next": target},
    )
    assert response.status_code == 401
    assert "Sign in to continue to <strong>Example Partner App</strong>" in response.text
