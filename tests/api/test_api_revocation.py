"""RFC 7009 revocation at POST /api/auth/mcp/revoke: refresh chains and installation tokens."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from api_world import World
from sqlalchemy import func, select

from i18n_connect import grants as grants_module
from i18n_connect.oauth import refresh
from i18n_connect.oauth.clients import create_client
from i18n_connect.storage.oauth_tables import (
    grants,
    installation_tokens,
    refresh_chains,
    refresh_tokens,
)
from i18n_connect.storage.tables import audit_events

REVOKE = "/api/auth/mcp/revoke"


async def refresh_token(world: World, org: str = "acme") -> str:
    async with world.services.db.transaction() as conn:
        grant = await grants_module.get_grant(conn, world.grants[org])
        assert grant is not None
        _, token = await refresh.start_chain(
            conn,
            grant,
            scope="org:read",
            resource=None,
            now=world.services.clock.now(),
            hasher=world.services.hasher,
            code_id=None,
            chains_per_grant=10,
        )
        return token


async def refresh_count(world: World, org: str = "acme") -> int:
    async with world.services.db.transaction(readonly=True) as conn:
        return int(
            await conn.scalar(
                select(func.count())
                .select_from(refresh_tokens)
                .where(
                    refresh_tokens.c.grant_id == world.grants[org],
                    refresh_tokens.c.revoked_at.is_(None),
                )
            )
            or 0
        )


async def actions(world: World) -> list[str]:
    async with world.services.db.transaction(readonly=True) as conn:
        return list(await conn.scalars(select(audit_events.c.action).order_by(audit_events.c.id)))


async def call_with(world: World, token: str) -> int:
    response = await world.http.get(
        "/api/oauth-client/organizations", headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code


@pytest.mark.parametrize("hint", [None, "refresh_token", "installation_token", "bogus"])
async def test_revoking_a_refresh_token_ends_its_chain_only(world: World, hint: str | None) -> None:
    first, second = await refresh_token(world), await refresh_token(world)  # two devices
    await refresh_token(world, "globex")
    installation = await world.mint()
    data: dict[str, Any] = {"token": second, "client_id": world.client_id}
    if hint:
        data["token_type_hint"] = hint
    response = await world.http.post(REVOKE, data=data)
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["Cache-Control"] == "no-store"
    assert await refresh_count(world) == 1  # the other device's chain stays
    assert await refresh_count(world, "globex") == 1
    assert await call_with(world, installation) == 200  # the grant itself stays
    assert (await actions(world))[-1] == "token.refresh_revoked"
    async with world.services.db.transaction(readonly=True) as conn:
        ended = (await conn.execute(select(refresh_chains.c.revoked_reason))).scalars().all()
    assert sorted(ended, key=str) == [None, None, "revoked"]
    again = await world.http.post(REVOKE, data={"token": first, "client_id": world.client_id})
    assert again.status_code == 200
    assert await refresh_count(world) == 0
    metrics = (await world.http.get("/metrics")).text
    assert 'i18n_connect_tokens_revoked_total{kind="refresh_token"} 2.0' in metrics


async def test_revoking_an_installation_token_revokes_only_that_token(world: World) -> None:
    revoked, kept = await world.mint(), await world.mint()
    response = await world.http.post(
        REVOKE,
        data={"token": revoked, "client_id": world.client_id, "token_type_hint": "refresh_token"},
    )
    assert response.status_code == 200
    used = await world.http.get(
        "/api/oauth-client/organizations", headers={"Authorization": f"Bearer {revoked}"}
    )
    assert (used.status_code, used.json()["error"]) == (410, "grant_revoked")
    assert await call_with(world, kept) == 200
    assert (await actions(world))[-1] == "installation_token.revoked"
    async with world.services.db.transaction(readonly=True) as conn:
        live = await conn.scalar(
            select(grants.c.revoked_at).where(grants.c.id == world.grants["acme"])
        )
    assert live is None


@pytest.mark.parametrize("kind", ["refresh", "installation", "access", "unknown"])
async def test_other_clients_and_unknown_tokens_get_200_and_change_nothing(
    world: World, kind: str
) -> None:
    installation = await world.mint()
    tokens = {
        "refresh": await refresh_token(world),
        "installation": installation,
        "access": await world.access_token(),
        "unknown": "rt_" + "x" * 43,
    }
    before = await actions(world)
    response = await world.http.post(
        REVOKE, data={"token": tokens[kind], "client_id": world.other_client_id}
    )
    assert (response.status_code, response.content) == (200, b"")
    assert await refresh_count(world) == 1
    assert await call_with(world, installation) == 200
    assert await actions(world) == before


async def test_the_access_token_of_the_client_itself_is_accepted_and_changes_nothing(
    world: World,
) -> None:
    installation = await world.mint()
    response = await world.http.post(
        REVOKE, data={"token": await world.access_token(), "client_id": world.client_id}
    )
    assert response.status_code == 200
    assert await call_with(world, installation) == 200


async def _confidential(world: World) -> tuple[str, str]:
    async with world.services.db.transaction() as conn:
        client, secret = await create_client(
            conn,
            name="Server App",
            redirect_uris=["https://app.example/cb"],
            confidential=True,
            now=world.services.clock.now(),
            hasher=world.services.hasher,
        )
    assert secret is not None
    return client.id, secret


@pytest.mark.parametrize(
    ("case", "status", "error"),
    [
        pytest.param("wrong-secret-basic", 401, "invalid_client", id="wrong-secret-basic"),
        pytest.param("wrong-secret-post", 401, "invalid_client", id="wrong-secret-post"),
        pytest.param("confidential-without-secret", 401, "invalid_client", id="no-secret"),
        pytest.param("unknown-client", 401, "invalid_client", id="unknown-client"),
        pytest.param("no-client", 401, "invalid_client", id="no-client"),
        pytest.param("missing-token", 400, "invalid_request", id="missing-token"),
    ],
)
async def test_client_authentication_failures_revoke_nothing(
    world: World, case: str, status: int, error: str
) -> None:
    client_id, secret = await _confidential(world)
    token = await refresh_token(world)
    headers: dict[str, str] = {}
    data: dict[str, str] = {"token": token}
    if case == "wrong-secret-basic":
        headers["Authorization"] = (
            "Basic " + base64.b64encode(f"{client_id}:nope".encode()).decode()
        )
    elif case == "wrong-secret-post":
        data |= {"client_id": client_id, "client_secret": "nope"}
    elif case == "confidential-without-secret":
        data["client_id"] = client_id
    elif case == "unknown-client":
        data["client_id"] = "cli_unknown"
    elif case == "missing-token":
        data = {"client_id": client_id, "client_secret": secret}
    response = await world.http.post(REVOKE, data=data, headers=headers)
    assert (response.status_code, response.json()["error"]) == (status, error)
    if case == "wrong-secret-basic":
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert await refresh_count(world) == 1


async def test_a_confidential_client_revokes_with_its_secret(world: World) -> None:
    client_id, secret = await _confidential(world)
    async with world.services.db.transaction() as conn:
        await conn.execute(
            grants.update().where(grants.c.id == world.grants["acme"]).values(client_id=client_id)
        )
    token = await refresh_token(world)
    basic = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = await world.http.post(
        REVOKE, data={"token": token}, headers={"Authorization": basic}
    )
    assert response.status_code == 200
    assert await refresh_count(world) == 0


async def test_revoked_installation_tokens_stay_revoked_rows(world: World) -> None:
    token = await world.mint()
    await world.http.post(REVOKE, data={"token": token, "client_id": world.client_id})
    async with world.services.db.transaction(readonly=True) as conn:
        revoked_at = await conn.scalar(select(installation_tokens.c.revoked_at))
    assert revoked_at == world.services.clock.now()
