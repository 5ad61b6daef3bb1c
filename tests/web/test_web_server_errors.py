"""An unhandled exception: Starlette's plain 500, without the edge's headers, whether a hot
route or the app's router raised it; logged with the request id; raised on to the server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from i18n_connect.api import resource_routes
from i18n_connect.web.edge import Edge, EdgeLimits
from i18n_connect.web.hot_routes import HotRoutes
from i18n_connect.web.observability import HttpMetrics

# What Starlette's ServerErrorMiddleware sends for an unhandled exception, and nothing else.
SERVER_ERROR_HEADERS = [
    ("content-length", "21"),
    ("content-type", "text/plain; charset=utf-8"),
]


@pytest.fixture
async def unraising(app_client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """The app of ``app_client``, its exceptions answered instead of raised to the test."""
    app: FastAPI = app_client.app  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=app_client.base_url) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


def _broken_router_route(client: httpx.AsyncClient) -> None:
    app: FastAPI = client.app  # type: ignore[attr-defined]

    async def broken() -> None:
        raise RuntimeError("boom")

    app.router.add_api_route("/broken", broken, methods=["GET"])


@pytest.fixture
def broken_hot_route(monkeypatch: pytest.MonkeyPatch) -> None:
    """``GET /api/oauth-client/organizations`` (a hot route) fails before it answers."""

    def failing(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(resource_routes, "installation_call", failing)


def _exactly_the_server_error(response: httpx.Response) -> None:
    assert response.status_code == 500
    assert response.content == b"Internal Server Error"
    assert sorted(response.headers.items()) == SERVER_ERROR_HEADERS


async def test_a_router_route_that_raises_is_answered_with_the_plain_500(
    unraising: httpx.AsyncClient,
) -> None:
    _broken_router_route(unraising)
    _exactly_the_server_error(await unraising.get("/broken", headers={"X-Request-ID": "r-1"}))


async def test_a_hot_route_that_raises_is_answered_with_the_same_500(
    unraising: httpx.AsyncClient, broken_hot_route: None
) -> None:
    response = await unraising.get(
        "/api/oauth-client/organizations", headers={"X-Request-ID": "r-2"}
    )
    _exactly_the_server_error(response)


async def test_a_hot_routes_exception_reaches_the_server(
    app_client: httpx.AsyncClient, broken_hot_route: None
) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        await app_client.get("/api/oauth-client/organizations")


async def test_a_hot_routes_exception_is_logged_with_the_request_id_and_counted_as_500(
    unraising: httpx.AsyncClient,
    broken_hot_route: None,
    capsys: pytest.CaptureFixture[str],
    json_logs: None,
) -> None:
    capsys.readouterr()
    await unraising.get("/api/oauth-client/organizations", headers={"X-Request-ID": "trace-7"})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    error = next(line for line in lines if line["event"] == "unhandled_error")
    assert error["request_id"] == "trace-7" and "RuntimeError: boom" in error["exception"]
    access = next(line for line in lines if line["event"] == "request")
    assert (access["request_id"], access["status"]) == ("trace-7", 500)
    assert access["route"] == "/api/oauth-client/organizations"


async def test_the_app_still_runs_its_lifespan_through_the_edge(
    unraising: httpx.AsyncClient,
) -> None:
    app: FastAPI = unraising.app  # type: ignore[attr-defined]
    sent: list[Message] = []
    incoming: list[Message] = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
    assert [message["type"] for message in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]


def _edge(app: Any, hot: list[Route] | None = None) -> Edge:
    limits = EdgeLimits(max_bytes=1024, body_seconds=5.0)
    edge = Edge(
        app,
        metrics=HttpMetrics(CollectorRegistry()),
        limits=limits,
        hot_routes=HotRoutes(hot or [], {}),
    )
    edge.server_errors = ServerErrorMiddleware(app)
    return edge


async def _exchange(edge: Edge, path: str = "/") -> tuple[list[Message], BaseException | None]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "GET", "path": path, "headers": []}
    try:
        await edge(scope, receive, send)
    except RuntimeError as exc:
        return sent, exc
    return sent, None


async def test_an_exception_after_the_response_began_is_raised_without_a_second_answer() -> None:
    async def half(_scope: Scope, _receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("cut")

    sent, raised = await _exchange(_edge(half))
    assert [message.get("status") for message in sent] == [200]
    assert str(raised) == "cut"


async def test_an_exception_before_the_response_is_answered_500_and_raised() -> None:
    async def failing(_request: Request) -> Response:
        raise RuntimeError("early")

    async def unused(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse("router")(scope, receive, send)

    sent, raised = await _exchange(_edge(unused, [Route("/hot", failing)]), "/hot")
    assert [(message["type"], message.get("status")) for message in sent] == [
        ("http.response.start", 500),
        ("http.response.body", None),
    ]
    assert sent[1]["body"] == b"Internal Server Error"
    assert str(raised) == "early"
