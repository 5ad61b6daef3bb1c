"""The partner API's per-token request limit: in process memory, or shared through Redis."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from api_world import World
from redis import Redis as SyncRedis

from i18n_connect.clock import FrozenClock
from i18n_connect.ratelimit import (
    LocalRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    build_rate_limiter,
)

REDIS_URL = os.environ.get("I18N_CONNECT_TEST_REDIS", "redis://127.0.0.1:6379/0")
START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _redis_problem() -> str | None:
    client = SyncRedis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
        return None
    except Exception as exc:
        return str(exc)
    finally:
        client.close()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test in the local Redis; its keys are deleted afterwards."""
    problem = _redis_problem()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI but unreachable: {problem}")
        pytest.skip(f"Redis unreachable at {REDIS_URL}: {problem}")
    prefix = f"i18n-connect-test:{uuid.uuid4().hex}:"
    yield prefix
    client = SyncRedis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(params=["local", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[RateLimiter]:
    if request.param == "local":
        built: RateLimiter = LocalRateLimiter()
    else:
        built = RedisRateLimiter(REDIS_URL, prefix=request.getfixturevalue("redis_prefix"))
    yield built
    await built.close()


async def test_counts_up_to_the_limit_then_says_how_long_to_wait(limiter: RateLimiter) -> None:
    now = START + timedelta(seconds=15)
    results = [await limiter.hit("api:a", limit=3, window=60, now=now) for _ in range(5)]
    assert results == [None, None, None, 45, 45]
    assert await limiter.hit("api:b", limit=3, window=60, now=now) is None
    assert await limiter.hit("api:a", limit=3, window=60, now=START + timedelta(seconds=60)) is None


async def test_redis_counts_are_shared_by_every_process(redis_prefix: str) -> None:
    first = RedisRateLimiter(REDIS_URL, prefix=redis_prefix)
    second = RedisRateLimiter(REDIS_URL, prefix=redis_prefix)
    assert await first.hit("api:t", limit=2, window=60, now=START) is None
    assert await second.hit("api:t", limit=2, window=60, now=START) is None
    assert await first.hit("api:t", limit=2, window=60, now=START) == 60
    await first.close()
    await second.close()


async def test_local_counts_are_per_process() -> None:
    first, second = LocalRateLimiter(), LocalRateLimiter()
    assert await first.hit("api:t", limit=1, window=60, now=START) is None
    assert await second.hit("api:t", limit=1, window=60, now=START) is None


async def test_an_unreachable_redis_lets_requests_through() -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0")
    assert await limiter.hit("api:t", limit=0, window=60, now=START) is None
    await limiter.close()


def test_redis_is_used_only_when_configured() -> None:
    assert isinstance(build_rate_limiter(None), LocalRateLimiter)
    assert isinstance(build_rate_limiter(REDIS_URL), RedisRateLimiter)


@pytest.mark.parametrize("mode", ["local", "redis"])
async def test_the_api_answers_429_past_the_per_token_limit(
    world: World, clock: FrozenClock, request: pytest.FixtureRequest, mode: str
) -> None:
    services = world.services
    if mode == "redis":
        services.api_limiter = RedisRateLimiter(
            REDIS_URL, prefix=request.getfixturevalue("redis_prefix")
        )
    services.settings.api_rate_per_minute = 3
    clock.advance(seconds=60 - clock.now().second + 50)  # 10 s before a window ends
    busy, quiet = await world.mint(), await world.mint()
    url = "/api/oauth-client/organizations"
    statuses = [
        (await world.http.get(url, headers={"x-api-key": busy})).status_code for _ in range(3)
    ]
    assert statuses == [200, 200, 200]
    limited = await world.http.get(url, headers={"x-api-key": busy})
    assert limited.status_code == 429
    assert limited.json() == {
        "error": "rate_limited",
        "error_description": "Too many requests; retry after 10 s.",
    }
    assert limited.headers["Retry-After"] == "10"
    assert (await world.http.get(url, headers={"x-api-key": quiet})).status_code == 200
    clock.advance(seconds=10)
    assert (await world.http.get(url, headers={"x-api-key": busy})).status_code == 200
    await services.api_limiter.close()


async def test_unknown_tokens_are_refused_before_counting(world: World) -> None:
    world.services.settings.api_rate_per_minute = 1
    for _ in range(3):
        response = await world.http.get(
            "/api/oauth-client/organizations", headers={"x-api-key": "bi_oat_" + "B" * 43}
        )
        assert response.status_code == 401
    token = await world.mint()
    ok = await world.http.get("/api/oauth-client/organizations", headers={"x-api-key": token})
    assert ok.status_code == 200
