"""What a partner-API request costs the database: unknown tokens cost no write at all, and a
valid token records its grant's last use at most once a minute."""

from __future__ import annotations

from typing import Any

from api_world import World
from sqlalchemy import func, select

from i18n_connect.clock import FrozenClock
from i18n_connect.storage.oauth_tables import grants
from i18n_connect.storage.tables import audit_events, rate_counters

URL = "/api/oauth-client/organizations"


async def _state(world: World) -> tuple[Any, ...]:
    async with world.services.db.transaction(readonly=True) as conn:
        return (
            await conn.scalar(select(func.count()).select_from(rate_counters)),
            await conn.scalar(select(func.count()).select_from(audit_events)),
            tuple(await conn.scalars(select(grants.c.last_used_at).order_by(grants.c.id))),
        )


async def test_a_flood_of_unknown_tokens_writes_nothing(world: World) -> None:
    await world.mint()
    before = await _state(world)
    for index in range(20):
        junk = f"bi_oat_{index:043d}"
        for headers in ({"x-api-key": junk}, {"Authorization": f"Bearer {junk}"}):
            response = await world.http.get(URL, headers=headers)
            assert (response.status_code, response.json()["error"]) == (401, "invalid_token")
    assert await _state(world) == before


async def test_the_grant_records_its_last_use_at_most_once_a_minute(
    world: World, clock: FrozenClock
) -> None:
    token = await world.mint()

    async def last_used() -> Any:
        async with world.services.db.transaction(readonly=True) as conn:
            return await conn.scalar(
                select(grants.c.last_used_at).where(grants.c.id == world.grants["acme"])
            )

    assert await last_used() is None
    first = clock.now()
    assert (await world.http.get(URL, headers={"x-api-key": token})).status_code == 200
    assert await last_used() == first
    clock.advance(seconds=30)
    assert (await world.http.get(URL, headers={"x-api-key": token})).status_code == 200
    assert await last_used() == first
    later = clock.advance(seconds=31)
    assert (await world.http.get(URL, headers={"x-api-key": token})).status_code == 200
    assert await last_used() == later
