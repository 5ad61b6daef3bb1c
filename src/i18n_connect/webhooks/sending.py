"""One delivery attempt over HTTP (Standard Webhooks §"Sending"): a signed POST to the
endpoint, under the same server-side request forgery rules as metadata documents.

The host is resolved and every address checked (`addresses.checked_address`); the connection
goes to the checked address, TLS verified against the host name. Redirects are not followed
(a 3xx is a failure), proxies from the environment are ignored, the whole attempt is bounded
by ``webhook_timeout_seconds``, and at most `EXCERPT_BYTES` of the response are read and kept.
Only a 2xx counts as delivered. Never called inside a database transaction.
"""

from __future__ import annotations

import functools
import ssl
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import anyio
import httpx

from i18n_connect.addresses import UnsafeAddress, checked_address

__all__ = ["EXCERPT_BYTES", "Outcome", "send"]

EXCERPT_BYTES = 1024
_USER_AGENT = "i18n-connect-webhooks/1"


@dataclass(frozen=True, slots=True)
class Outcome:
    delivered: bool
    status_code: int | None
    latency_ms: int
    excerpt: str  # the response's first bytes, or what went wrong


@functools.cache
def _tls() -> ssl.SSLContext:
    """One verifying TLS context per process: building one loads the CA bundle (tens of ms)."""
    return httpx.create_ssl_context()


async def _excerpt(response: httpx.Response) -> str:
    body = b""
    async for chunk in response.aiter_raw():
        body += chunk
        if len(body) >= EXCERPT_BYTES:
            break
    return body[:EXCERPT_BYTES].decode("utf-8", "replace")


async def _post(
    url: str, headers: dict[str, str], body: str, *, allow_loopback: bool, seconds: float
) -> tuple[int, str]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = await checked_address(host, port, allow_loopback=allow_loopback)
    literal = f"[{address}]" if ":" in address else address
    pinned = parts._replace(netloc=f"{literal}:{port}").geturl()
    async with (
        httpx.AsyncClient(
            verify=_tls(),
            trust_env=False,  # no proxies: the checked address is the one connected to
            follow_redirects=False,
            timeout=httpx.Timeout(seconds),
        ) as client,
        client.stream(
            "POST",
            pinned,
            content=body.encode(),
            headers={
                **headers,
                "Host": parts.netloc.rsplit("@", 1)[-1],
                "Content-Type": "application/json",
                "User-Agent": _USER_AGENT,
                "Accept-Encoding": "identity",
            },
            extensions={"sni_hostname": host},
        ) as response,
    ):
        return response.status_code, await _excerpt(response)


async def send(
    url: str,
    *,
    msg_id: str,
    at: datetime,
    signature: str,
    body: str,
    allow_loopback: bool,
    seconds: float,
) -> Outcome:
    """POST ``body`` with the Standard Webhooks headers; what happened, never an exception."""
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }
    started = time.perf_counter()
    status: int | None = None
    try:
        with anyio.fail_after(seconds):
            status, excerpt = await _post(
                url, headers, body, allow_loopback=allow_loopback, seconds=seconds
            )
    except TimeoutError:
        excerpt = f"no answer within {seconds:g} seconds"
    except UnsafeAddress as exc:
        excerpt = (
            f"{exc.host} does not resolve"
            if not exc.resolved
            else f"{exc.host} resolves to a private, loopback or otherwise non-public address"
        )
    except httpx.HTTPError as exc:
        excerpt = f"connection failed: {type(exc).__name__}"
    latency_ms = round((time.perf_counter() - started) * 1000)
    delivered = status is not None and 200 <= status < 300
    if status is not None and 300 <= status < 400:
        excerpt = f"redirect not followed ({status}) " + excerpt
    return Outcome(delivered, status, latency_ms, excerpt[:EXCERPT_BYTES])
