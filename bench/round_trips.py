"""Statements sent to PostgreSQL per code exchange and per refresh rotation, counted at the
driver with asyncpg's public query logger while one request of each kind goes through the
app in-process (the same app ``i18n-connect serve`` runs), on a fresh database."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import event

from bench.database import fresh_database
from bench.seed import seed_world
from bench.server import BENCH_SECRET
from i18n_connect.app import create_app
from i18n_connect.settings import Settings
from i18n_connect.storage.database import Database

__all__ = ["RoundTrips", "count_round_trips", "print_round_trips"]

_ISSUER = "http://127.0.0.1:9"


@dataclass(frozen=True)
class RoundTrips:
    exchange: list[str]
    rotation: list[str]


class _Log:
    """Every statement asyncpg sends on the connections checked out while it listens."""

    def __init__(self, db: Database) -> None:
        self.sent: list[str] = []
        self._db = db
        self._watched: set[int] = set()

    def _watch(self, _dbapi: Any, _record: Any, proxy: Any) -> None:
        driver = proxy.driver_connection
        if id(driver) not in self._watched:
            self._watched.add(id(driver))
            driver.add_query_logger(lambda record: self.sent.append(record.query))

    async def during(self, client: httpx.AsyncClient, body: str) -> list[str]:
        await self._db.dispose()  # the next connections are checked out afresh, and watched
        event.listen(self._db.engine.sync_engine, "checkout", self._watch)
        try:
            await client.get("/healthz")  # the first checkout's pings are not the request's
            await asyncio.sleep(0)
            self.sent.clear()
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            response = await client.post("/api/auth/mcp/token", content=body, headers=form)
            response.raise_for_status()
            await asyncio.sleep(0)  # asyncpg calls its loggers soon after, not at once
            return list(self.sent)
        finally:
            event.remove(self._db.engine.sync_engine, "checkout", self._watch)


async def _count(url: str) -> RoundTrips:
    settings = Settings(database_url=url, issuer=_ISSUER, secret_key=BENCH_SECRET)
    world = await seed_world(settings)
    (code,) = await world.codes(1)
    (refresh,) = await world.refresh_tokens(1, offset=1)
    await world.services.db.dispose()
    app = create_app(settings)
    for name in ("httpx", "i18n_connect.http"):  # one access-log line per request is noise here
        logging.getLogger(name).setLevel(logging.WARNING)
    services = app.state.services
    await services.keys.load()
    log = _Log(services.db)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url=_ISSUER) as client:
            return RoundTrips(
                exchange=await log.during(client, code.body or ""),
                rotation=await log.during(client, refresh.body or ""),
            )
    finally:
        await services.db.dispose()


def count_round_trips() -> RoundTrips:
    """One code exchange and one refresh rotation on a fresh PostgreSQL database."""
    with fresh_database("postgres") as url:
        return asyncio.run(_count(url))


def print_round_trips(counted: RoundTrips) -> None:
    for name, sent in (("code exchange", counted.exchange), ("refresh rotation", counted.rotation)):
        print(f"{name}: {len(sent)} statements to PostgreSQL")
        for sql in sent:
            print("    " + " ".join(sql.split())[:140])
