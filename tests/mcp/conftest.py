"""Fixtures of the MCP tests: apps started with other settings (the default one, lifespan
entered so the MCP session manager runs, is `running_app` of tests/conftest.py), and a user
administering two organizations with a project each with a client granted both."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
from mcp_helpers import World, seeded_world

from i18n_connect.settings import Settings


@pytest.fixture
def app_with(
    settings: Settings,
    start_app: Callable[[Settings], AbstractAsyncContextManager[httpx.AsyncClient]],
) -> Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]:
    """A started app whose settings differ from the defaults by the given overrides."""

    def make(**overrides: Any) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        return start_app(settings.model_copy(update=overrides))

    return make


@pytest.fixture
async def world(running_app: httpx.AsyncClient) -> World:
    return await seeded_world(running_app)
