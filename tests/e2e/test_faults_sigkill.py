"""A server killed with SIGKILL in the middle of a code-exchange load (RFC 6749 §4.1.3, SPEC
§8): every token response a client received stays valid after a restart, no transaction is
left half-written, and the server starts cleanly on the same database — on SQLite (WAL)
and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from multiprocess_support import (
    TOKEN_PATH,
    Seed,
    ServerProcess,
    exchange_form,
    fresh_postgres,
    invariants,
    refresh_form,
)

from i18n_connect.storage.migrate import upgrade

pytestmark = pytest.mark.timeout(60)

CODES = 120
CONCURRENCY = 6
KILL_AFTER_RESPONSES = 25


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'killed.db'}"
        upgrade(url)
        yield url
        return
    with fresh_postgres() as url:
        yield url


async def _seed_codes(database: str, issuer: str) -> tuple[Seed, list[tuple[str, str]]]:
    """One client, grant and code per exchange (a later code of a grant replaces its chain)."""
    seed = await Seed.create(database, issuer)
    pairs = []
    for index in range(CODES):
        client_id = await seed.new_client(f"Partner {index}")
        (code,) = await seed.codes(1, await seed.grant(client_id), client_id)
        pairs.append((code, client_id))
    return seed, pairs


async def _exchange_until_killed(
    server: ServerProcess, pairs: list[tuple[str, str]]
) -> tuple[list[tuple[str, dict[str, str]]], int]:
    """Exchange codes from several connections; SIGKILL the server part-way through.

    Returns the successful responses (with their client) and how many requests failed
    in transport because the server died.
    """
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for pair in pairs:
        queue.put_nowait(pair)
    received: list[tuple[str, dict[str, str]]] = []
    failed = 0
    killed = asyncio.Event()

    async def worker() -> None:
        nonlocal failed
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            while not queue.empty() and not killed.is_set():
                code, client_id = queue.get_nowait()
                try:
                    response = await client.post(TOKEN_PATH, data=exchange_form(code, client_id))
                except httpx.TransportError:
                    failed += 1
                    continue
                assert response.status_code == 200, response.text
                received.append((client_id, response.json()))
                if len(received) >= KILL_AFTER_RESPONSES and not killed.is_set():
                    killed.set()
                    server.kill()

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return received, failed


async def test_sigkill_during_code_exchange_loses_nothing_that_was_answered(
    database: str, tmp_path: Path
) -> None:
    server = ServerProcess(database, tmp_path)
    seed, pairs = await _seed_codes(database, server.url)
    try:
        server.start()
        received, _failed = await _exchange_until_killed(server, pairs)
        assert server.process is not None and server.process.returncode == -9
        assert len(received) >= KILL_AFTER_RESPONSES
        assert invariants(database) == []  # nothing half-written by the cut-off transactions

        restarted = ServerProcess(database, tmp_path, port=server.port).start()
        try:
            async with httpx.AsyncClient(base_url=restarted.url, timeout=10) as client:
                for client_id, body in received:
                    me = await client.get(
                        "/api/oauth-client/me",
                        headers={"authorization": f"Bearer {body['access_token']}"},
                    )
                    assert me.status_code == 200, me.text
                    assert [g["grant_id"] for g in me.json()["grants"]] == [body["grant_id"]]
                    renewed = await client.post(
                        TOKEN_PATH, data=refresh_form(body["refresh_token"], client_id)
                    )
                    assert renewed.status_code == 200, renewed.text
                    assert renewed.json()["grant_id"] == body["grant_id"]
            assert invariants(database) == []
            assert "Traceback" not in restarted.log()
        finally:
            restarted.stop()
    finally:
        await seed.close()
