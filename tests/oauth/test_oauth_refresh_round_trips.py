"""How many statements a code exchange and a refresh-token rotation send to PostgreSQL,
counted at the driver (asyncpg's public query logger), so that a change adding a round trip
is noticed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from oauth_token_world import TokenWorld, make_token_world
from sqlalchemy import event, text

pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)

# One transaction: BEGIN, the client, the token with its grant (locking the grant), one
# statement that marks the token used, touches the grant and inserts the successor, COMMIT
# (docs/architecture.md "Transactions").
ROTATION_STATEMENTS = 5
# BEGIN, the client, the code (consumed), the live grants (locked), one statement that finds
# the grant's chains beyond the limit and inserts the new chain with its first refresh token,
# the client's last use, COMMIT.
EXCHANGE_STATEMENTS = 7


@pytest.fixture
async def world(app_client: httpx.AsyncClient) -> TokenWorld:
    return await make_token_world(app_client)


async def _sent_during(
    world: TokenWorld, request: Callable[[], Awaitable[httpx.Response]]
) -> tuple[httpx.Response, list[str]]:
    db = world.services.db
    await db.dispose()  # every connection from now on is checked out afresh, and logged
    sent: list[str] = []
    watched: set[int] = set()

    def log(record: Any) -> None:
        sent.append(record.query)

    def watch(_dbapi: Any, _record: Any, proxy: Any) -> None:
        driver = proxy.driver_connection
        if id(driver) not in watched:
            watched.add(id(driver))
            driver.add_query_logger(log)

    event.listen(db.engine.sync_engine, "checkout", watch)
    try:
        await world.scalar(text("SELECT 1"))
        await asyncio.sleep(0)  # asyncpg calls its loggers soon after, not at once
        sent.clear()  # the warm-up's own statements and pings
        response = await request()
        await asyncio.sleep(0)
    finally:
        event.remove(db.engine.sync_engine, "checkout", watch)
    return response, sent


async def test_a_rotation_sends_a_fixed_number_of_statements(world: TokenWorld) -> None:
    body = await world.tokens(await world.code())
    response, sent = await _sent_during(world, lambda: world.refresh(body["refresh_token"]))
    assert response.status_code == 200, response.text
    assert len(sent) == ROTATION_STATEMENTS, "\n".join(sent)


async def test_an_exchange_sends_a_fixed_number_of_statements(world: TokenWorld) -> None:
    code = await world.code()
    response, sent = await _sent_during(world, lambda: world.post(code.form()))
    assert response.status_code == 200, response.text
    assert len(sent) == EXCHANGE_STATEMENTS, "\n".join(sent)
