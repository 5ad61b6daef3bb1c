"""Two server processes on one PostgreSQL database (SPEC §8): single-use credentials stay
single-use when the same one reaches both processes at once (RFC 6749 §4.1.2, §10.4, §10.5).

Each test starts two real ``i18n-connect serve`` processes on a fresh database,
warms one keep-alive connection per process and per concurrent request, then
fires the racing requests together.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import sqlalchemy as sa
from multiprocess_support import (
    TOKEN_PATH,
    Seed,
    ServerProcess,
    exchange_form,
    fresh_postgres,
    invariants,
    refresh_form,
    servers,
    sync_url,
)

from i18n_connect.storage.oauth_tables import authorization_codes, refresh_tokens
from i18n_connect.storage.oauth_tables import grants as grants_table

pytestmark = pytest.mark.timeout(60)
RACERS_PER_PROCESS = 4


@pytest.fixture(scope="module")
def processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ServerProcess]]:
    """Two server processes on one fresh PostgreSQL database, shared by this module's tests."""
    with fresh_postgres() as url, servers(url, tmp_path_factory.mktemp("races"), 2) as started:
        yield started


@pytest.fixture(scope="module")
async def cluster(
    processes: list[ServerProcess],
) -> AsyncIterator[tuple[list[ServerProcess], Seed]]:
    seed = await Seed.create(processes[0].database_url, processes[0].issuer or processes[0].url)
    try:
        yield processes, seed
    finally:
        await seed.close()


async def _race(processes: list[ServerProcess], form: dict[str, str]) -> list[httpx.Response]:
    """The same token request, ``RACERS_PER_PROCESS`` times through each process at once."""
    clients = [
        httpx.AsyncClient(base_url=process.url, timeout=20)
        for process in processes
        for _ in range(RACERS_PER_PROCESS)
    ]
    try:
        await asyncio.gather(*(client.get("/healthz") for client in clients))  # connect first
        return list(
            await asyncio.gather(*(client.post(TOKEN_PATH, data=form) for client in clients))
        )
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))


def _rows(
    database_url: str, query: sa.Select[tuple[object, ...]]
) -> list[sa.Row[tuple[object, ...]]]:
    engine = sa.create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            return list(conn.execute(query))
    finally:
        engine.dispose()


async def test_one_code_raced_through_two_processes_is_exchanged_exactly_once(
    cluster: tuple[list[ServerProcess], Seed],
) -> None:
    processes, seed = cluster
    client_id = await seed.new_client("Code racer")
    grant_id = await seed.grant(client_id)
    (code,) = await seed.codes(1, grant_id, client_id)

    responses = await _race(processes, exchange_form(code, client_id))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [400] * (len(responses) - 1), [r.text for r in responses]
    assert {r.json()["error"] for r in responses if r.status_code == 400} == {"invalid_grant"}
    (consumed,) = _rows(
        seed.settings.database_url,
        sa.select(authorization_codes.c.consumed_at).where(
            authorization_codes.c.client_id == client_id
        ),
    )
    assert consumed.consumed_at is not None
    # The losers redeemed a consumed code with the right verifier: RFC 6749 §10.5 revokes the
    # grant, and with it the refresh token the winner received.
    (grant,) = _rows(
        seed.settings.database_url,
        sa.select(grants_table.c.revoked_at).where(grants_table.c.id == grant_id),
    )
    assert grant.revoked_at is not None
    winner = next(r for r in responses if r.status_code == 200).json()
    assert winner["grant_id"] == grant_id
    async with httpx.AsyncClient(base_url=processes[1].url) as client:
        again = await client.post(TOKEN_PATH, data=refresh_form(winner["refresh_token"], client_id))
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert invariants(seed.settings.database_url) == []


async def test_one_refresh_token_raced_through_two_processes_converges_on_one_successor(
    cluster: tuple[list[ServerProcess], Seed],
) -> None:
    processes, seed = cluster
    client_id = await seed.new_client("Refresh racer")
    grant_id = await seed.grant(client_id)
    presented = await seed.refresh_token(grant_id)

    responses = await _race(processes, refresh_form(presented, client_id))

    # every racer is a holder of the token within the grace window: all get the one successor
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    issued = [r.json()["refresh_token"] for r in responses]
    live = _rows(
        seed.settings.database_url,
        sa.select(refresh_tokens.c.token_hash).where(
            refresh_tokens.c.grant_id == grant_id,
            refresh_tokens.c.used_at.is_(None),
            refresh_tokens.c.revoked_at.is_(None),
        ),
    )
    assert len(live) == 1
    winners = [token for token in issued if seed.services.hasher.hash(token) == live[0].token_hash]
    assert winners == issued  # every response holds the live successor
    assert invariants(seed.settings.database_url) == []

    async with httpx.AsyncClient(base_url=processes[0].url) as client:
        onward = await client.post(TOKEN_PATH, data=refresh_form(winners[0], client_id))
    assert onward.status_code == 200
    assert onward.json()["grant_id"] == grant_id
    assert invariants(seed.settings.database_url) == []
