"""An MCP tool call whose JSON-RPC body holds an unpaired surrogate (JSON may escape one:
RFC 8259 §8.2; no database can store it): the transport's parse error (400, -32700) with a
message a person understands, before the step-up check looks anything up; nothing stored."""

from __future__ import annotations

import httpx
import pytest
from mcp_helpers import PROTOCOL, World, call_tool
from sqlalchemy import func, select
from test_mcp_server import key_names

from i18n_connect.storage.tables import audit_events

REFUSED = {
    "jsonrpc": "2.0",
    "id": None,
    "error": {
        "code": -32700,
        "message": (
            "Parse error: The request body holds text that is not valid Unicode "
            "(an unpaired surrogate)."
        ),
    },
}


def _call(name: str, arguments: bytes) -> bytes:
    head = f'{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{name}"'
    return head.encode() + b',"arguments":' + arguments + b"}}"


async def _post(client: httpx.AsyncClient, token: str, body: bytes) -> httpx.Response:
    headers = {
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        "mcp-protocol-version": PROTOCOL,
        "authorization": f"Bearer {token}",
    }
    return await client.post("/mcp", content=body, headers=headers)


async def _events(world: World) -> int:
    async with world.services.db.transaction(readonly=True) as conn:
        return int((await conn.scalar(select(func.count()).select_from(audit_events))) or 0)


@pytest.mark.parametrize("kind", ["installation_token", "access_token"])
@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        pytest.param("createKeys", b'{"project":"web","keys":[{"name":"a\\ud800"}]}', id="create"),
        pytest.param("createKeys", b'{"project":"web","keys":[{"name":"\xed\xb0\x80"}]}', id="raw"),
        # an access token without translations:publish: the step-up check would look keys up
        pytest.param("deleteKeys", b'{"project":"web","names":["home\\udc00"]}', id="delete"),
    ],
)
async def test_a_tool_call_with_an_unpaired_surrogate_is_a_parse_error(
    running_app: httpx.AsyncClient, world: World, kind: str, name: str, arguments: bytes
) -> None:
    if kind == "installation_token":
        token = await world.installation_token()
    else:
        token = await world.access_token(scopes=["projects:read", "keys:read", "keys:write"])
    before = await _events(world)
    response = await _post(running_app, token, _call(name, arguments))
    assert (response.status_code, response.json()) == (400, REFUSED)
    assert response.headers["content-type"] == "application/json"
    assert await key_names(world) == ["home.title"]
    assert await _events(world) == before


@pytest.mark.parametrize(
    ("escaped", "name"),
    [
        pytest.param("cart.\\ud83d\\ude00", "cart.\U0001f600", id="paired-escape"),
        pytest.param("cart.\\\\ud800", "cart.\\ud800", id="escaped-backslash"),
    ],
)
async def test_paired_escapes_and_escaped_backslashes_reach_the_tool_as_text(
    running_app: httpx.AsyncClient, world: World, escaped: str, name: str
) -> None:
    token = await world.installation_token()
    arguments = f'{{"project":"web","keys":[{{"name":"cart.x","description":"{escaped}"}}]}}'
    response = await _post(running_app, token, _call("createKeys", arguments.encode()))
    assert response.status_code == 200, response.text
    assert response.json()["result"]["isError"] is False
    listed = await call_tool(running_app, token, "listKeys", project="web", prefix="cart.")
    assert [(k["name"], k["description"]) for k in listed["structuredContent"]["keys"]] == [
        ("cart.x", name)
    ]
