"""The ``idempotency_keys`` store: of concurrent claims of one key (two processes, each with
its own engine) exactly one wins; an answered key is kept; expired keys are taken over and
collected."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from i18n_connect.clock import FrozenClock
from i18n_connect.services import Services
from i18n_connect.settings import Settings
from i18n_connect.storage import idempotency_keys

DAY = timedelta(hours=24)


async def _claim(services: Services, clock: FrozenClock, request_hash: str = "a" * 64) -> object:
    now = clock.now()
    async with services.db.transaction() as conn:
        return await idempotency_keys.claim(
            conn,
            caller="grant:grt_1",
            key="k",
            request_hash=request_hash,
            now=now,
            expires_at=now + DAY,
            stale_before=now - timedelta(seconds=60),
        )


async def test_of_concurrent_claims_exactly_one_wins(
    settings: Settings, services: Services, clock: FrozenClock
) -> None:
    others = [Services.build(settings, clock=clock) for _ in range(3)]
    try:
        results = await asyncio.gather(
            *(_claim(each, clock) for each in [services, *others, services])
        )
    finally:
        for other in others:
            await other.db.dispose()
    assert sum(result is None for result in results) == 1
    held = [r for r in results if isinstance(r, idempotency_keys.IdempotencyRecord)]
    assert len(held) == len(results) - 1
    assert all(r.status is None for r in held)  # still running: 409 for them


async def test_an_answer_is_kept_and_an_expired_key_is_taken_over_then_collected(
    services: Services, clock: FrozenClock
) -> None:
    claimed_at = clock.now()
    assert await _claim(services, clock) is None
    async with services.db.transaction() as conn:
        assert await idempotency_keys.complete(
            conn,
            caller="grant:grt_1",
            key="k",
            claimed_at=claimed_at,
            status=201,
            headers={"content-type": "application/json"},
            body=b"sealed",
        )
    clock.advance(minutes=5)  # answered keys never go stale
    kept = await _claim(services, clock, "b" * 64)
    assert isinstance(kept, idempotency_keys.IdempotencyRecord)
    assert (kept.status, kept.body, kept.request_hash) == (201, b"sealed", "a" * 64)
    clock.advance(DAY)
    assert await _claim(services, clock, "b" * 64) is None  # expired, not yet collected
    async with services.db.transaction() as conn:
        # the old request's late answer does not overwrite the new claim
        assert not await idempotency_keys.complete(
            conn,
            caller="grant:grt_1",
            key="k",
            claimed_at=claimed_at,
            status=500,
            headers={},
            body=b"",
        )
        assert await idempotency_keys.delete_expired(conn, now=clock.now()) == 0
        assert await idempotency_keys.delete_expired(conn, now=clock.now() + DAY) == 1
        assert await idempotency_keys.find(conn, caller="grant:grt_1", key="k") is None
