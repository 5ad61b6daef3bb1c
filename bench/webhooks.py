"""Webhooks in process: delivery throughput to a receiver on 127.0.0.1, and what the outbox
adds to the revoke path.

*Throughput*: ``events`` grants are made (one ``grant.created`` each, each its own ordering
key), then the worker (`deliver_due`, the loop serve runs) delivers them to a local HTTP
receiver that answers 204 at once; deliveries per second from the first claim to the last
recorded outcome. *Revoke latency*: ``grants.revoke_grant`` in its own transaction, timed for
an app without endpoints and for one whose endpoint subscribes to ``grant.revoked``,
interleaved so machine noise hits both alike; the difference of the medians is the outbox.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.database import fresh_database
from bench.server import BENCH_SECRET
from i18n_connect import grants
from i18n_connect.clock import SystemClock
from i18n_connect.oauth.clients import create_client
from i18n_connect.platform.accounts import create_user
from i18n_connect.platform.organizations import create_organization
from i18n_connect.services import Services
from i18n_connect.settings import Settings
from i18n_connect.webhooks import endpoints
from i18n_connect.webhooks.worker import deliver_due

__all__ = ["WebhookOutcome", "run_webhooks"]


@dataclass(frozen=True)
class WebhookOutcome:
    database: str
    events: int
    delivered_per_second: float
    revoke_ms_without: float  # median revoke transaction, no endpoint
    revoke_ms_with: float  # median revoke transaction, an endpoint subscribed

    @property
    def outbox_ms(self) -> float:
        return self.revoke_ms_with - self.revoke_ms_without


class _Answer204(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(204)
        self.end_headers()


def _serve(server: ThreadingHTTPServer) -> None:
    server.serve_forever()


@contextmanager
def _receiver() -> Iterator[str]:
    """The receiver in a process of its own, so that it does not share the worker's GIL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer204)
    server.daemon_threads = True
    process = multiprocessing.get_context("fork").Process(target=_serve, args=(server,))
    process.start()
    server.server_close()  # the child serves on its copy of the socket
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks"
    finally:
        process.terminate()
        process.join(5)


async def _grants(services: Services, client_id: str, user_id: str, count: int) -> list[str]:
    made: list[str] = []
    now = services.clock.now()
    async with services.db.transaction() as conn:
        for _ in range(count):
            org = await create_organization(
                conn,
                slug=f"o{len(made)}-{client_id[-6:]}",
                name="Org",
                owner_user_id=user_id,
                now=now,
            )
            (grant,) = await grants.consent(
                conn,
                user_id=user_id,
                client_id=client_id,
                organization_ids=[org.id],
                scope=("org:read",),
                now=now,
            )
            made.append(grant.id)
    return made


async def _revoke_ms(services: Services, grant_id: str) -> float:
    started = time.perf_counter()
    async with services.db.transaction() as conn:
        await grants.revoke_grant(
            conn, grant_id, actor="bench", now=services.clock.now(), reason="partner_api"
        )
    return (time.perf_counter() - started) * 1000


async def _measure(url: str, events: int, database: str) -> WebhookOutcome:
    settings = Settings(database_url=url, secret_key=BENCH_SECRET, webhook_allow_loopback=True)
    services = Services.build(settings, clock=SystemClock())
    now = services.clock.now()
    try:
        async with services.db.transaction() as conn:
            user = await create_user(
                conn, email="bench@example.com", password="bench password 1", name=None, now=now
            )
            apps = [
                (
                    await create_client(
                        conn,
                        name=name,
                        redirect_uris=["http://127.0.0.1:9/cb"],
                        confidential=True,
                        now=now,
                        hasher=services.hasher,
                    )
                )[0].id
                for name in ("hooked", "plain")
            ]
        hooked, plain = apps
        with _receiver() as receiver:
            async with services.db.transaction() as conn:
                await endpoints.create_endpoint(
                    conn,
                    services,
                    client_id=hooked,
                    url=receiver,
                    event_types=["grant.created", "grant.revoked"],
                    now=now,
                )
            made = await _grants(services, hooked, user.id, events)
            started = time.perf_counter()
            while await deliver_due(services):
                pass
            rate = events / (time.perf_counter() - started)
            without: list[float] = []
            with_outbox: list[float] = []
            for grant_id, other in zip(
                made, await _grants(services, plain, user.id, events), strict=True
            ):
                with_outbox.append(await _revoke_ms(services, grant_id))
                without.append(await _revoke_ms(services, other))
        return WebhookOutcome(
            database=database,
            events=events,
            delivered_per_second=rate,
            revoke_ms_without=statistics.median(without),
            revoke_ms_with=statistics.median(with_outbox),
        )
    finally:
        await services.db.dispose()


def run_webhooks(events: int, database: str) -> WebhookOutcome:
    with fresh_database(database) as url:
        return asyncio.run(_measure(url, events, database))
