"""The partner API's request limit per installation token (SPEC §4: 1,000 a minute).

Fixed windows aligned to multiples of the window length. With
``I18N_CONNECT_REDIS_URL`` set, every server process counts in one Redis key
per token and window (``INCR`` + ``EXPIRE`` in one round trip), so the limit
holds across processes and machines. Without Redis each process counts on
its own: the limit is then per process (N processes allow up to N times the
rate). This counter is an abuse guard, not correctness state — revocation
never depends on it — so it stays off the database's hot path. When Redis
cannot be reached the request is let through and a warning is logged.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

__all__ = ["LocalRateLimiter", "RateLimiter", "RedisRateLimiter", "build_rate_limiter"]

_MAX_LOCAL_KEYS = 100_000  # the local table forgets old windows, and never grows past this
_log = structlog.get_logger("i18n_connect.ratelimit")


class RateLimiter(Protocol):
    async def hit(self, key: str, *, limit: int, window: int, now: datetime) -> int | None:
        """Count one request; the seconds to wait when it is over ``limit``, else ``None``."""

    async def close(self) -> None: ...


def _window(now: datetime, window: int) -> tuple[int, int]:
    """The current window's start (epoch seconds) and the whole seconds left in it."""
    epoch = now.timestamp()
    start = int(epoch) // window * window
    return start, max(1, math.ceil(start + window - epoch))


class LocalRateLimiter:
    """Counts in this process's memory (one server process, or a per-process limit)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._start: int | None = None

    async def hit(self, key: str, *, limit: int, window: int, now: datetime) -> int | None:
        start, retry_after = _window(now, window)
        if start != self._start or len(self._counts) >= _MAX_LOCAL_KEYS:
            self._counts = {k: v for k, v in self._counts.items() if k[1] >= start}
            self._start = start
        slot = (key, start)
        count = self._counts.get(slot, 0) + 1
        self._counts[slot] = count
        return retry_after if count > limit else None

    async def close(self) -> None:
        self._counts.clear()


class RedisRateLimiter:
    """Counts in Redis, shared by every process that uses the same Redis."""

    def __init__(self, url: str, *, prefix: str = "i18n-connect:rl:") -> None:
        self._redis: Redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix

    async def hit(self, key: str, *, limit: int, window: int, now: datetime) -> int | None:
        start, retry_after = _window(now, window)
        name = f"{self._prefix}{key}:{start}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, window * 2)
                count, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            _log.warning("rate_limit_unavailable", error=type(exc).__name__)
            return None
        return retry_after if int(count) > limit else None

    async def close(self) -> None:
        await self._redis.aclose()


def build_rate_limiter(redis_url: str | None) -> RateLimiter:
    """Redis when configured, else this process's memory."""
    return RedisRateLimiter(redis_url) if redis_url else LocalRateLimiter()
