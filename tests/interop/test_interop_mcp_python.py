"""The official MCP Python SDK client against a real server, given nothing but the MCP URL:
401 → protected resource metadata → authorization server metadata → registration (or a client
ID metadata document) → authorize, with a person signing in and consenting over HTTP → token
with ``resource`` → tools/list → a tool call → a tool refused for scope → step-up to the union
of scopes → refresh after the access token expired."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from document_server import DocumentServer, Route, serve_documents
from interop_server import EMAIL, FIRST_SCOPES, LiveServer, Person, live_server
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from sqlalchemy import select

from factories import web_project
from i18n_connect.platform.accounts import get_user_by_email
from i18n_connect.platform.organizations import create_organization
from i18n_connect.storage.oauth_tables import grants, oauth_clients, refresh_tokens
from mcp import Client

REDIRECT_URI = "http://127.0.0.1:53682/callback"


class MemoryStorage:
    """The SDK's TokenStorage protocol, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


def provider_for(
    server: LiveServer,
    person: Person,
    storage: MemoryStorage,
    mcp_path: str = "/mcp",
    **options: Any,
) -> OAuthClientProvider:
    redirect_uri = REDIRECT_URI
    pending: list[AuthorizationCodeResult] = []

    async def redirect_handler(authorization_url: str) -> None:
        consented = await person.approve(authorization_url, redirect_uri)
        pending.append(
            AuthorizationCodeResult(code=consented.code, state=consented.state, iss=consented.iss)
        )

    async def callback_handler() -> AuthorizationCodeResult:
        return pending.pop()

    return OAuthClientProvider(
        server_url=server.url + mcp_path,
        client_metadata=OAuthClientMetadata(
            client_name="MCP Python SDK interop",
            redirect_uris=[redirect_uri],  # type: ignore[list-item]
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
        **options,
    )


async def run_flow(server: LiveServer, person: Person, provider: OAuthClientProvider) -> None:
    """Everything an agent does, from first contact to a refresh (shared by DCR and CIMD)."""
    storage: MemoryStorage = provider.context.storage  # type: ignore[assignment]
    async with (
        httpx2.AsyncClient(auth=provider, timeout=30) as http,
        Client(streamable_http_client(server.url + "/mcp", http_client=http)) as client,
    ):
        tools = await client.list_tools()
        assert len(tools.tools) == 20
        assert all(tool.annotations and tool.output_schema for tool in tools.tools)
        assert len(person.consents) == 1
        first = person.consents[0]
        assert first.iss == server.url
        assert first.unverified is True  # a self-registered app is never shown as verified
        assert first.consent_scopes == FIRST_SCOPES
        assert storage.tokens is not None
        assert (
            storage.tokens.scope is not None and "translations:publish" not in storage.tokens.scope
        )

        listed = await client.call_tool("listKeys", {"project": "web"})
        assert listed.is_error is False
        assert listed.structured_content is not None
        assert [key["name"] for key in listed.structured_content["keys"]] == ["home.title"]

        # Publishing needs a destructive scope that was never granted: the server answers
        # 403 insufficient_scope, the SDK steps up, and the person consents again.
        assert await server.published() == {None}
        result = await client.call_tool("publishTranslations", {"project": "web"})
        assert result.is_error is False, result
        assert result.structured_content == {"published": 1}
        assert await server.published() == {"Start"}
        assert len(person.consents) == 2
        assert "translations:publish" in person.consents[1].consent_scopes
        assert "keys:write" in person.consents[1].consent_scopes  # union, not replacement
        stepped_up = storage.tokens
        assert stepped_up is not None and "translations:publish" in (stepped_up.scope or "")

        # The access token expires: the server's clock moves on, and so does the client's view.
        server.clock.advance(minutes=31)
        provider.context.token_expiry_time = time.time() - 1
        again = await client.call_tool("getTranslations", {"project": "web", "language": "de"})
        assert again.is_error is False
        assert storage.tokens is not None
        assert storage.tokens.access_token != stepped_up.access_token
        assert storage.tokens.refresh_token != stepped_up.refresh_token
        assert len(person.consents) == 2  # refreshed, no new consent


async def test_mcp_python_sdk_registers_consents_steps_up_and_refreshes(
    server: LiveServer, person: Person
) -> None:
    storage = MemoryStorage()
    provider = provider_for(server, person, storage)
    await run_flow(server, person, provider)
    assert storage.client_info is not None
    assert storage.client_info.client_id.startswith("cli_")
    services = server.services()
    try:
        async with services.db.transaction(readonly=True) as conn:
            client = (
                await conn.execute(
                    select(oauth_clients).where(oauth_clients.c.id == storage.client_info.client_id)
                )
            ).one()
            live = (await conn.execute(select(grants).where(grants.c.revoked_at.is_(None)))).all()
            used = await conn.scalar(
                select(refresh_tokens.c.resource).where(refresh_tokens.c.used_at.is_not(None))
            )
    finally:
        await services.db.dispose()
    assert (client.origin, client.verified, client.token_endpoint_auth_method) == (
        "registration",
        False,
        "none",
    )
    assert len(live) == 1  # re-consent updated the one grant in place
    assert "translations:publish" in live[0].scope
    assert used == server.url + "/mcp"  # the refresh token is bound to the MCP resource


@pytest.fixture
def documents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DocumentServer]:
    with serve_documents(tmp_path) as docs:
        monkeypatch.setenv("SSL_CERT_FILE", str(docs.ca_file))  # the server trusts the test CA
        yield docs


@pytest.fixture
def cimd_server(tmp_path: Path, documents: DocumentServer) -> Iterator[LiveServer]:
    with live_server(tmp_path, cimd_allow_loopback=True) as running:
        yield running


async def test_mcp_python_sdk_uses_a_client_id_metadata_document(
    cimd_server: LiveServer, documents: DocumentServer
) -> None:
    document_url = documents.url("/agents/mcp-python-sdk.json")
    documents.routes["/agents/mcp-python-sdk.json"] = Route(
        json.dumps(
            {
                "client_id": document_url,
                "client_name": "MCP Python SDK via CIMD",
                "redirect_uris": [REDIRECT_URI],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
            }
        ).encode(),
        headers={"Cache-Control": "max-age=60"},
    )
    storage = MemoryStorage()
    person = Person(cimd_server.url)
    try:
        provider = provider_for(cimd_server, person, storage, client_metadata_url=document_url)
        await run_flow(cimd_server, person, provider)
    finally:
        await person.close()
    assert storage.client_info is not None
    assert storage.client_info.client_id == document_url
    services = cimd_server.services()
    try:
        async with services.db.transaction(readonly=True) as conn:
            client = (
                await conn.execute(select(oauth_clients).where(oauth_clients.c.id == document_url))
            ).one()
            registered = await conn.scalar(
                select(oauth_clients.c.id).where(oauth_clients.c.origin == "registration")
            )
    finally:
        await services.db.dispose()
    assert (client.origin, client.name, client.verified) == (
        "metadata_document",
        "MCP Python SDK via CIMD",
        False,
    )
    assert registered is None  # no dynamic registration happened
    assert documents.hits["/agents/mcp-python-sdk.json"] >= 1


async def test_two_connectors_of_one_client_work_side_by_side_for_two_organizations(
    server: LiveServer, person: Person
) -> None:
    """What a person who works in two organizations does in Claude: one connector per
    organization address, the same registered app, both connected at once."""
    services = server.services()
    try:
        async with services.db.transaction() as conn:
            owner = await get_user_by_email(conn, EMAIL)
            assert owner is not None
            now = server.clock.now()
            globex = await create_organization(
                conn, slug="globex", name="Globex", owner_user_id=owner.id, now=now
            )
            await web_project(conn, globex.id, now)
    finally:
        await services.db.dispose()
    acme_storage, globex_storage = MemoryStorage(), MemoryStorage()
    acme = provider_for(server, person, acme_storage, "/mcp/o/acme")
    async with (
        httpx2.AsyncClient(auth=acme, timeout=30) as http,
        Client(streamable_http_client(server.url + "/mcp/o/acme", http_client=http)),
    ):
        pass  # connecting registers the app and authorizes it for acme
    globex_storage.client_info = acme_storage.client_info  # the same app, a second connector
    globex_provider = provider_for(server, person, globex_storage, "/mcp/o/globex")
    async with (
        httpx2.AsyncClient(auth=acme, timeout=30) as acme_http,
        httpx2.AsyncClient(auth=globex_provider, timeout=30) as globex_http,
        Client(
            streamable_http_client(server.url + "/mcp/o/acme", http_client=acme_http)
        ) as at_acme,
        Client(
            streamable_http_client(server.url + "/mcp/o/globex", http_client=globex_http)
        ) as at_globex,
    ):
        assert [c.organizations for c in person.consents] == [
            [server.organization_id],
            [globex.id],
        ]
        for client, key in ((at_acme, "acme.only"), (at_globex, "globex.only")):
            created = await client.call_tool(
                "createKeys", {"project": "web", "keys": [{"name": key}]}
            )
            assert created.is_error is False, created
        acme_keys = await at_acme.call_tool("listKeys", {"project": "web"})
        globex_keys = await at_globex.call_tool("listKeys", {"project": "web"})
        assert acme_keys.structured_content is not None
        assert globex_keys.structured_content is not None
        assert [k["name"] for k in acme_keys.structured_content["keys"]] == [
            "acme.only",
            "home.title",
        ]
        assert [k["name"] for k in globex_keys.structured_content["keys"]] == [
            "globex.only",
            "home.title",
        ]
        projects = await at_globex.call_tool("listProjects", {})
        assert projects.structured_content is not None
        assert [p["organization_id"] for p in projects.structured_content["projects"]] == [
            globex.id
        ]
    assert acme_storage.tokens is not None and globex_storage.tokens is not None
    assert acme_storage.tokens.access_token != globex_storage.tokens.access_token
    assert len(person.consents) == 2  # neither connection replaced the other
    services = server.services()
    try:
        async with services.db.transaction(readonly=True) as conn:
            live = (
                await conn.execute(
                    select(grants.c.client_id, grants.c.organization_id).where(
                        grants.c.revoked_at.is_(None)
                    )
                )
            ).all()
            bound = set(await conn.scalars(select(refresh_tokens.c.resource)))
    finally:
        await services.db.dispose()
    assert acme_storage.client_info is not None
    client_id = acme_storage.client_info.client_id
    assert sorted(live) == sorted([(client_id, server.organization_id), (client_id, globex.id)])
    assert bound == {server.url + "/mcp/o/acme", server.url + "/mcp/o/globex"}
