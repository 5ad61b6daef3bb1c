"""POST /api/auth/mcp/introspect (RFC 7662): what a confidential client learns about its
installation, refresh and access tokens — and that it learns nothing about anyone else's."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from mcp_helpers import World
from sqlalchemy import select

from i18n_connect import grants, installations
from i18n_connect.clock import FrozenClock
from i18n_connect.oauth import refresh
from i18n_connect.oauth.clients import create_client
from i18n_connect.storage.oauth_tables import oauth_clients

INTROSPECT = "/api/auth/mcp/introspect"
SCOPES = ("projects:read", "keys:read")


@dataclass
class Partner:
    client_id: str
    secret: str
    grant_id: str

    def basic(self) -> dict[str, str]:
        raw = f"{self.client_id}:{self.secret}".encode()
        return {"authorization": "Basic " + base64.b64encode(raw).decode()}


async def make_partner(world: World, org: str = "acme") -> Partner:
    services = world.services
    now = services.clock.now()
    async with services.db.transaction() as conn:
        client, secret = await create_client(
            conn,
            name="Backend",
            redirect_uris=["https://partner.example.com/cb"],
            confidential=True,
            now=now,
            hasher=services.hasher,
        )
        (grant,) = await grants.consent(
            conn,
            user_id=world.user_id,
            client_id=client.id,
            organization_ids=[world.orgs[org]],
            scope=SCOPES,
            now=now,
        )
    assert secret is not None
    return Partner(client.id, secret, grant.id)


@pytest.fixture
async def partner(world: World) -> Partner:
    return await make_partner(world)


async def access_token(world: World, partner: Partner, audience: str | None = None) -> Any:
    return await world.services.tokens.issue(
        user_id=world.user_id,
        client_id=partner.client_id,
        scope=SCOPES,
        grant_ids=[partner.grant_id],
        audience=audience or world.services.settings.api_resource,
    )


async def installation_token(world: World, partner: Partner) -> str:
    issued = await access_token(world, partner)
    async with world.services.db.transaction() as conn:
        minted = await installations.mint(
            conn,
            claims=issued.claims,
            grant_id=partner.grant_id,
            project_ids=None,
            scopes=None,
            now=world.services.clock.now(),
            hasher=world.services.hasher,
            mints_per_minute=100,
        )
    return minted.token


async def refresh_token(world: World, partner: Partner) -> str:
    async with world.services.db.transaction() as conn:
        grant = await grants.get_grant(conn, partner.grant_id)
        assert grant is not None
        _, token = await refresh.start_chain(
            conn,
            grant,
            scope=" ".join(SCOPES),
            resource=world.services.settings.mcp_resource,
            now=world.services.clock.now(),
            hasher=world.services.hasher,
            code_id=None,
            chains_per_grant=10,
        )
        return token


async def introspect(
    client: httpx.AsyncClient, partner: Partner, token: str, **extra: str
) -> httpx.Response:
    return await client.post(INTROSPECT, data={"token": token, **extra}, headers=partner.basic())


async def test_installation_token_is_described(
    running_app: httpx.AsyncClient, world: World, partner: Partner, clock: FrozenClock
) -> None:
    token = await installation_token(world, partner)
    response = await introspect(running_app, partner, token, token_type_hint="access_token")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    now = int(clock.now().timestamp())
    assert body == {
        "active": True,
        "token_type": "Bearer",
        "scope": "projects:read keys:read",
        "client_id": partner.client_id,
        "sub": world.user_id,
        "iss": "http://testserver",
        "aud": ["http://testserver/api/oauth-client", "http://testserver/mcp"],
        "iat": now,
        "exp": now + 3600,
        "grant_id": partner.grant_id,
        "organization_id": world.orgs["acme"],
        "project_ids": [],
    }


@pytest.mark.parametrize("audience", ["http://testserver/mcp", "http://testserver/mcp/o/acme"])
async def test_access_token_is_described_with_its_audience(
    running_app: httpx.AsyncClient, world: World, partner: Partner, audience: str
) -> None:
    issued = await access_token(world, partner, audience=audience)
    body = (await introspect(running_app, partner, issued.token)).json()
    assert body["active"] is True
    assert body["token_type"] == "Bearer"
    assert body["aud"] == audience
    assert body["grant_ids"] == [partner.grant_id]
    assert body["organization_id"] == world.orgs["acme"]
    assert (body["jti"], body["exp"], body["iat"]) == (
        issued.claims.jti,
        issued.claims.exp,
        issued.claims.iat,
    )


async def test_refresh_token_is_described_until_rotated_past_retry(
    running_app: httpx.AsyncClient, world: World, partner: Partner
) -> None:
    first = await refresh_token(world, partner)
    body = (await introspect(running_app, partner, first)).json()
    assert body["active"] is True
    assert body["token_type"] == "refresh_token"
    assert (body["grant_id"], body["aud"]) == (partner.grant_id, "http://testserver/mcp")

    async def rotate(token: str) -> str:
        async with world.services.db.transaction() as conn:
            rotated = await refresh.rotate(
                conn,
                client_id=partner.client_id,
                refresh_token=token,
                requested_scope=None,
                now=world.services.clock.now(),
                grace=timedelta(seconds=30),
                successors=world.services.successors,
                hasher=world.services.hasher,
            )
        assert not isinstance(rotated, Exception)
        return rotated.refresh_token

    second = await rotate(first)
    # The used token may still be retried while its successor is unused.
    assert (await introspect(running_app, partner, first)).json()["active"] is True
    await rotate(second)
    assert (await introspect(running_app, partner, first)).json() == {"active": False}
    assert (await introspect(running_app, partner, second)).json()["active"] is True


@pytest.mark.parametrize("kind", ["installation", "refresh", "access"])
async def test_tokens_of_another_client_are_inactive(
    running_app: httpx.AsyncClient, world: World, partner: Partner, kind: str
) -> None:
    other = await make_partner(world, "globex")
    token = {
        "installation": lambda: installation_token(world, partner),
        "refresh": lambda: refresh_token(world, partner),
        "access": lambda: access_token(world, partner),
    }[kind]
    value = await token()
    value = value if isinstance(value, str) else value.token
    response = await introspect(running_app, other, value)
    assert response.status_code == 200
    assert response.json() == {"active": False}


async def test_revoked_and_expired_tokens_are_inactive(
    running_app: httpx.AsyncClient, world: World, partner: Partner, clock: FrozenClock
) -> None:
    installation = await installation_token(world, partner)
    issued = await access_token(world, partner)
    clock.advance(minutes=61)
    assert (await introspect(running_app, partner, installation)).json() == {"active": False}
    assert (await introspect(running_app, partner, issued.token)).json() == {"active": False}
    fresh = await installation_token(world, partner)
    rt = await refresh_token(world, partner)
    async with world.services.db.transaction() as conn:
        await grants.revoke_grant(
            conn, partner.grant_id, actor="test", now=clock.now(), reason="test"
        )
    for token in (fresh, rt, (await access_token(world, partner)).token):
        assert (await introspect(running_app, partner, token)).json() == {"active": False}


@pytest.mark.parametrize(
    "token", ["", "garbage", "bi_oat_unknown", "rt_unknown", "a.b.c", "x" * 9000]
)
async def test_unknown_tokens_are_inactive(
    running_app: httpx.AsyncClient, world: World, partner: Partner, token: str
) -> None:
    response = await introspect(running_app, partner, token)
    if token == "":
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"
    else:
        assert response.json() == {"active": False}


async def test_introspection_needs_client_authentication(
    running_app: httpx.AsyncClient, world: World, partner: Partner
) -> None:
    token = await installation_token(world, partner)
    public = await running_app.post(INTROSPECT, data={"token": token, "client_id": world.client_id})
    assert public.status_code == 401
    assert public.json()["error"] == "invalid_client"
    wrong = Partner(partner.client_id, "cs_wrong", partner.grant_id)
    refused = await introspect(running_app, wrong, token)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    assert refused.headers["www-authenticate"].startswith("Basic ")
    anonymous = await running_app.post(INTROSPECT, data={"token": token})
    assert anonymous.status_code == 401
    posted = await running_app.post(
        INTROSPECT,
        data={"token": token, "client_id": partner.client_id, "client_secret": partner.secret},
    )
    assert posted.json()["active"] is True


async def test_introspection_marks_the_client_used(
    running_app: httpx.AsyncClient, world: World, partner: Partner
) -> None:
    await introspect(running_app, partner, "garbage")
    async with world.services.db.transaction(readonly=True) as conn:
        used = await conn.scalar(
            select(oauth_clients.c.last_used_at).where(oauth_clients.c.id == partner.client_id)
        )
    assert used == world.services.clock.now()


@pytest.mark.parametrize(
    "audience",
    ["http://testserver/mcp/o/Acme", "http://testserver/mcp/o/acme/x", "https://evil/mcp/o/acme"],
)
async def test_access_token_for_a_resource_this_server_does_not_serve_is_inactive(
    running_app: httpx.AsyncClient, world: World, partner: Partner, audience: str
) -> None:
    issued = await access_token(world, partner, audience=audience)
    assert (await introspect(running_app, partner, issued.token)).json() == {"active": False}
