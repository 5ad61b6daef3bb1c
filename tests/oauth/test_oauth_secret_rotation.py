"""Client secret rotation with a grace period: the token endpoint accepts the rotated-out
secret until its deadline and not after; 0 ends it at once; more than 7 days is refused."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from oauth_token_world import TokenWorld, basic, make_token_world
from sqlalchemy import select

from i18n_connect.clock import FrozenClock
from i18n_connect.errors import ConflictError, InvalidRequest
from i18n_connect.oauth import client_lifecycle
from i18n_connect.oauth.client_lifecycle import RotatedSecret, existing_client
from i18n_connect.storage.oauth_tables import oauth_clients
from i18n_connect.storage.tables import audit_events


@pytest.fixture
async def world(app_client: httpx.AsyncClient) -> TokenWorld:
    return await make_token_world(app_client)


async def rotate(world: TokenWorld, grace: timedelta, client_id: str = "") -> RotatedSecret:
    services = world.services
    async with services.db.transaction() as conn:
        client = await existing_client(conn, client_id or world.confidential_id)
        return await client_lifecycle.rotate_secret(
            conn, client, grace=grace, actor="cli", now=services.clock.now(), hasher=services.hasher
        )


async def exchange_status(world: TokenWorld, secret: str) -> tuple[int, str | None]:
    """Exchange a fresh code of the confidential client, authenticating with ``secret``."""
    code = await world.code(client_id=world.confidential_id)
    headers = {"Authorization": basic(world.confidential_id, secret)}
    response = await world.post(code.form(client_id=None), headers=headers)
    return response.status_code, response.json().get("error")


async def test_old_secret_works_within_the_grace_and_stops_after_it(
    world: TokenWorld, clock: FrozenClock
) -> None:
    old = world.confidential_secret
    rotated = await rotate(world, timedelta(hours=24))
    assert rotated.secret.startswith("cs_") and rotated.secret != old
    assert rotated.previous_accepted_until == clock.now() + timedelta(hours=24)
    assert await exchange_status(world, rotated.secret) == (200, None)
    assert await exchange_status(world, old) == (200, None)
    clock.advance(hours=23, minutes=59)
    assert await exchange_status(world, old) == (200, None)
    clock.advance(minutes=1)  # the deadline itself is past the grace
    assert await exchange_status(world, old) == (401, "invalid_client")
    assert await exchange_status(world, rotated.secret) == (200, None)


async def test_grace_zero_stops_the_old_secret_at_once(world: TokenWorld) -> None:
    old = world.confidential_secret
    rotated = await rotate(world, timedelta(0))
    assert rotated.previous_accepted_until is None
    assert await exchange_status(world, old) == (401, "invalid_client")
    assert await exchange_status(world, rotated.secret) == (200, None)
    async with world.services.db.transaction(readonly=True) as conn:
        row = (
            await conn.execute(
                select(oauth_clients).where(oauth_clients.c.id == world.confidential_id)
            )
        ).one()
    assert (row.previous_secret_hash, row.previous_secret_expires_at) == (None, None)
    assert row.secret_hash == world.services.hasher.hash(rotated.secret)


async def test_a_second_rotation_drops_the_first_secret_even_within_its_grace(
    world: TokenWorld,
) -> None:
    first = world.confidential_secret
    second = (await rotate(world, timedelta(days=1))).secret
    third = (await rotate(world, timedelta(days=1))).secret
    assert await exchange_status(world, first) == (401, "invalid_client")
    assert await exchange_status(world, second) == (200, None)
    assert await exchange_status(world, third) == (200, None)


@pytest.mark.parametrize("grace", [timedelta(days=7, seconds=1), timedelta(seconds=-1)])
async def test_a_grace_outside_0_to_7_days_is_refused_and_nothing_changes(
    world: TokenWorld, grace: timedelta
) -> None:
    with pytest.raises(InvalidRequest, match="between 0 and 7 days"):
        await rotate(world, grace)
    assert await exchange_status(world, world.confidential_secret) == (200, None)


async def test_seven_days_is_the_longest_grace(world: TokenWorld, clock: FrozenClock) -> None:
    rotated = await rotate(world, timedelta(days=7))
    assert rotated.previous_accepted_until == clock.now() + timedelta(days=7)


async def test_a_public_client_has_no_secret_to_rotate(world: TokenWorld) -> None:
    with pytest.raises(InvalidRequest, match="public client has no secret"):
        await rotate(world, timedelta(hours=1), client_id=world.public_id)


async def test_a_rotation_based_on_a_stale_read_loses(world: TokenWorld) -> None:
    """Two rotations from the same read: the second finds the secret changed and changes
    nothing (a conditional UPDATE on the old hash)."""
    services = world.services
    async with services.db.transaction(readonly=True) as conn:
        stale = await existing_client(conn, world.confidential_id)
    winner = await rotate(world, timedelta(hours=1))
    async with services.db.transaction() as conn:
        with pytest.raises(ConflictError):
            await client_lifecycle.rotate_secret(
                conn,
                stale,
                grace=timedelta(hours=1),
                actor="cli",
                now=services.clock.now(),
                hasher=services.hasher,
            )
    assert await exchange_status(world, winner.secret) == (200, None)


async def test_rotation_is_audited_without_the_secret(world: TokenWorld) -> None:
    rotated = await rotate(world, timedelta(hours=2))
    async with world.services.db.transaction(readonly=True) as conn:
        event = (
            await conn.execute(
                select(audit_events).where(audit_events.c.action == "client.secret_rotated")
            )
        ).one()
    assert (event.actor, event.client_id) == ("cli", world.confidential_id)
    assert event.detail["grace_seconds"] == 7200
    assert rotated.secret not in str(event._mapping)
