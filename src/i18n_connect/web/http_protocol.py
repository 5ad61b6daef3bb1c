"""The HTTP/1.1 connection protocol of ``i18n-connect serve``: uvicorn's own protocol (what
``--http auto`` chooses), wrapped through the asyncio ``Protocol`` interface, with two limits
uvicorn lacks (RFC 9110 §15.5.9, RFC 6585 §5).

- The request head (request line and header fields) may have at most
  `MAX_HEAD_BYTES`; a larger one is answered 431 with a JSON body and the
  connection is closed, before the application sees it.
- The head must arrive within `HEAD_TIMEOUT_SECONDS` of the connection opening
  or of its own first byte; a client that trickles it slower is answered 408
  and disconnected, so slow clients cannot hold connections open forever. A
  connection that sent nothing at all is closed without an answer.

The deadline is kept without a timer per request: each connection notes when its
current head began (on the loop's clock), and one sweep per event loop, every
`HEAD_SWEEP_SECONDS` while guarded connections are open, refuses the heads older
than the deadline. A head is therefore cut off between `HEAD_TIMEOUT_SECONDS` and
`HEAD_TIMEOUT_SECONDS` + `HEAD_SWEEP_SECONDS` after it began; a head that is
complete, a body and a request waiting for the application are never swept.

The wrapper finds where heads begin and end with its own ``httptools`` parser and
hands every byte on unchanged. The parser reads bodies too: where a message ends
(Content-Length, chunked, malformed or upgraded) is only known exactly by parsing it
as uvicorn's parser does. Idle keep-alive connections are closed by uvicorn's own
keep-alive timeout.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Callable
from typing import Any, cast

import httptools
from uvicorn.config import HTTP_PROTOCOLS
from uvicorn.importer import import_from_string

__all__ = ["HEAD_SWEEP_SECONDS", "HEAD_TIMEOUT_SECONDS", "MAX_HEAD_BYTES", "GuardedHttpProtocol"]

MAX_HEAD_BYTES = 16 * 1024
HEAD_TIMEOUT_SECONDS = 10.0
HEAD_SWEEP_SECONDS = 1.0
_UVICORN_PROTOCOL: Any = import_from_string(HTTP_PROTOCOLS["auto"])


def _refusal(status: int, reason: str, description: str) -> bytes:
    body = json.dumps({"error": "invalid_request", "error_description": description}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"cache-control: no-store\r\nconnection: close\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


class _HeadSweep:
    """The open guarded connections of one event loop, and the one timer that checks their
    heads' deadlines every `HEAD_SWEEP_SECONDS` while any is open (none once all are closed)."""

    __slots__ = ("__weakref__", "connections", "loop", "timer")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.connections: set[GuardedHttpProtocol] = set()
        self.timer: asyncio.TimerHandle | None = None

    def add(self, connection: GuardedHttpProtocol) -> None:
        self.connections.add(connection)
        if self.timer is None:
            self.timer = self.loop.call_later(HEAD_SWEEP_SECONDS, self._sweep)

    def discard(self, connection: GuardedHttpProtocol) -> None:
        self.connections.discard(connection)
        if not self.connections and self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _sweep(self) -> None:
        cutoff = self.loop.time() - HEAD_TIMEOUT_SECONDS
        for connection in [
            c for c in self.connections if c.head_began is not None and c.head_began <= cutoff
        ]:
            connection.head_timed_out()
        self.timer = (
            self.loop.call_later(HEAD_SWEEP_SECONDS, self._sweep) if self.connections else None
        )


# The sweep of each running loop; a sweep lives as long as its connections or its timer.
_SWEEPS: weakref.WeakValueDictionary[asyncio.AbstractEventLoop, _HeadSweep] = (
    weakref.WeakValueDictionary()
)


def _sweep_of(loop: asyncio.AbstractEventLoop) -> _HeadSweep:
    sweep = _SWEEPS.get(loop)
    if sweep is None:
        sweep = _SWEEPS[loop] = _HeadSweep(loop)
    return sweep


class GuardedHttpProtocol(asyncio.Protocol):
    """uvicorn's HTTP protocol behind a bounded request head and a deadline for receiving it.

    uvicorn creates it as it would its own protocol (``Config(http=...)``); the arguments
    go to the wrapped protocol unchanged."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._inner: asyncio.Protocol = _UVICORN_PROTOCOL(*args, **kwargs)
        self._parser: Any = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()  # uvicorn creates each connection's protocol in it
        self._clock: Callable[[], float] = loop.time
        self._sweep = _sweep_of(loop)
        self._head_bytes = 0
        self._head_tail = b""
        self._in_head = True
        self.head_began: float | None = None  # on the loop's clock, while a head is awaited

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._transport = transport
        self._inner.connection_made(transport)
        self.head_began = self._clock()
        self._sweep.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.head_began = None
        self._sweep.discard(self)
        self._inner.connection_lost(exc)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def data_received(self, data: bytes) -> None:
        if self._in_head and self._head_size(data) > MAX_HEAD_BYTES:
            self._refuse(
                431,
                "Request Header Fields Too Large",
                f"The request line and headers exceed {MAX_HEAD_BYTES} bytes.",
            )
            return
        if self._parser is not None:
            try:
                self._parser.feed_data(data)
            except httptools.HttpParserError:  # malformed or upgraded: uvicorn answers it
                self._parser = None
                self._in_head = False
                self.head_began = None
        self._inner.data_received(data)

    def _head_size(self, data: bytes) -> int:
        """The head's size so far: up to its blank line when ``data`` holds it (checked before
        parsing, across reads by keeping the last three bytes)."""
        window = self._head_tail + data
        end = window.find(b"\r\n\r\n")
        if end >= 0:
            return self._head_bytes - len(self._head_tail) + end + 4
        self._head_bytes += len(data)
        self._head_tail = window[-3:]
        return self._head_bytes

    # httptools parser callbacks
    def on_message_begin(self) -> None:
        if self.head_began is None:  # a later request on a kept-alive connection
            self.head_began = self._clock()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self.head_began = None

    def on_message_complete(self) -> None:
        self._in_head = True  # the next bytes are the next request's head
        self._head_bytes = 0
        self._head_tail = b""

    def head_timed_out(self) -> None:
        """The sweep found the awaited head older than `HEAD_TIMEOUT_SECONDS`."""
        self.head_began = None
        transport = self._transport
        if self._in_head and transport is not None and not transport.is_closing():
            if self._head_bytes == 0:  # an idle connection: nothing to answer
                transport.close()
                return
            self._refuse(408, "Request Timeout", "The request head arrived too slowly.")

    def _refuse(self, status: int, reason: str, description: str) -> None:
        self.head_began = None
        self._in_head = False
        self._parser = None
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.write(_refusal(status, reason, description))
            transport.close()
