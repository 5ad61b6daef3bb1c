"""One place where the SDK sends HTTP requests and turns error responses into exceptions.

Retrying a 429 is opt-in (``RetryPolicy``): it honours ``Retry-After``
(RFC 9110 §10.2.3, RFC 6585 §4) and gives up after a bounded number of
attempts or when the server asks for a longer wait than allowed. The same policy
retries a 409 ``idempotency_key_in_flight`` (a write with the same
``Idempotency-Key`` still running): every attempt of a call sends the same key,
so a retry answers the first request's answer instead of writing again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from i18n_connect.client.errors import IdempotencyKeyInFlight, RateLimited, error_from_response

__all__ = ["Requester", "RetryPolicy"]

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retry 429 answers (and 409 ``idempotency_key_in_flight``) up to ``max_retries`` times,
    each wait at most ``max_wait`` seconds."""

    max_retries: int = 3
    max_wait: float = 60.0


class Requester:
    """Sends requests relative to a base URL; raises typed errors for non-2xx answers."""

    def __init__(
        self,
        base_url: str,
        http: httpx.AsyncClient,
        *,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.retry = retry
        self._sleep = sleep

    async def request(
        self,
        method: str,
        path: str,
        *,
        bearer: str | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """The 2xx response, or the typed error of any other (after opt-in 429 retries).
        ``idempotency_key`` is sent as ``Idempotency-Key``, the same on every attempt."""
        headers = {"Accept": "application/json"}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        attempt = 0
        while True:
            response = await self.http.request(
                method,
                self.base_url + path,
                headers=headers,
                json=json,
                data=data,
                params=params,
                auth=httpx.BasicAuth(*auth) if auth else httpx.USE_CLIENT_DEFAULT,
            )
            if response.is_success:
                return response
            error = error_from_response(response)
            if (
                isinstance(error, RateLimited | IdempotencyKeyInFlight)
                and self.retry is not None
                and attempt < self.retry.max_retries
                and error.retry_after <= self.retry.max_wait
            ):
                attempt += 1
                await self._sleep(error.retry_after)
                continue
            raise error
