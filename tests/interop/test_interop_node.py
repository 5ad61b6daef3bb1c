"""Node clients against a real server (dependencies pinned in node/package-lock.json, installed
by scripts/test with ``npm ci``): the MCP TypeScript SDK client, panva's openid-client and
oauth4webapi. Each script reports what it did as JSON lines; the test plays the person at the
consent screen and moves the server's clock when asked."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from interop_server import FIRST_SCOPES, LiveServer, Person
from sqlalchemy import select

from i18n_connect.storage.oauth_tables import oauth_clients

NODE_DIR = Path(__file__).parent / "node"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None or not (NODE_DIR / "node_modules").is_dir(),
    reason="needs node and `npm ci` in tests/interop/node (scripts/test runs it)",
)


async def drive(
    server: LiveServer, person: Person, script: str, *args: str, redirect_prefix: str
) -> dict[str, dict[str, Any]]:
    """Run a node script to the end, answering its questions; its events by name."""
    assert NODE is not None
    process = await asyncio.create_subprocess_exec(
        NODE,
        script,
        *args,
        cwd=NODE_DIR,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    events: dict[str, dict[str, Any]] = {}
    authorizations = 0
    with anyio.fail_after(120):
        while line := await process.stdout.readline():
            event = json.loads(line)
            name = event["event"]
            if name == "authorize":
                authorizations += 1
                consented = await person.approve(event["url"], redirect_prefix)
                name = f"authorize-{authorizations}"
                event["consent_scopes"] = consented.consent_scopes
                reply: dict[str, Any] = {"redirect": consented.redirect}
            elif name == "expire":
                server.clock.advance(minutes=31)
                reply = {"ok": True}
            else:
                reply = {}
            if reply:
                process.stdin.write(json.dumps(reply).encode() + b"\n")
                await process.stdin.drain()
            events[name] = event
        code = await process.wait()
    assert process.stderr is not None
    errors = (await process.stderr.read()).decode()
    assert code == 0, errors
    return events


async def test_mcp_typescript_sdk_connects_steps_up_and_refreshes(
    server: LiveServer, person: Person
) -> None:
    events = await drive(
        server,
        person,
        "mcp-client.mjs",
        server.url + "/mcp",
        redirect_prefix="http://127.0.0.1:53683/callback",
    )
    assert len(events["tools"]["names"]) == 20
    assert events["authorize-1"]["consent_scopes"] == FIRST_SCOPES
    listed = events["listKeys"]
    assert listed["isError"] is False  # and the SDK validated it against the output schema
    assert [key["name"] for key in listed["result"]["keys"]] == ["home.title"]
    # The SDK sees the 403 challenge; its own retry refreshes (which cannot widen a scope)
    # and then gives up, so the script steps up with the challenged scope itself.
    refused = events["refused"]
    assert "403" in refused["message"]
    assert refused["challenge"]["error"] == "insufficient_scope"
    assert refused["challenge"]["scope"].split() == [
        *FIRST_SCOPES[:5],
        "translations:publish",
        *FIRST_SCOPES[5:],
    ]
    assert refused["challenge"]["resourceMetadataUrl"] == (
        server.url + "/.well-known/oauth-protected-resource/mcp"
    )
    stepped = events["stepped-up"]
    assert (stepped["started"], stepped["finished"]) == ("REDIRECT", "AUTHORIZED")
    assert "translations:publish" in events["authorize-2"]["consent_scopes"]
    assert "translations:publish" in stepped["scope"].split()
    assert "translations:publish" not in stepped["firstScope"].split()
    assert stepped["result"] == {"published": 1}
    assert await server.published() == {"Start"}
    assert events["refreshed"] == {
        "event": "refreshed",
        "isError": False,
        "newAccessToken": True,
        "newRefreshToken": True,
    }
    assert "authorize-3" not in events  # the refresh needed no consent


async def test_openid_client_and_oauth4webapi_accept_our_tokens(
    server: LiveServer, person: Person
) -> None:
    redirect_uri = "http://127.0.0.1:8766/cb"
    async with httpx.AsyncClient() as http:
        registered = await http.post(
            server.url + "/api/auth/mcp/register",
            json={
                "client_name": "openid-client",
                "redirect_uris": [redirect_uri],
                "token_endpoint_auth_method": "none",
            },
        )
    client_id = registered.json()["client_id"]
    events = await drive(
        server,
        person,
        "oauth-clients.mjs",
        server.url,
        client_id,
        redirect_uri,
        server.url + "/mcp",
        server.url + "/api/oauth-client",
        redirect_prefix=redirect_uri,
    )
    tokens = events["tokens"]
    assert (tokens["token_type"].lower(), tokens["expires_in"], tokens["scope"]) == (
        "bearer",
        1800,
        "projects:read keys:read",
    )
    assert events["refreshed"]["rotated"] is True
    assert events["refreshed"]["grant_id"] == tokens["grant_id"]
    claims = events["validated"]["claims"]
    assert claims["iss"] == server.url
    assert claims["aud"] == server.url + "/mcp"
    assert claims["client_id"] == client_id
    assert claims["scope"] == "projects:read keys:read"
    assert claims["grant_ids"] == [tokens["grant_id"]]
    assert events["audience"]["refusedForApi"] is not None
    assert "aud" in events["audience"]["refusedForApi"]
    services = server.services()
    try:
        async with services.db.transaction(readonly=True) as conn:
            used = await conn.scalar(
                select(oauth_clients.c.last_used_at).where(oauth_clients.c.id == client_id)
            )
    finally:
        await services.db.dispose()
    assert used is not None
