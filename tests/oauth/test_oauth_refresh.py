"""POST /api/auth/mcp/token with grant_type=refresh_token: rotation, the lost-response retry,
the grace window for concurrent holders, reuse detection and what it revokes, scope
narrowing, expiry, revocation and membership (SPEC §3)."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa
from oauth_token_world import TokenWorld, basic, make_token_world

from i18n_connect import grants
from i18n_connect.clock import FrozenClock
from i18n_connect.storage.oauth_tables import grants as grants_table
from i18n_connect.storage.oauth_tables import refresh_chains, refresh_tokens
from i18n_connect.storage.tables import audit_events, memberships


@pytest.fixture
async def world(app_client: httpx.AsyncClient) -> TokenWorld:
    return await make_token_world(app_client)


async def first_refresh_token(world: TokenWorld) -> str:
    body = await world.tokens(await world.code())
    token: str = body["refresh_token"]
    return token


async def live_tokens(world: TokenWorld) -> int:
    return await world.count(
        refresh_tokens, refresh_tokens.c.used_at.is_(None), refresh_tokens.c.revoked_at.is_(None)
    )


def assert_invalid_grant(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_grant"
    assert response.headers["cache-control"] == "no-store"


async def test_refresh_rotates_and_returns_the_grant_shape(world: TokenWorld) -> None:
    token = await first_refresh_token(world)

    response = await world.refresh(token)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["refresh_token"].startswith("rt_") and body["refresh_token"] != token
    assert body["token_type"] == "Bearer" and body["expires_in"] == 1800
    assert body["scope"] == "org:read keys:read keys:write"
    assert body["organization_id"] == world.acme
    assert body["grants"] == [
        {
            "grant_id": body["grant_id"],
            "organization_id": world.acme,
            "refresh_token": body["refresh_token"],
            "scope": "org:read keys:read keys:write",
            "projects": "all",
        }
    ]
    claims = await world.services.tokens.verify(
        body["access_token"], audience=world.services.settings.api_resource
    )
    assert claims.grant_ids == (body["grant_id"],)
    assert await live_tokens(world) == 1
    assert (await world.refresh(body["refresh_token"])).status_code == 200


GRACE = 30  # seconds: the default refresh_grace_seconds
REUSE = (
    "The refresh token was already used; every token issued from its chain "
    "(refresh, access and installation tokens) is revoked. Authorize again."
)


async def test_retry_with_the_just_used_token_returns_the_same_successor(
    world: TokenWorld, clock: FrozenClock
) -> None:
    token = await first_refresh_token(world)
    lost = (await world.refresh(token)).json()["refresh_token"]  # the response never arrived
    clock.advance(minutes=10)  # long after the grace window: the successor is still unused

    retry = await world.refresh(token)

    assert retry.status_code == 200
    assert retry.json()["refresh_token"] == lost
    assert await live_tokens(world) == 1
    assert (await world.refresh(lost)).status_code == 200  # and it is the live one


async def test_second_holder_within_the_grace_window_gets_the_same_successor(
    world: TokenWorld, clock: FrozenClock
) -> None:
    token = await first_refresh_token(world)
    holder_a = await world.refresh(token)
    clock.advance(seconds=5)

    holder_b = await world.refresh(token)  # another instance still held the same token

    assert holder_b.status_code == 200
    a, b = holder_a.json(), holder_b.json()
    assert b["refresh_token"] == a["refresh_token"]
    claims = await world.services.tokens.verify(
        b["access_token"], audience=world.services.settings.api_resource
    )
    assert claims.grant_ids == (a["grant_id"],) and claims.scope == tuple(a["scope"].split())
    onward = await world.refresh(a["refresh_token"])  # holder A moves on
    assert onward.status_code == 200
    clock.advance(seconds=5)
    assert (await world.refresh(b["refresh_token"])).json()["refresh_token"] == onward.json()[
        "refresh_token"
    ]  # holder B converges on the same chain
    assert await live_tokens(world) == 1
    assert await world.count(audit_events, audit_events.c.action == "token.refresh_reuse") == 0
    assert await world.count(refresh_chains, refresh_chains.c.revoked_at.is_not(None)) == 0


async def test_within_the_grace_window_a_holder_gets_the_newest_token_of_the_chain(
    world: TokenWorld, clock: FrozenClock
) -> None:
    token = await first_refresh_token(world)
    second = (await world.refresh(token)).json()["refresh_token"]
    third = (await world.refresh(second)).json()["refresh_token"]  # holder A moved twice
    clock.advance(seconds=GRACE - 1)

    late = await world.refresh(token)

    assert late.status_code == 200
    assert late.json()["refresh_token"] == third
    assert await live_tokens(world) == 1


async def test_retry_window_closes_once_the_successor_is_used(
    world: TokenWorld, clock: FrozenClock
) -> None:
    token = await first_refresh_token(world)
    second = (await world.refresh(token)).json()["refresh_token"]
    third = (await world.refresh(second)).json()["refresh_token"]
    clock.advance(seconds=GRACE)

    reuse = await world.refresh(token)

    assert_invalid_grant(reuse)
    assert reuse.json()["error_description"] == REUSE
    assert await live_tokens(world) == 0
    assert_invalid_grant(await world.refresh(third))
    events = await world.count(audit_events, audit_events.c.action == "token.refresh_reuse")
    assert events == 1


async def test_zero_grace_seconds_turns_the_window_off(
    world: TokenWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(world.services.settings, "refresh_grace_seconds", 0)
    token = await first_refresh_token(world)
    second = (await world.refresh(token)).json()["refresh_token"]
    assert (await world.refresh(second)).status_code == 200

    assert_invalid_grant(await world.refresh(token))  # no time has passed, but no window
    assert await live_tokens(world) == 0


async def test_reused_refresh_token_revokes_the_whole_chain_and_is_audited(
    world: TokenWorld, clock: FrozenClock
) -> None:
    token = await first_refresh_token(world)
    second = (await world.refresh(token)).json()["refresh_token"]
    third = (await world.refresh(second)).json()["refresh_token"]
    fourth = (await world.refresh(third)).json()["refresh_token"]
    clock.advance(minutes=1)

    reuse = await world.refresh(second)  # its successor (third) was used: no retry possible

    assert_invalid_grant(reuse)
    assert await live_tokens(world) == 0
    async with world.services.db.transaction(readonly=True) as conn:
        rows = (
            await conn.execute(
                sa.select(audit_events).where(audit_events.c.action == "token.refresh_reuse")
            )
        ).all()
        chain = (await conn.execute(sa.select(refresh_chains))).one()
    assert len(rows) == 1
    assert rows[0].client_id == world.public_id and rows[0].organization_id == world.acme
    assert rows[0].detail["chain_id"] == chain.id
    assert (chain.revoked_at, chain.revoked_reason) == (clock.now(), "reuse")
    later = await world.refresh(fourth)
    assert_invalid_grant(later)
    assert later.json()["error_description"].startswith("A refresh token of this chain was used")
    assert await world.count(audit_events, audit_events.c.action == "token.refresh_reuse") == 1
    # the grant itself stays live: the client needs a new authorization, not a new consent
    assert await world.count(grants_table, grants_table.c.revoked_at.is_(None)) == 1


async def test_narrower_scope_narrows_the_access_token_only(world: TokenWorld) -> None:
    token = await first_refresh_token(world)

    narrowed = await world.refresh(token, scope="keys:read")

    assert narrowed.status_code == 200
    body = narrowed.json()
    assert body["scope"] == "keys:read"
    claims = await world.services.tokens.verify(
        body["access_token"], audience=world.services.settings.api_resource
    )
    assert claims.scope == ("keys:read",)
    assert body["grants"][0]["scope"] == "org:read keys:read keys:write"
    again = await world.refresh(body["refresh_token"])
    assert again.json()["scope"] == "org:read keys:read keys:write"


async def test_scope_of_only_ignored_scopes_keeps_the_full_scope(world: TokenWorld) -> None:
    token = await first_refresh_token(world)
    response = await world.refresh(token, scope="offline_access")
    assert response.status_code == 200
    assert response.json()["scope"] == "org:read keys:read keys:write"


@pytest.mark.parametrize(
    ("scope", "error"),
    [
        pytest.param("keys:read translations:publish", "invalid_scope", id="wider"),
        pytest.param("keys:read nonsense:scope", "invalid_scope", id="unknown"),
    ],
)
async def test_refused_scope_does_not_consume_the_token(
    world: TokenWorld, scope: str, error: str
) -> None:
    token = await first_refresh_token(world)

    response = await world.refresh(token, scope=scope)

    assert response.status_code == 400
    assert response.json()["error"] == error
    assert await world.count(refresh_tokens, refresh_tokens.c.used_at.is_not(None)) == 0
    assert (await world.refresh(token)).status_code == 200


async def test_refresh_token_expires_after_thirty_days(
    world: TokenWorld, clock: FrozenClock
) -> None:
    token = await first_refresh_token(world)
    clock.advance(days=31)

    assert_invalid_grant(await world.refresh(token))
    assert await world.count(refresh_tokens, refresh_tokens.c.used_at.is_not(None)) == 0


async def test_rotation_gives_the_successor_a_fresh_thirty_days(
    world: TokenWorld, clock: FrozenClock
) -> None:
    token = await first_refresh_token(world)
    clock.advance(days=29)
    successor = (await world.refresh(token)).json()["refresh_token"]
    clock.advance(days=29)
    assert (await world.refresh(successor)).status_code == 200


async def test_revoked_grant_refuses_refresh(world: TokenWorld) -> None:
    body = await world.tokens(await world.code())
    async with world.services.db.transaction() as conn:
        await grants.revoke_grant(
            conn, body["grant_id"], actor="usr_alice", now=world.services.clock.now(), reason="t"
        )
    assert_invalid_grant(await world.refresh(body["refresh_token"]))


async def test_demoted_user_loses_the_grant_at_refresh(world: TokenWorld) -> None:
    body = await world.tokens(await world.code())
    # a demotion written without the usual cascade (e.g. by another system): refresh catches it
    await world.execute(
        sa.update(memberships)
        .where(memberships.c.organization_id == world.acme)
        .values(role="member")
    )

    assert_invalid_grant(await world.refresh(body["refresh_token"]))

    revoked_at = await world.scalar(
        sa.select(grants_table.c.revoked_at).where(grants_table.c.id == body["grant_id"])
    )
    assert revoked_at is not None
    assert await world.count(refresh_tokens) == 0
    assert (
        await world.count(
            audit_events,
            audit_events.c.action == "grant.revoked",
            audit_events.c.grant_id == body["grant_id"],
        )
        == 1
    )


async def test_removed_member_loses_the_grant_at_refresh(world: TokenWorld) -> None:
    body = await world.tokens(await world.code())
    await world.execute(sa.delete(memberships).where(memberships.c.organization_id == world.acme))

    assert_invalid_grant(await world.refresh(body["refresh_token"]))
    assert await world.count(grants_table, grants_table.c.revoked_at.is_not(None)) == 1


async def test_another_client_cannot_use_the_refresh_token(world: TokenWorld) -> None:
    token = await first_refresh_token(world)

    response = await world.refresh(token, client_id=world.other_public_id)

    assert_invalid_grant(response)
    assert await world.count(audit_events, audit_events.c.action == "token.refresh_reuse") == 0
    assert (await world.refresh(token)).status_code == 200


async def test_unknown_refresh_token_is_invalid_grant(world: TokenWorld) -> None:
    await first_refresh_token(world)
    assert_invalid_grant(await world.refresh("rt_" + "x" * 43))
    assert await live_tokens(world) == 1


async def test_confidential_client_must_authenticate_to_refresh(world: TokenWorld) -> None:
    body = await world.tokens(
        await world.code(client_id=world.confidential_id),
        client_secret=world.confidential_secret,
    )
    data = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}

    unauthenticated = await world.post({**data, "client_id": world.confidential_id})
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["error"] == "invalid_client"

    headers = {"Authorization": basic(world.confidential_id, world.confidential_secret)}
    assert (await world.post(data, headers=headers)).status_code == 200


async def test_refresh_with_a_foreign_resource_is_refused_without_rotating(
    world: TokenWorld,
) -> None:
    token = await first_refresh_token(world)

    response = await world.refresh(token, resource=world.services.settings.mcp_resource)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"
    assert (await world.refresh(token)).status_code == 200


async def test_refresh_updates_the_grant_last_use(world: TokenWorld, clock: FrozenClock) -> None:
    body = await world.tokens(await world.code())
    later = clock.advance(hours=3)
    assert (await world.refresh(body["refresh_token"])).status_code == 200
    last_used = await world.scalar(
        sa.select(grants_table.c.last_used_at).where(grants_table.c.id == body["grant_id"])
    )
    assert last_used == later
