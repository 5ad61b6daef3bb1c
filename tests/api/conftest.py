"""Fixtures of the partner-API tests: a running app (keys loaded) and a populated world."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from api_world import World, build_world

from i18n_connect.app import create_app
from i18n_connect.clock import FrozenClock
from i18n_connect.settings import Settings

ISSUER = "http://testserver"


@pytest.fixture
async def api(settings: Settings, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client of an app whose lifespan runs (signing keys loaded)."""
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


@pytest.fixture
async def world(api: httpx.AsyncClient) -> World:
    return await build_world(api.app.state.services, api)  # type: ignore[attr-defined]
