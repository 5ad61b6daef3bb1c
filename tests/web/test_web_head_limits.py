"""The request head's deadline (RFC 9110 §15.5.9), kept by one sweep per event loop, on a
real uvicorn server with ``GuardedHttpProtocol``: a head trickled too slowly is answered 408,
an idle new connection closed without an answer, every head's deadline runs from its own
first byte, and what comes after a complete head (the body, the application's work) is never
cut. The sweep stops with the server and keeps no closed connection."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import socket
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from i18n_connect.web import http_protocol
from i18n_connect.web.http_protocol import GuardedHttpProtocol

TIMEOUT = 0.4
SWEEP = 0.1
LATE = TIMEOUT + SWEEP + 0.5  # the latest a refusal may come, with room for a busy machine


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """``/slow`` answers after three head deadlines; anything else echoes its body."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"] == "/slow":
        await asyncio.sleep(TIMEOUT * 3)
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@contextlib.asynccontextmanager
async def serving(protocol: type[asyncio.Protocol] = GuardedHttpProtocol) -> AsyncIterator[int]:
    """A uvicorn server with ``protocol`` on a free loopback port, stopped on exit."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, http=protocol, lifespan="off", log_config=None, timeout_keep_alive=30
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 (uvicorn has no event)
        await asyncio.sleep(0.01)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
def short_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_protocol, "HEAD_TIMEOUT_SECONDS", TIMEOUT)
    monkeypatch.setattr(http_protocol, "HEAD_SWEEP_SECONDS", SWEEP)


async def read_until_closed(reader: asyncio.StreamReader) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and the loop's time it closed."""
    data = await asyncio.wait_for(reader.read(), timeout=TIMEOUT * 10)
    return data, asyncio.get_running_loop().time()


def request(path: str, body: bytes = b"") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-length: {len(body)}\r\n\r\n".encode()
        + body
    )


def assert_refused_408(answer: bytes) -> None:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert json.loads(body) == {
        "error": "invalid_request",
        "error_description": "The request head arrived too slowly.",
    }


@pytest.mark.usefixtures("short_deadline")
async def test_a_trickled_head_is_answered_408_once_the_deadline_passed() -> None:
    async with serving() as port:
        opened = asyncio.get_running_loop().time()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        answer, closed = await read_until_closed(reader)
        writer.close()
    assert_refused_408(answer)
    assert TIMEOUT <= closed - opened < LATE


@pytest.mark.usefixtures("short_deadline")
async def test_a_new_connection_that_sends_nothing_is_closed_without_an_answer() -> None:
    async with serving() as port:
        opened = asyncio.get_running_loop().time()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        answer, closed = await read_until_closed(reader)
        writer.close()
    assert answer == b""
    assert TIMEOUT <= closed - opened < LATE


@pytest.mark.usefixtures("short_deadline")
async def test_a_head_complete_just_in_time_is_never_refused_by_a_later_sweep() -> None:
    async with serving() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        await asyncio.sleep(TIMEOUT - SWEEP)
        writer.write(b"content-length: 4\r\n\r\n")  # the head is complete, the body is not
        await asyncio.sleep(TIMEOUT * 2)
        writer.write(b"body")  # the application then works for three head deadlines
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=TIMEOUT * 10)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert await reader.readexactly(4) == b"body"
        writer.close()


@pytest.mark.usefixtures("short_deadline")
async def test_a_later_head_on_a_kept_alive_connection_has_its_own_deadline() -> None:
    loop = asyncio.get_running_loop()
    async with serving() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request("/", b"one"))
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert await reader.readexactly(3) == b"one"
        await asyncio.sleep(TIMEOUT * 1.5)  # idle, kept alive: the head deadline does not run
        writer.write(b"GET / HTTP/1.1\r\n")
        began = loop.time()
        answer, closed = await read_until_closed(reader)
        writer.close()
    assert_refused_408(answer)
    assert TIMEOUT <= closed - began < LATE


@pytest.mark.usefixtures("short_deadline")
async def test_a_pipelined_head_has_its_own_deadline() -> None:
    loop = asyncio.get_running_loop()
    async with serving() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.sleep(TIMEOUT * 0.6)  # most of the first head's deadline has passed
        writer.write(request("/", b"one") + b"GET / HTTP/1.1\r\n")
        began = loop.time()
        await asyncio.sleep(SWEEP)
        writer.write(b"Host: 127.0.0.1\r\n")  # the second head, trickled
        answer, closed = await read_until_closed(reader)
        writer.close()
    first, _, second = answer.partition(b"one")
    assert first.startswith(b"HTTP/1.1 200 OK\r\n")
    assert_refused_408(second)
    assert TIMEOUT <= closed - began < LATE


class RecordingLoop(asyncio.SelectorEventLoop):
    """An event loop that keeps every timer it schedules."""

    def __init__(self) -> None:
        super().__init__()
        self.timers: list[asyncio.TimerHandle] = []

    def call_at(
        self, when: float, callback: Callable[..., object], *args: Any, context: Any = None
    ) -> asyncio.TimerHandle:
        timer = super().call_at(when, callback, *args, context=context)
        self.timers.append(timer)
        return timer


def test_the_sweep_stops_with_the_server_and_keeps_no_closed_connection() -> None:
    connections: list[weakref.ref[GuardedHttpProtocol]] = []

    class Recorded(GuardedHttpProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            connections.append(weakref.ref(self))

    async def serve_and_stop() -> None:
        async with serving(Recorded) as port:
            opened = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
            # the first sends nothing, the second is answered and kept alive, the third trickles
            reader, kept_alive = opened[1]
            kept_alive.write(request("/", b"one"))
            await reader.readuntil(b"one")
            _, partial = opened[2]
            partial.write(b"GET / HTTP/1.1\r\n")
            await asyncio.sleep(0.1)
        for _, writer in opened:
            writer.close()
        await asyncio.sleep(0.1)

    with asyncio.Runner(loop_factory=RecordingLoop) as runner:
        loop = runner.get_loop()
        assert isinstance(loop, RecordingLoop)
        for _ in range(2):  # a server started again in the same loop stops its sweep again
            runner.run(serve_and_stop())
            pending = [t for t in loop.timers if not t.cancelled() and t.when() > loop.time()]
            assert pending == []
            gc.collect()
            assert len(connections) == 3
            assert [ref() for ref in connections] == [None, None, None]
            connections.clear()
