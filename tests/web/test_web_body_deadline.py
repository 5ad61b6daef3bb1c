"""The body deadline of the edge layer: a body that arrives too slowly is answered 408 and
the application sees a disconnected client; a body in time is never cut, nor is waiting for
the client to go away once the body is complete."""

from __future__ import annotations

import json

import anyio
from prometheus_client import CollectorRegistry
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from i18n_connect.web.edge import Edge, EdgeLimits
from i18n_connect.web.observability import HttpMetrics

DEADLINE = 0.2
SCOPE: Scope = {"type": "http", "method": "POST", "path": "/", "headers": []}


def trickle(*pauses: float) -> Receive:
    """A client sending one body byte after each pause, then waiting to be answered."""
    remaining = list(pauses)

    async def receive() -> Message:
        if remaining:
            await anyio.sleep(remaining.pop(0))
            return {"type": "http.request", "body": b"a", "more_body": bool(remaining)}
        await anyio.sleep(DEADLINE * 3)
        return {"type": "http.disconnect"}

    return receive


async def echo_length(scope: Scope, receive: Receive, send: Send) -> None:
    body = await Request(scope, receive).body()
    await JSONResponse({"length": len(body)})(scope, receive, send)


def with_deadline(app: ASGIApp) -> Edge:
    limits = EdgeLimits(max_bytes=1024, body_seconds=DEADLINE)
    return Edge(app, metrics=HttpMetrics(CollectorRegistry()), limits=limits)


async def run(app: Edge, receive: Receive) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    with anyio.fail_after(5):
        await app(dict(SCOPE), receive, send)
    return sent


async def test_a_body_slower_than_the_deadline_is_answered_408_and_the_connection_closed() -> None:
    sent = await run(with_deadline(echo_length), trickle(0, 0.1, 0.3))
    start, body = sent  # the application's own answer to the "disconnect" was dropped
    assert start["status"] == 408
    assert (b"connection", b"close") in start["headers"]
    assert (b"cache-control", b"no-store") in start["headers"]
    assert json.loads(body["body"]) == {
        "error": "invalid_request",
        "error_description": "The request body arrived too slowly.",
    }


async def test_a_body_in_time_is_read_whole() -> None:
    sent = await run(with_deadline(echo_length), trickle(0, 0.05, 0.05))
    assert sent[0]["status"] == 200
    assert json.loads(sent[1]["body"]) == {"length": 3}


async def test_waiting_for_a_disconnect_after_the_body_is_not_cut() -> None:
    events: list[str] = []

    async def listener(scope: Scope, receive: Receive, send: Send) -> None:
        await Request(scope, receive).body()
        events.append((await receive())["type"])  # e.g. a streaming response's listener
        await JSONResponse({})(scope, receive, send)

    sent = await run(with_deadline(listener), trickle(0))
    assert events == ["http.disconnect"]
    assert sent[0]["status"] == 200


async def test_concurrent_slow_bodies_each_get_their_408() -> None:
    edge = with_deadline(echo_length)
    async with anyio.create_task_group() as group:
        results: list[list[Message]] = []

        async def one(*pauses: float) -> None:
            results.append(await run(edge, trickle(*pauses)))

        group.start_soon(one, 0, 0.3)
        await anyio.sleep(0.05)
        group.start_soon(one, 0, 0.1, 0.3)
    assert [sent[0]["status"] for sent in results] == [408, 408]
    assert not edge.body_deadlines.waiting


async def test_quick_bodies_share_one_timer() -> None:
    edge = with_deadline(echo_length)
    await run(edge, trickle(0))
    timer = edge.body_deadlines.timer
    assert timer is not None
    for _ in range(3):
        assert (await run(edge, trickle(0)))[0]["status"] == 200
    assert edge.body_deadlines.timer is timer
    assert not edge.body_deadlines.waiting


async def test_a_cancelled_request_is_cancelled_not_answered_408() -> None:
    edge = with_deadline(echo_length)
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    with anyio.move_on_after(0.05) as scope:
        await edge(dict(SCOPE), trickle(0, 1.0), send)
    assert scope.cancelled_caught
    assert sent == []
    assert not edge.body_deadlines.waiting
