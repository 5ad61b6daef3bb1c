"""Fixtures of the MCP tests: a running app (lifespan entered, so the MCP session manager
runs), a user administering two organizations with a project each, a client with a grant on
both, and helpers that mint real installation and access tokens and speak JSON-RPC to /mcp."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from mcp_helpers import ALL_TOOL_SCOPES, World

from i18n_connect import grants
from i18n_connect.app import create_app
from i18n_connect.clock import FrozenClock
from i18n_connect.oauth.clients import create_client
from i18n_connect.platform import keys, projects, translations
from i18n_connect.platform.accounts import create_user
from i18n_connect.platform.organizations import create_organization
from i18n_connect.services import Services
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
    services: Services = running_app.app.state.services  # type: ignore[attr-defined]
    now = services.clock.now()
    async with services.db.transaction() as conn:
        user = await create_user(
            conn, email="ada@example.com", password="correct horse battery", name="Ada", now=now
        )
        orgs, project_ids = {}, {}
        for slug in ("acme", "globex"):
            org = await create_organization(
                conn, slug=slug, name=slug.title(), owner_user_id=user.id, now=now
            )
            orgs[slug] = org.id
            project = await projects.create_project(
                conn,
                organization_id=org.id,
                name="Web",
                slug="web",
                source_language="en",
                target_languages=("de",),
                now=now,
            )
            project_ids[slug] = project.id
            await keys.create_keys(conn, project.id, {"home.title": "Title"}, now)
            await translations.set_translations(
                conn, project.id, "de", {"home.title": "Start"}, now
            )
        client, _ = await create_client(
            conn,
            name="Agent",
            redirect_uris=["http://127.0.0.1/cb"],
            confidential=False,
            now=now,
            hasher=services.hasher,
        )
        other, _ = await create_client(
            conn,
            name="Other",
            redirect_uris=["http://127.0.0.1/cb"],
            confidential=False,
            now=now,
            hasher=services.hasher,
        )
        granted = await grants.consent(
            conn,
            user_id=user.id,
            client_id=client.id,
            organization_ids=list(orgs.values()),
            scope=ALL_TOOL_SCOPES,
            now=now,
        )
    return World(
        services=services,
        user_id=user.id,
        client_id=client.id,
        other_client_id=other.id,
        orgs=orgs,
        projects=project_ids,
        grants={slug: grant.id for slug, grant in zip(orgs, granted, strict=True)},
    )
