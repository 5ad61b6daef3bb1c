"""The partner API's request budgets — per token, per grant, per client — in process memory,
or shared through Redis."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from api_world import World
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from i18n_connect.clock import FrozenClock
from i18n_connect.ratelimit import (
    Budget,
    Exceeded,
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


def one(key: str, limit: int) -> list[Budget]:
    return [Budget("token", key, limit)]


async def test_counts_up_to_the_limit_then_says_how_long_to_wait(limiter: RateLimiter) -> None:
    now = START + timedelta(seconds=15)
    budget = one("api:a", 3)
    results = [await limiter.spend(budget, window=60, now=now) for _ in range(5)]
    assert results == [None, None, None, Exceeded(budget[0], 45), Exceeded(budget[0], 45)]
    assert await limiter.spend(one("api:b", 3), window=60, now=now) is None
    assert await limiter.spend(budget, window=60, now=START + timedelta(seconds=60)) is None


async def test_a_request_counts_against_every_budget_or_none(limiter: RateLimiter) -> None:
    wide, narrow, other = (
        Budget("client", "c", 3),
        Budget("token", "t1", 1),
        Budget("token", "t2", 5),
    )
    assert await limiter.spend([wide, narrow], window=60, now=START) is None
    for _ in range(3):  # refused by the token budget: the client budget is not touched
        assert await limiter.spend([wide, narrow], window=60, now=START) == Exceeded(narrow, 60)
    assert await limiter.spend([wide, other], window=60, now=START) is None
    assert await limiter.spend([wide, other], window=60, now=START) is None
    assert await limiter.spend([wide, other], window=60, now=START) == Exceeded(wide, 60)


async def test_the_first_budget_without_room_is_named(limiter: RateLimiter) -> None:
    wide, narrow = Budget("client", "c", 1), Budget("token", "t", 1)
    assert await limiter.spend([wide, narrow], window=60, now=START) is None
    assert await limiter.spend([wide, narrow], window=60, now=START) == Exceeded(wide, 60)


async def test_redis_counts_are_shared_by_every_process(redis_prefix: str) -> None:
    first = RedisRateLimiter(REDIS_URL, prefix=redis_prefix)
    second = RedisRateLimiter(REDIS_URL, prefix=redis_prefix)
    budget = one("api:t", 2)
    assert await first.spend(budget, window=60, now=START) is None
    assert await second.spend(budget, window=60, now=START) is None
    assert await first.spend(budget, window=60, now=START) == Exceeded(budget[0], 60)
    await first.close()
    await second.close()


async def test_redis_checks_every_budget_in_one_round_trip(
    redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    limiter = RedisRateLimiter(REDIS_URL, prefix=redis_prefix)
    sent: list[tuple[object, ...]] = []
    original = Redis.execute_command

    async def counted(self: Redis, *args: object, **options: object) -> object:
        sent.append(args)
        return await original(self, *args, **options)

    monkeypatch.setattr(Redis, "execute_command", counted)
    budgets = [Budget("client", "c", 5), Budget("grant", "g", 5), Budget("token", "t", 5)]
    assert await limiter.spend(budgets, window=60, now=START) is None  # loads the script once
    sent.clear()
    assert await limiter.spend(budgets, window=60, now=START) is None
    assert [args[0] for args in sent] == ["EVALSHA"]
    await limiter.close()


async def test_local_counts_are_per_process() -> None:
    first, second = LocalRateLimiter(), LocalRateLimiter()
    assert await first.spend(one("api:t", 1), window=60, now=START) is None
    assert await second.spend(one("api:t", 1), window=60, now=START) is None


async def test_an_unreachable_redis_lets_requests_through() -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0")
    assert await limiter.spend(one("api:t", 0), window=60, now=START) is None
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
        "error_description": "Too many requests for this token; retry after 10 s.",
        "budget": "token",
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


def use_limiter(world: World, request: pytest.FixtureRequest, mode: str) -> None:
    if mode == "redis":
        world.services.api_limiter = RedisRateLimiter(
            REDIS_URL, prefix=request.getfixturevalue("redis_prefix")
        )


def ten_seconds_before_a_window_ends(clock: FrozenClock) -> None:
    clock.advance(seconds=60 - clock.now().second + 50)


async def get_organizations(world: World, token: str) -> httpx.Response:
    return await world.http.get("/api/oauth-client/organizations", headers={"x-api-key": token})


def assert_limited(response: httpx.Response, budget: str, whose: str) -> None:
    assert response.status_code == 429
    assert response.json() == {
        "error": "rate_limited",
        "error_description": f"Too many requests for {whose}; retry after 10 s.",
        "budget": budget,
    }
    assert response.headers["Retry-After"] == "10"


@pytest.mark.parametrize("mode", ["local", "redis"])
async def test_many_tokens_of_one_grant_share_the_grant_budget(
    world: World, clock: FrozenClock, request: pytest.FixtureRequest, mode: str
) -> None:
    use_limiter(world, request, mode)
    world.services.settings.api_grant_rate_per_minute = 3
    ten_seconds_before_a_window_ends(clock)
    tokens = [await world.mint() for _ in range(4)]  # fresh tokens, each with its own budget
    assert [(await get_organizations(world, t)).status_code for t in tokens[:3]] == [200] * 3

    assert_limited(await get_organizations(world, tokens[3]), "grant", "this grant")
    assert_limited(await get_organizations(world, await world.mint()), "grant", "this grant")
    other_grant = await world.mint("globex")
    assert (await get_organizations(world, other_grant)).status_code == 200
    clock.advance(seconds=10)
    assert (await get_organizations(world, tokens[3])).status_code == 200
    await world.services.api_limiter.close()


@pytest.mark.parametrize("mode", ["local", "redis"])
async def test_several_grants_of_one_client_share_the_client_budget(
    world: World, clock: FrozenClock, request: pytest.FixtureRequest, mode: str
) -> None:
    use_limiter(world, request, mode)
    world.services.settings.api_client_rate_per_minute = 3
    ten_seconds_before_a_window_ends(clock)
    tokens = [await world.mint(org) for org in ("acme", "globex", "initech")]  # two users
    assert [(await get_organizations(world, t)).status_code for t in tokens] == [200] * 3

    for token in tokens:
        assert_limited(await get_organizations(world, token), "client", "this client")
    clock.advance(seconds=10)
    assert (await get_organizations(world, tokens[0])).status_code == 200
    await world.services.api_limiter.close()


async def test_a_request_refused_by_its_token_budget_spends_no_grant_budget(
    world: World, clock: FrozenClock
) -> None:
    settings = world.services.settings
    settings.api_rate_per_minute, settings.api_grant_rate_per_minute = 1, 2
    ten_seconds_before_a_window_ends(clock)
    busy, quiet = await world.mint(), await world.mint()
    assert (await get_organizations(world, busy)).status_code == 200
    for _ in range(5):
        assert_limited(await get_organizations(world, busy), "token", "this token")
    assert (await get_organizations(world, quiet)).status_code == 200
    assert_limited(await get_organizations(world, quiet), "grant", "this grant")
