"""Fixtures of the MCP tests: a running app (lifespan entered, so the MCP session manager
runs), a user administering two organizations with a project each, a client with a grant on
both, and helpers that mint real installation and access tokens and speak JSON-RPC to /mcp."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from mcp_helpers import World, seeded_world

from i18n_connect.app import create_app
from i18n_connect.clock import FrozenClock
from i18n_connect.settings import Settings

ISSUER = "http://testserver"


@asynccontextmanager
async def started(settings: Settings, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client of an app whose lifespan runs (keys loaded, MCP sessions started)."""
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


@pytest.fixture
async def running_app(settings: Settings, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    async with started(settings, clock) as client:
        yield client


@pytest.fixture
def app_with(
    settings: Settings, clock: FrozenClock
) -> Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]:
    """A started app whose settings differ from the defaults by the given overrides."""

    def make(**overrides: Any) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        return started(settings.model_copy(update=overrides), clock)

    return make


@pytest.fixture
async def world(running_app: httpx.AsyncClient) -> World:
    return await seeded_world(running_app)
