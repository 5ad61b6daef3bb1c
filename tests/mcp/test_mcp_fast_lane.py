"""The fast lane of /mcp (`i18n_connect.mcp.fast_lane`): every request is sent twice, once as
served and once forced through the SDK's own transport, and both answers must be the same to
the byte — status, headers and body — while the fast lane serves exactly the common requests
(one ``tools/call``, ``tools/list`` or ``ping``) and leaves everything else to the SDK."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import CallToolRequestParams, CallToolResult
from mcp_helpers import PROTOCOL, World
from starlette.types import Receive, Scope, Send

from i18n_connect import grants
from i18n_connect.mcp.fast_lane import FastLane, SdkLifespan

ACCEPT = "application/json, text/event-stream"


class Lanes:
    """Which lane answered: ``served`` counts the fast lane's answers; ``sdk_only`` closes it."""

    def __init__(self) -> None:
        self.sdk_only = False
        self.served = 0


@pytest.fixture
def lanes(monkeypatch: pytest.MonkeyPatch) -> Lanes:
    lanes = Lanes()
    request, answer = FastLane.request, FastLane.answer

    async def chosen(self: FastLane, scope: Scope, body: bytes) -> Any:
        return None if lanes.sdk_only else await request(self, scope, body)

    async def counted(
        self: FastLane, message: Any, scope: Scope, receive: Receive, send: Send
    ) -> None:
        lanes.served += 1
        await answer(self, message, scope, receive, send)

    monkeypatch.setattr(FastLane, "request", chosen)
    monkeypatch.setattr(FastLane, "answer", counted)
    return lanes


async def same_answer(
    client: httpx.AsyncClient,
    lanes: Lanes,
    body: Any,
    *,
    fast: bool,
    token: str | None,
    headers: Mapping[str, str] | None = None,
    url: str = "/mcp",
) -> httpx.Response:
    """POST ``body`` (bytes as they are, anything else as JSON) through the endpoint as it
    chooses and through the SDK only; assert both answers equal and which lane took the first."""
    sent = {"accept": ACCEPT, "content-type": "application/json", "mcp-protocol-version": PROTOCOL}
    if token is not None:
        sent["authorization"] = f"Bearer {token}"
    sent.update(headers or {})
    sent = {name: value for name, value in sent.items() if value}  # "" drops a header
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    answers = []
    for sdk_only in (False, True):
        lanes.sdk_only, lanes.served = sdk_only, 0
        answers.append(await client.post(url, content=content, headers=sent))
        assert lanes.served == (fast and not sdk_only)
    quick, sdk = answers
    assert (quick.status_code, _headers(quick), quick.content) == (
        sdk.status_code,
        _headers(sdk),
        sdk.content,
    )
    return quick


def _headers(response: httpx.Response) -> list[tuple[str, str]]:
    """Every header but the request's own id."""
    return [
        (name, value) for name, value in response.headers.multi_items() if name != "x-request-id"
    ]


def call(name: str, arguments: Any, request_id: Any = 1) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


def project_id(response: httpx.Response) -> str:
    body = response.json()
    assert body["result"]["isError"] is False
    found: str = body["result"]["structuredContent"]["id"]
    return found


async def test_a_tool_call_takes_the_fast_lane_with_the_sdks_answer(
    running_app: httpx.AsyncClient, world: World, lanes: Lanes
) -> None:
    token = await world.installation_token()
    response = await same_answer(
        running_app, lanes, call("getProject", {"project": "web"}), fast=True, token=token
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "mcp-session-id" not in response.headers
    assert response.json()["jsonrpc"] == "2.0" and response.json()["id"] == 1
    assert project_id(response) == world.projects["acme"]


@pytest.mark.parametrize(
    ("request_id", "headers"),
    [
        ("call-7", {}),
        (0, {"mcp-protocol-version": ""}),  # no header: the SDK's default version
        (3, {"mcp-protocol-version": "2025-03-26"}),
        (4, {"accept": "*/*", "content-type": "application/json; charset=utf-8"}),
    ],
)
async def test_request_ids_versions_and_header_forms_the_sdk_accepts_take_the_fast_lane(
    running_app: httpx.AsyncClient,
    world: World,
    lanes: Lanes,
    request_id: Any,
    headers: dict[str, str],
) -> None:
    token = await world.installation_token()
    body = call("getProject", {"project": "web"}, request_id)
    body["params"]["_meta"] = {"progressToken": "p1"}
    response = await same_answer(running_app, lanes, body, fast=True, token=token, headers=headers)
    assert response.json()["id"] == request_id
    assert project_id(response) == world.projects["acme"]


async def test_the_organization_endpoint_takes_the_fast_lane(
    running_app: httpx.AsyncClient, world: World, lanes: Lanes
) -> None:
    token = await world.access_token(audience="http://testserver/mcp/o/acme")
    response = await same_answer(
        running_app,
        lanes,
        call("getProject", {"project": "web"}),
        fast=True,
        token=token,
        url="/mcp/o/acme",
    )
    assert project_id(response) == world.projects["acme"]


async def test_tools_list_and_ping_take_the_fast_lane(
    running_app: httpx.AsyncClient, world: World, lanes: Lanes
) -> None:
    token = await world.installation_token()
    listed = await same_answer(
        running_app,
        lanes,
        {"jsonrpc": "2.0", "id": "l", "method": "tools/list"},
        fast=True,
        token=token,
    )
    assert "getProject" in {tool["name"] for tool in listed.json()["result"]["tools"]}
    pong = await same_answer(
        running_app, lanes, {"jsonrpc": "2.0", "id": 7, "method": "ping"}, fast=True, token=token
    )
    assert pong.content == b'{"jsonrpc":"2.0","id":7,"result":{}}'


def tool_error(response: httpx.Response) -> str:
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["isError"] is True
    assert "structuredContent" not in result
    text: str = result["content"][0]["text"]
    return text


async def test_tool_errors_are_the_sdks(
    running_app: httpx.AsyncClient, world: World, lanes: Lanes
) -> None:
    token = await world.installation_token()

    async def answer(body: Any) -> httpx.Response:
        return await same_answer(running_app, lanes, body, fast=True, token=token)

    missing = await answer(call("getProject", {"project": "nope"}))
    assert json.loads(tool_error(missing)) == {
        "error": "not_found",
        "error_description": "No such project.",
    }
    assert tool_error(await answer(call("nope", {}))) == "Unknown tool: nope"
    wrong_type = tool_error(await answer(call("getProject", {"project": 5})))
    assert wrong_type.startswith("Error executing tool getProject: 1 validation error")
    assert "project\n  Input should be a valid string" in wrong_type
    absent = tool_error(await answer(call("getProject", {})))
    assert "Field required" in absent
    no_params = await answer({"jsonrpc": "2.0", "id": 1, "method": "tools/call"})
    assert no_params.json() == {
        "jsonrpc": "2.0",
        "id": 1,
        "error": {"code": -32602, "message": "Invalid request parameters", "data": ""},
    }


async def test_a_missing_scope_is_the_same_answer(
    running_app: httpx.AsyncClient, world: World, lanes: Lanes
) -> None:
    installation = await world.installation_token(scopes=["keys:read"])
    refused = await same_answer(
        running_app, lanes, call("getProject", {"project": "web"}), fast=True, token=installation
    )
    assert json.loads(tool_error(refused))["error"] == "missing_scope"
    access = await world.access_token(scopes=["keys:read"])
    step_up = await same_answer(
        running_app, lanes, call("getProject", {"project": "web"}), fast=False, token=access
    )
    assert step_up.status_code == 403
    assert step_up.json()["error"] == "insufficient_scope"


async def test_foreign_and_revoked_tokens_never_reach_a_lane(
    running_app: httpx.AsyncClient, world: World, lanes: Lanes
) -> None:
    body = call("getProject", {"project": "web"})
    foreign = await world.access_token(client_id=world.other_client_id)
    unknown = await same_answer(running_app, lanes, body, fast=False, token=foreign)
    assert unknown.status_code == 401
    assert unknown.json()["error"] == "invalid_token"
    revoked = await world.installation_token()
    async with world.services.db.transaction() as conn:
        await grants.revoke_grant(
            conn, world.grants["acme"], actor="test", now=world.services.clock.now(), reason="test"
        )
    gone = await same_answer(running_app, lanes, body, fast=False, token=revoked)
    assert gone.status_code == 410
    assert gone.json()["error"] == "grant_revoked"


GET_PROJECT = call("getProject", {"project": "web"})


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b"{not json", {}, 400, -32700),
        ([GET_PROJECT, {**GET_PROJECT, "id": 2}], {}, 400, -32602),  # a batch
        ({"jsonrpc": "2.0", "method": "notifications/initialized"}, {}, 202, None),
        ({"jsonrpc": "2.0", "id": None, "method": "tools/list"}, {}, 202, None),
        ({"jsonrpc": "2.0", "id": 1, "method": "resources/list"}, {}, 200, None),
        ({"jsonrpc": "2.0", "id": 1, "method": "no/such"}, {}, 200, -32601),
        (GET_PROJECT, {"accept": "text/html"}, 406, -32600),
        (GET_PROJECT, {"accept": "text/event-stream"}, 406, -32600),
        (GET_PROJECT, {"mcp-protocol-version": "1999-01-01"}, 400, -32602),
        (GET_PROJECT, {"content-type": "Application/JSON"}, 415, -32600),
        (GET_PROJECT, {"content-type": "text/plain, application/json"}, 400, None),
        (GET_PROJECT, {"content-type": ""}, 400, None),
        (GET_PROJECT, {"content-length": "abc"}, 200, None),  # an odd length: the SDK's to judge
    ],
)
async def test_what_the_fast_lane_does_not_serve_is_the_sdks_answer(
    running_app: httpx.AsyncClient,
    world: World,
    lanes: Lanes,
    body: Any,
    headers: dict[str, str],
    status: int,
    code: int | None,
) -> None:
    token = await world.installation_token()
    response = await same_answer(running_app, lanes, body, fast=False, token=token, headers=headers)
    assert response.status_code == status
    if code is not None:
        assert response.json()["error"]["code"] == code


async def test_initialize_is_left_to_the_sdk(
    running_app: httpx.AsyncClient, world: World, lanes: Lanes
) -> None:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL,
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"},
        },
    }
    response = await same_answer(
        running_app, lanes, body, fast=False, token=await world.installation_token()
    )
    assert response.json()["result"]["serverInfo"]["name"] == "i18n-connect"


def test_only_a_stateless_json_endpoint_has_a_fast_lane() -> None:
    server: MCPServer[Any] = MCPServer("test")
    server.streamable_http_app(json_response=False, stateless_http=True)
    with pytest.raises(ValueError, match="stateless JSON-response"):
        FastLane(server.session_manager, SdkLifespan())


async def test_without_the_sdks_lifespan_nothing_takes_the_fast_lane() -> None:
    server: MCPServer[Any] = MCPServer("test")
    server.streamable_http_app(
        json_response=True,
        stateless_http=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    lane = FastLane(server.session_manager, SdkLifespan())
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode()
    scope = {
        "type": "http",
        "method": "POST",
        "headers": [
            (b"accept", b"application/json"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    assert await lane.request(scope, body) is None
    async with lane.lifespan(server):
        assert await lane.request(scope, body) is not None


async def test_a_handler_crash_is_the_dispatchers_code_0_error_in_both_lanes() -> None:
    lifespan = SdkLifespan()
    server: MCPServer[Any] = MCPServer("test", lifespan=lifespan)
    server.streamable_http_app(
        json_response=True,
        stateless_http=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    manager = server.session_manager
    lane = FastLane(manager, lifespan)

    async def crash(ctx: Any, params: CallToolRequestParams) -> CallToolResult:
        raise RuntimeError("the handler broke")

    manager.app.add_request_handler("tools/call", CallToolRequestParams, crash)
    lanes = Lanes()

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        body = (await receive())["body"]

        async def replay() -> Any:
            return {"type": "http.request", "body": body, "more_body": False}

        message = None if lanes.sdk_only else await lane.request(scope, body)
        if message is not None:
            lanes.served += 1
            await lane.answer(message, scope, replay, send)
        else:
            await manager.handle_request(scope, replay, send)

    answers = []
    async with (
        manager.run(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=endpoint), base_url="http://testserver"
        ) as client,
    ):
        for lanes.sdk_only in (False, True):
            answers.append(
                await client.post(
                    "/mcp",
                    json=call("anything", {}),
                    headers={"accept": ACCEPT, "mcp-protocol-version": PROTOCOL},
                )
            )
    quick, sdk = answers
    assert lanes.served == 1
    assert (quick.status_code, _headers(quick), quick.content) == (
        sdk.status_code,
        _headers(sdk),
        sdk.content,
    )
    assert quick.json() == {
        "jsonrpc": "2.0",
        "id": 1,
        "error": {"code": 0, "message": "the handler broke"},
    }


async def test_the_sdks_transport_logs_nothing_but_our_access_line_per_request(
    running_app: httpx.AsyncClient,
    world: World,
    lanes: Lanes,
    capsys: pytest.CaptureFixture[str],
    json_logs: None,
) -> None:
    token = await world.installation_token()
    capsys.readouterr()
    await same_answer(
        running_app, lanes, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, fast=True, token=token
    )
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert [(line["event"], line["route"]) for line in lines] == [("request", "/mcp")] * 2
