"""The installation-token cache: one mint per key under concurrency, renewal 60 s before expiry."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from i18n_connect.client import GrantRevoked, InstallationToken, InstallationTokenCache


class Clock:
    def __init__(self) -> None:
        self.value = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.value

    def advance(self, **delta: float) -> None:
        self.value += timedelta(**delta)


class Minter:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.count = 0

    async def __call__(self) -> InstallationToken:
        self.count += 1
        await asyncio.sleep(0.01)  # let every concurrent caller arrive while minting
        return InstallationToken(
            token=f"bi_oat_{self.count}",
            expires_at=self.clock() + timedelta(hours=1),
            expires_in=3600,
            organization_id="org_1",
            project_ids=(),
            scopes=("org:read",),
        )


async def test_hundred_concurrent_callers_share_one_mint() -> None:
    clock = Clock()
    cache, mint = InstallationTokenCache(now=clock), Minter(clock)
    tokens = await asyncio.gather(*(cache.get("grt_1", "org_1", mint) for _ in range(100)))
    assert mint.count == 1
    assert {t.token for t in tokens} == {"bi_oat_1"}


async def test_keys_do_not_share_tokens() -> None:
    clock = Clock()
    cache, mint = InstallationTokenCache(now=clock), Minter(clock)
    first = await cache.get("grt_1", "org_1", mint)
    second = await cache.get("grt_2", "org_2", mint)
    assert (first.token, second.token, mint.count) == ("bi_oat_1", "bi_oat_2", 2)


async def test_token_is_reused_until_sixty_seconds_before_expiry() -> None:
    clock = Clock()
    cache, mint = InstallationTokenCache(now=clock), Minter(clock)
    await cache.get("grt_1", "org_1", mint)
    clock.advance(minutes=58, seconds=59)
    assert (await cache.get("grt_1", "org_1", mint)).token == "bi_oat_1"
    clock.advance(seconds=1)  # exactly 60 s before expiry: renew
    assert (await cache.get("grt_1", "org_1", mint)).token == "bi_oat_2"
    assert mint.count == 2


async def test_concurrent_renewal_also_mints_once() -> None:
    clock = Clock()
    cache, mint = InstallationTokenCache(now=clock), Minter(clock)
    await cache.get("grt_1", "org_1", mint)
    clock.advance(minutes=59, seconds=30)
    tokens = await asyncio.gather(*(cache.get("grt_1", "org_1", mint) for _ in range(100)))
    assert mint.count == 2 and {t.token for t in tokens} == {"bi_oat_2"}


async def test_a_failed_mint_caches_nothing_and_the_next_caller_retries() -> None:
    clock = Clock()
    cache, good = InstallationTokenCache(now=clock), Minter(clock)

    async def revoked() -> InstallationToken:
        raise GrantRevoked("revoked", status=410)

    with pytest.raises(GrantRevoked):
        await cache.get("grt_1", "org_1", revoked)
    assert (await cache.get("grt_1", "org_1", good)).token == "bi_oat_1"


async def test_invalidate_forces_a_new_mint() -> None:
    clock = Clock()
    cache, mint = InstallationTokenCache(now=clock), Minter(clock)
    await cache.get("grt_1", "org_1", mint)
    cache.invalidate("grt_1", "org_1")
    assert (await cache.get("grt_1", "org_1", mint)).token == "bi_oat_2"
