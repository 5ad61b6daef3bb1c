"""The delivery worker that ``serve`` runs in the background (`deliveries_running`).

Each round claims due deliveries in a short write transaction (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so the workers of several processes pass over each other's rows) and leases them
for `lease_for`: twice an attempt's timeout and two seconds, so no other worker can send the
same delivery while this one may still be sending it or recording the outcome. The attempts
then run outside any transaction, concurrently, and each outcome is written in a transaction
of its own, only while the lease is still held. A process killed mid-attempt loses nothing:
its lease runs out and another worker (or the restarted process) sends again — at least
once, with the same ``webhook-id`` for the receiver to deduplicate.

A failed attempt is retried with exponential backoff and jitter (`next_delay`) until
``webhook_retry_hours`` after the event; then the delivery is given up and its endpoint
marked failing, which stops its deliveries until the partner enables it again.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import structlog
from cryptography.exceptions import InvalidTag
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.background import running, stopping
from i18n_connect.services import Services
from i18n_connect.storage import webhooks as stored
from i18n_connect.storage.webhooks import Claimed
from i18n_connect.webhooks.endpoints import signing_secrets
from i18n_connect.webhooks.secrets import signature_header
from i18n_connect.webhooks.sending import Outcome, send

__all__ = ["BATCH", "deliver_due", "deliveries_running", "lease_for", "next_delay"]

BATCH = 20  # deliveries claimed, and sent concurrently, per round
_MAX_DELAY = timedelta(hours=4)
_log = structlog.get_logger("i18n_connect.webhooks")


def next_delay(
    attempts: int, *, base_seconds: float, rng: random.Random | None = None
) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: ``base·2^(attempts-1)``, at most four
    hours, drawn between half and all of it (jitter spreads retries of a recovered receiver)."""
    ceiling = min(base_seconds * 2 ** min(attempts - 1, 30), _MAX_DELAY.total_seconds())
    return timedelta(seconds=ceiling * (0.5 + 0.5 * (rng or random).random()))


def lease_for(timeout_seconds: float) -> timedelta:
    """How long a claim holds a delivery: the attempt is cut off after ``timeout_seconds``;
    the rest covers recording its outcome."""
    return timedelta(seconds=2 * timeout_seconds + 2)


async def _attempt(services: Services, claimed: Claimed, now: datetime) -> Outcome:
    settings = services.settings
    try:
        secrets_now = signing_secrets(claimed.endpoint, services, now=now)
    except InvalidTag:  # sealed under another server secret
        return Outcome(False, None, 0, "the signing secret cannot be read: rotate it")
    return await send(
        claimed.endpoint.url,
        msg_id=claimed.event_id,
        at=now,
        signature=signature_header(
            secrets_now, msg_id=claimed.event_id, at=now, body=claimed.payload
        ),
        body=claimed.payload,
        allow_loopback=settings.webhook_allow_loopback,
        seconds=settings.webhook_timeout_seconds,
    )


async def _record(
    conn: AsyncConnection, services: Services, claimed: Claimed, lease: str, outcome: Outcome
) -> None:
    settings = services.settings
    now = services.clock.now()
    retry_until = claimed.created_at + timedelta(hours=settings.webhook_retry_hours)
    next_at = now + next_delay(claimed.attempts, base_seconds=settings.webhook_retry_base_seconds)
    if outcome.delivered:
        status, next_at_written = "delivered", None
    elif next_at <= retry_until:
        status, next_at_written = "pending", next_at
    else:
        status, next_at_written = "failed", None
    held = await stored.finish_attempt(
        conn,
        delivery_id=claimed.id,
        lease_token=lease,
        status=status,
        next_attempt_at=next_at_written,
        status_code=outcome.status_code,
        latency_ms=outcome.latency_ms,
        response=outcome.excerpt,
        now=now,
    )
    if held and status == "failed":
        await stored.mark_endpoint(
            conn, endpoint_id=claimed.endpoint.id, status="failing", now=now, only_from="active"
        )
    _log.info(
        "webhook.attempt",
        delivery_id=claimed.id,
        endpoint_id=claimed.endpoint.id,
        attempt=claimed.attempts,
        status=status,
        status_code=outcome.status_code,
        latency_ms=outcome.latency_ms,
        lease_lost=not held,
    )


async def deliver_due(services: Services) -> int:
    """Claim the due deliveries (at most `BATCH`), attempt them concurrently, then record the
    outcomes in one transaction (one writer, not one per attempt: SQLite's writers queue);
    how many were attempted."""
    now = services.clock.now()
    async with services.db.transaction(readonly=True) as conn:
        if not await stored.any_due(conn, now=now):
            return 0
    lease = secrets.token_hex(16)
    async with services.db.transaction() as conn:
        claimed = await stored.claim_deliveries(
            conn,
            now=now,
            lease_token=lease,
            lease_expires_at=now + lease_for(services.settings.webhook_timeout_seconds),
            limit=BATCH,
        )
    if not claimed:
        return 0
    outcomes = await asyncio.gather(*(_attempt(services, item, now) for item in claimed))
    async with services.db.transaction() as conn:
        for item, outcome in zip(claimed, outcomes, strict=True):
            await _record(conn, services, item, lease, outcome)
    return len(claimed)


async def _loop(services: Services, interval: float) -> None:
    while True:
        try:
            if await deliver_due(services):
                continue  # more may be due at once
        except Exception:  # a failed round is logged; the next one tries again
            _log.exception("webhook.round_failed")
            if stopping():
                return
        await asyncio.sleep(interval)


@asynccontextmanager
async def deliveries_running(services: Services) -> AsyncIterator[None]:
    """Run the delivery worker while the context is open (``webhook_poll_seconds``; 0: off)."""
    interval = services.settings.webhook_poll_seconds
    if not interval:
        yield
        return
    async with running(_loop(services, interval), name="webhooks"):
        yield
