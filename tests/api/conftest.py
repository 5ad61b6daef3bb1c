"""Fixtures of the partner-API tests: a running app (keys loaded) and a populated world."""

from __future__ import annotations

import httpx
import pytest
from api_world import World, build_world


@pytest.fixture
def api(running_app: httpx.AsyncClient) -> httpx.AsyncClient:
    """An in-process client of an app whose lifespan runs (signing keys loaded)."""
    return running_app


@pytest.fixture
async def world(api: httpx.AsyncClient) -> World:
    return await build_world(api.app.state.services, api)  # type: ignore[attr-defined]
