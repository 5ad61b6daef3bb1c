"""Refresh chains: one per device under a grant, each ended on its own — what reuse detection
revokes (access and installation tokens too, checked in the database), the per-grant chain
limit, and revoking the grant (SPEC §3, RFC 9700 §4.14.2)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from oauth_token_world import TokenWorld, make_token_world, verifier

from i18n_connect import grants
from i18n_connect.clock import FrozenClock
from i18n_connect.errors import InvalidToken
from i18n_connect.mcp import auth as mcp_auth
from i18n_connect.storage.oauth_tables import installation_tokens, refresh_chains, refresh_tokens
from i18n_connect.storage.tables import audit_events

MINT = "/api/oauth-client/installations/{}/tokens"


@pytest.fixture
async def world(app_client: httpx.AsyncClient) -> TokenWorld:
    return await make_token_world(app_client)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def mint(world: TokenWorld, body: dict[str, Any]) -> httpx.Response:
    return await world.http.post(
        MINT.format(body["grant_id"]), headers=bearer(body["access_token"])
    )


async def device(world: TokenWorld, n: int, **code: Any) -> dict[str, Any]:
    """Another device of the same user connecting the same client to Acme."""
    return await world.tokens(await world.code(code_verifier=verifier(n), **code))


async def reuse(world: TokenWorld, clock: FrozenClock, body: dict[str, Any]) -> dict[str, Any]:
    """Rotate twice from ``body``, then present its used token outside the grace window."""
    second = (await world.refresh(body["refresh_token"])).json()
    third = (await world.refresh(second["refresh_token"])).json()
    clock.advance(minutes=5)
    replay = await world.refresh(body["refresh_token"])
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")
    assert "every token issued from its chain" in replay.json()["error_description"]
    return third


async def test_reuse_revokes_the_chains_access_and_installation_tokens(
    world: TokenWorld, clock: FrozenClock
) -> None:
    first = await world.tokens(await world.code())
    installation = (await mint(world, first)).json()["installation_token"]
    used = await world.http.get("/api/oauth-client/organizations", headers=bearer(installation))
    assert used.status_code == 200

    third = await reuse(world, clock, first)

    for body in (first, third):  # the stolen chain's access tokens, old and newest
        refused = await mint(world, body)
        assert (refused.status_code, refused.json()["error"]) == (401, "invalid_token")
    after = await world.http.get("/api/oauth-client/organizations", headers=bearer(installation))
    assert (after.status_code, after.json()["error"]) == (410, "grant_revoked")
    me = await world.http.get("/api/oauth-client/me", headers=bearer(third["access_token"]))
    assert me.status_code == 200 and me.json()["grants"] == []
    revoked = await world.count(installation_tokens, installation_tokens.c.revoked_at.is_not(None))
    assert revoked == 1
    minted = await world.count(audit_events, audit_events.c.action == "installation_token.minted")
    assert minted == 1


async def test_reuse_refuses_the_chains_access_token_at_the_mcp_server(
    world: TokenWorld, clock: FrozenClock
) -> None:
    first = await world.tokens(await world.code(resource=world.services.settings.mcp_resource))
    async with world.services.db.transaction(readonly=True) as conn:
        caller = await mcp_auth.authenticate(conn, first["access_token"], world.services)
    assert [i.grant_id for i in caller.installations] == [first["grant_id"]]

    await reuse(world, clock, first)

    async with world.services.db.transaction(readonly=True) as conn:
        with pytest.raises(InvalidToken, match="refresh chain it was issued from has ended"):
            await mcp_auth.authenticate(conn, first["access_token"], world.services)


async def test_reuse_on_one_device_leaves_the_other_devices_chain_working(
    world: TokenWorld, clock: FrozenClock
) -> None:
    laptop, desktop = await device(world, 1), await device(world, 2)
    desktop_installation = (await mint(world, desktop)).json()["installation_token"]

    await reuse(world, clock, laptop)

    onward = await world.refresh(desktop["refresh_token"])
    assert onward.status_code == 200
    assert (await mint(world, onward.json())).status_code == 201
    used = await world.http.get(
        "/api/oauth-client/organizations", headers=bearer(desktop_installation)
    )
    assert used.status_code == 200
    assert await world.count(refresh_chains, refresh_chains.c.revoked_reason == "reuse") == 1
    assert await world.count(refresh_chains, refresh_chains.c.revoked_at.is_(None)) == 1


async def test_chain_limit_drops_the_least_recently_refreshed_device_and_audits_it(
    world: TokenWorld, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(world.services.settings, "refresh_chains_per_grant", 2)
    oldest, idle = await device(world, 1), await device(world, 2)
    clock.advance(minutes=1)
    refreshed = (await world.refresh(oldest["refresh_token"])).json()  # oldest is in use

    newest = await device(world, 3)

    dropped = await world.refresh(idle["refresh_token"])
    assert (dropped.status_code, dropped.json()["error"]) == (400, "invalid_grant")
    assert "connected more devices to this grant" in dropped.json()["error_description"]
    refused = await mint(world, idle)
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_token")
    assert (await world.refresh(refreshed["refresh_token"])).status_code == 200
    assert (await world.refresh(newest["refresh_token"])).status_code == 200
    async with world.services.db.transaction(readonly=True) as conn:
        [event] = (
            await conn.execute(
                sa.select(audit_events).where(
                    audit_events.c.action == "token.refresh_chain_dropped"
                )
            )
        ).all()
        ended = (
            await conn.execute(
                sa.select(refresh_chains).where(refresh_chains.c.revoked_at.is_not(None))
            )
        ).one()
    assert event.grant_id == idle["grant_id"] and event.detail["chain_id"] == ended.id
    assert (ended.revoked_reason, event.detail["kept"]) == ("limit", 1)
    assert await world.count(refresh_chains, refresh_chains.c.revoked_at.is_(None)) == 2


async def test_revoking_the_grant_ends_every_device_chain(world: TokenWorld) -> None:
    laptop, desktop = await device(world, 1), await device(world, 2)
    async with world.services.db.transaction() as conn:
        await grants.revoke_grant(
            conn, laptop["grant_id"], actor="usr_alice", now=world.services.clock.now(), reason="t"
        )

    for body in (laptop, desktop):
        refused = await world.refresh(body["refresh_token"])
        assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
    assert await world.count(refresh_chains) == 0
    assert await world.count(refresh_tokens) == 0
