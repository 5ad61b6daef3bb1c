"""Concurrent redemptions of one code and concurrent refreshes of one token: each request runs
as its own task with its own database connection, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
import sqlalchemy as sa
from oauth_token_world import TokenWorld, make_token_world

from i18n_connect.storage.oauth_tables import grants as grants_table
from i18n_connect.storage.oauth_tables import refresh_tokens
from i18n_connect.storage.tables import audit_events

CONCURRENCY = 20


@pytest.fixture
async def world(app_client: httpx.AsyncClient) -> TokenWorld:
    return await make_token_world(app_client)


def outcome(response: httpx.Response) -> str:
    return str(response.status_code) if response.status_code == 200 else response.json()["error"]


async def test_twenty_concurrent_redemptions_of_one_code_succeed_exactly_once(
    world: TokenWorld,
) -> None:
    code = await world.code()

    responses = await asyncio.gather(*(world.post(code.form()) for _ in range(CONCURRENCY)))

    assert Counter(map(outcome, responses)) == {"200": 1, "invalid_grant": CONCURRENCY - 1}
    # every loser passed client authentication and PKCE: a replay, so the code's grant is revoked
    assert await world.count(grants_table, grants_table.c.revoked_at.is_not(None)) == 1
    assert await world.count(refresh_tokens) == 0
    assert await world.count(audit_events, audit_events.c.action == "token.code_replay") >= 1


async def test_concurrent_redemptions_with_a_wrong_verifier_never_win_or_revoke(
    world: TokenWorld,
) -> None:
    code = await world.code()
    wrong = code.form(code_verifier="w" * 43)

    requests = [world.post(wrong) for _ in range(CONCURRENCY - 1)] + [world.post(code.form())]
    responses = await asyncio.gather(*requests)

    assert Counter(map(outcome, responses)) == {"200": 1, "invalid_grant": CONCURRENCY - 1}
    assert responses[-1].status_code == 200
    assert await world.count(grants_table, grants_table.c.revoked_at.is_not(None)) == 0
    assert await world.count(refresh_tokens) == 1


async def test_concurrent_refreshes_of_one_token_all_get_the_one_live_successor(
    world: TokenWorld,
) -> None:
    token = (await world.tokens(await world.code()))["refresh_token"]

    responses = await asyncio.gather(*(world.refresh(token) for _ in range(CONCURRENCY)))

    assert Counter(map(outcome, responses)) == {"200": CONCURRENCY}
    issued = {r.json()["refresh_token"] for r in responses}
    assert len(issued) == 1  # every holder converges on one chain
    live_hash = await world.scalar(
        sa.select(refresh_tokens.c.token_hash).where(
            refresh_tokens.c.used_at.is_(None), refresh_tokens.c.revoked_at.is_(None)
        )
    )
    [successor] = issued
    assert world.services.hasher.hash(successor) == live_hash
    assert await world.count(refresh_tokens) == 2
    assert await world.count(audit_events, audit_events.c.action == "token.refresh_reuse") == 0
    assert (await world.refresh(successor)).status_code == 200


async def test_concurrent_refreshes_of_successive_tokens_never_fork_the_chain(
    world: TokenWorld,
) -> None:
    token = (await world.tokens(await world.code()))["refresh_token"]
    successor = (await world.refresh(token)).json()["refresh_token"]

    # the previous token (a retry) and its successor race each other
    requests = [world.refresh(token if n % 2 else successor) for n in range(CONCURRENCY)]
    responses = await asyncio.gather(*requests)

    assert Counter(map(outcome, responses)) == {"200": CONCURRENCY}  # within the grace window
    live = await world.count(
        refresh_tokens, refresh_tokens.c.used_at.is_(None), refresh_tokens.c.revoked_at.is_(None)
    )
    assert live == 1
    assert len({r.json()["refresh_token"] for r in responses}) == 1
