"""Request budgets (SPEC §4: 1,000 requests a minute per installation token) kept outside the
database: the partner API and MCP count each request against the budget of its token, of its
grant and of its client; the token endpoint counts each request against its client's.

A token budget alone would multiply: a grant mints 60 tokens a minute, and a client holds
many grants. A request is let through only if every one of its budgets has room, and then
counts against all of them at once; a refused request counts against none, so one busy token
cannot use up its grant's or client's budget with requests that were refused anyway.

Fixed windows aligned to multiples of the window length. With
``I18N_CONNECT_REDIS_URL`` set, every server process counts in Redis — one
Lua script checks and counts all of a request's budgets in one round trip — so
the budgets hold across processes and machines. Without Redis each process
counts on its own: the budgets are then per process (N processes allow up to N
times the rate). These counters are an abuse guard, not correctness state —
revocation never depends on them — so they stay off the database's hot path.
When Redis cannot be reached the request is let through and a warning is logged.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from i18n_connect.errors import RateLimited
from i18n_connect.settings import Settings

__all__ = [
    "Budget",
    "Exceeded",
    "LocalRateLimiter",
    "RateLimiter",
    "RedisRateLimiter",
    "build_rate_limiter",
    "spend_api_request",
    "spend_token_request",
]

WINDOW_SECONDS = 60
_MAX_LOCAL_KEYS = 100_000  # the local table forgets old windows, and never grows past this
_log = structlog.get_logger("i18n_connect.ratelimit")

# KEYS: one counter per budget; ARGV[1]: seconds a counter lives; ARGV[i + 1]: limit of KEYS[i].
# Returns 0 after counting the request against every budget, or the index (1-based) of the
# first budget with no room left, counting nothing.
_SPEND_SCRIPT = """
for i = 1, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') >= tonumber(ARGV[i + 1]) then
    return i
  end
end
for i = 1, #KEYS do
  if redis.call('INCR', KEYS[i]) == 1 then
    redis.call('EXPIRE', KEYS[i], ARGV[1])
  end
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Budget:
    """``limit`` requests a window for ``key``; ``name`` is what a 429 calls it."""

    name: str
    key: str
    limit: int


@dataclass(frozen=True, slots=True)
class Exceeded:
    budget: Budget
    retry_after: int  # seconds until the window ends


class RateLimiter(Protocol):
    async def spend(
        self, budgets: Sequence[Budget], *, window: int, now: datetime
    ) -> Exceeded | None:
        """Count one request against every budget if all have room, else the first without."""

    async def close(self) -> None: ...


def _window(now: datetime, window: int) -> tuple[int, int]:
    """The current window's start (epoch seconds) and the whole seconds left in it."""
    epoch = now.timestamp()
    start = int(epoch) // window * window
    return start, max(1, math.ceil(start + window - epoch))


class LocalRateLimiter:
    """Counts in this process's memory (one server process, or per-process budgets)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._start: int | None = None

    async def spend(
        self, budgets: Sequence[Budget], *, window: int, now: datetime
    ) -> Exceeded | None:
        start, retry_after = _window(now, window)
        if start != self._start or len(self._counts) >= _MAX_LOCAL_KEYS:
            self._counts = {k: v for k, v in self._counts.items() if k[1] >= start}
            if len(self._counts) >= _MAX_LOCAL_KEYS:  # a flood of keys: forget, as Redis down
                _log.warning("rate_limit_table_full", keys=len(self._counts))
                self._counts = {}
            self._start = start
        slots = [(budget.key, start) for budget in budgets]
        for budget, slot in zip(budgets, slots, strict=True):
            if self._counts.get(slot, 0) >= budget.limit:
                return Exceeded(budget, retry_after)
        for slot in slots:
            self._counts[slot] = self._counts.get(slot, 0) + 1
        return None

    async def close(self) -> None:
        self._counts.clear()


class RedisRateLimiter:
    """Counts in Redis, shared by every process that uses the same Redis."""

    def __init__(self, url: str, *, prefix: str = "i18n-connect:rl:") -> None:
        self._redis: Redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._spend = self._redis.register_script(_SPEND_SCRIPT)
        self._prefix = prefix

    async def spend(
        self, budgets: Sequence[Budget], *, window: int, now: datetime
    ) -> Exceeded | None:
        start, retry_after = _window(now, window)
        keys = [f"{self._prefix}{budget.key}:{start}" for budget in budgets]
        try:
            full = int(await self._spend(keys=keys, args=[window * 2, *(b.limit for b in budgets)]))
        except (RedisError, OSError) as exc:
            _log.warning("rate_limit_unavailable", error=type(exc).__name__)
            return None
        return Exceeded(budgets[full - 1], retry_after) if full else None

    async def close(self) -> None:
        await self._redis.aclose()


def build_rate_limiter(redis_url: str | None) -> RateLimiter:
    """Redis when configured, else this process's memory."""
    return RedisRateLimiter(redis_url) if redis_url else LocalRateLimiter()


_WHOSE = {
    "client": "this client",
    "grant": "this grant",
    "token": "this token",
    "token_endpoint": "this client at the token endpoint",
}


def _refuse(exceeded: Exceeded) -> RateLimited:
    wait = exceeded.retry_after
    whose = _WHOSE[exceeded.budget.name]
    return RateLimited(
        wait, f"Too many requests for {whose}; retry after {wait} s.", budget=exceeded.budget.name
    )


async def spend_api_request(
    limiter: RateLimiter,
    settings: Settings,
    *,
    token_id: str,
    grant_ids: Iterable[str],
    client_id: str,
    now: datetime,
) -> None:
    """Count one partner-API or MCP request against its client's, grants' and token's budgets;
    `RateLimited` naming the widest budget without room."""
    budgets = [
        Budget("client", f"client:{client_id}", settings.api_client_rate_per_minute),
        *(
            Budget("grant", f"grant:{grant_id}", settings.api_grant_rate_per_minute)
            for grant_id in grant_ids
        ),
        Budget("token", f"token:{token_id}", settings.api_rate_per_minute),
    ]
    exceeded = await limiter.spend(budgets, window=WINDOW_SECONDS, now=now)
    if exceeded is not None:
        raise _refuse(exceeded)


async def spend_token_request(
    limiter: RateLimiter, settings: Settings, *, client_id: str, now: datetime
) -> None:
    """Count one token-endpoint request against the budget of the client it names (not yet
    authenticated: the id is hashed, so any string costs one short key)."""
    digest = hashlib.sha256(client_id.encode()).hexdigest()[:32]
    budget = Budget("token_endpoint", f"oauth-token:{digest}", settings.token_rate_per_minute)
    exceeded = await limiter.spend([budget], window=WINDOW_SECONDS, now=now)
    if exceeded is not None:
        raise _refuse(exceeded)
