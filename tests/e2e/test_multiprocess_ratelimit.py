"""The partner API's request budgets (SPEC §4: per token; also per grant) hold across server
processes when they share Redis (``I18N_CONNECT_REDIS_URL``): two processes on one PostgreSQL
database count one token's, and one grant's, requests in the same window.

Only this test's keys are touched in Redis: they carry the ids of the installation
tokens and the grant made here, and are deleted afterwards.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import httpx
import pytest
import redis
from multiprocess_support import Seed, ServerProcess, fresh_postgres, servers

pytestmark = pytest.mark.timeout(60)

REDIS_URL = os.environ.get("I18N_CONNECT_TEST_REDIS", "redis://127.0.0.1:6379/0")
LIMIT = 10  # per token
GRANT_LIMIT = 15  # every token of one grant together
KEY_PREFIX = "i18n-connect:rl:"  # the limiter's keys embed the token or grant id


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI but unreachable: {exc}")
        pytest.skip(f"Redis unreachable at {REDIS_URL}: {exc}")
    yield client
    client.close()


@pytest.fixture
def limited_processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ServerProcess]]:
    env = {
        "I18N_CONNECT_REDIS_URL": REDIS_URL,
        "I18N_CONNECT_API_RATE_PER_MINUTE": str(LIMIT),
        "I18N_CONNECT_API_GRANT_RATE_PER_MINUTE": str(GRANT_LIMIT),
    }
    with fresh_postgres() as url, servers(url, tmp_path_factory.mktemp("rl"), 2, **env) as started:
        yield started


def _wait_for_a_fresh_window(margin: float = 5) -> None:
    """The limit counts in fixed minutes: start far enough from the next boundary."""
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.1)


async def test_the_token_and_grant_budgets_are_shared_by_two_processes_through_redis(
    limited_processes: list[ServerProcess], redis_client: redis.Redis
) -> None:
    first = limited_processes[0]
    seed = await Seed.create(first.database_url, first.issuer or first.url)
    try:
        grant_id = await seed.grant()
        busy, second = [await seed.installation_token(grant_id) for _ in range(2)]
    finally:
        await seed.close()
    path = f"/api/oauth-client/v1/projects/{seed.project_id}"
    clients = [httpx.AsyncClient(base_url=p.url, timeout=10) for p in limited_processes]

    async def statuses(token: str, count: int) -> list[tuple[int, str | None]]:
        """Alternate between the processes: neither alone sees every request."""
        seen = []
        for index in range(count):
            response = await clients[index % 2].get(
                path, headers={"Authorization": f"Bearer {token}"}
            )
            budget = None
            if response.status_code == 429:
                assert response.json()["error"] == "rate_limited"
                assert int(response.headers["retry-after"]) >= 1
                budget = response.json()["budget"]
            seen.append((response.status_code, budget))
        return seen

    try:
        _wait_for_a_fresh_window()
        assert await statuses(busy.token, LIMIT + 4) == [(200, None)] * LIMIT + [(429, "token")] * 4
        left = GRANT_LIMIT - LIMIT
        assert await statuses(second.token, left + 2) == [(200, None)] * left + [(429, "grant")] * 2
        keys = list(redis_client.scan_iter(match=f"{KEY_PREFIX}*{busy.id}*"))
        assert len(keys) == 1
        assert int(redis_client.get(keys[0]) or 0) == LIMIT  # refused requests are not counted
        (grant_key,) = redis_client.scan_iter(match=f"{KEY_PREFIX}grant:{grant_id}:*")
        assert int(redis_client.get(grant_key) or 0) == GRANT_LIMIT
    finally:
        for client in clients:
            await client.aclose()
        for pattern in (busy.id, second.id, f"grant:{grant_id}", f"client:{seed.client_id}"):
            for key in redis_client.scan_iter(match=f"{KEY_PREFIX}*{pattern}*"):
                redis_client.delete(key)
