"""A webhook world (`webhook_world.World`): the services on the system clock (signatures carry
real timestamps) with loopback endpoints allowed and fast retries; the worker is driven by the
tests (`deliver_due`), not by a background task."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from webhook_world import PASSWORD, World

from factories import ada_and_bob
from i18n_connect.app import create_app
from i18n_connect.clock import SystemClock
from i18n_connect.oauth.clients import create_client
from i18n_connect.services import Services
from i18n_connect.settings import Settings


@pytest.fixture
def webhook_settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        issuer="http://testserver",
        secret_key="test-secret-0123456789abcdef0123456789abcdef",
        webhook_allow_loopback=True,
        webhook_poll_seconds=0,
        webhook_timeout_seconds=1.0,
        webhook_retry_base_seconds=0.05,
    )


@pytest.fixture
async def world(webhook_settings: Settings) -> AsyncIterator[World]:
    app = create_app(webhook_settings, clock=SystemClock())
    services: Services = app.state.services
    await services.keys.load()
    now = services.clock.now()
    async with services.db.transaction() as conn:
        people = await ada_and_bob(conn, password=PASSWORD, now=now)
        made = [
            await create_client(
                conn,
                name=name,
                redirect_uris=["http://127.0.0.1:9/callback"],
                confidential=True,
                now=now,
                hasher=services.hasher,
            )
            for name in ("Hooked App", "Other App")
        ]
    (client, secret), (other, other_secret) = made
    assert secret is not None and other_secret is not None
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield World(
            services=services,
            http=http,
            client_id=client.id,
            client_secret=secret,
            other_client_id=other.id,
            other_client_secret=other_secret,
            ada=people.ada.id,
            acme=people.acme.id,
            globex=people.globex.id,
        )
    await services.db.dispose()
