"""The HTTP/1.1 connection protocol of ``i18n-connect serve``: uvicorn's own protocol (what
``--http auto`` chooses), wrapped through the asyncio ``Protocol`` interface, with two limits
uvicorn lacks (RFC 9110 §15.5.9, RFC 6585 §5).

- The request head (request line and header fields) may have at most
  `MAX_HEAD_BYTES`; a larger one is answered 431 with a JSON body and the
  connection is closed, before the application sees it.
- The head must arrive within `HEAD_TIMEOUT_SECONDS` of the connection opening
  or of its own first byte; a client that trickles it slower is answered 408
  and disconnected, so slow clients cannot hold connections open forever.

The wrapper finds where heads begin and end with its own ``httptools`` parser and
hands every byte on unchanged. Idle keep-alive connections are closed by
uvicorn's own keep-alive timeout.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

import httptools
from uvicorn.config import HTTP_PROTOCOLS
from uvicorn.importer import import_from_string

__all__ = ["HEAD_TIMEOUT_SECONDS", "MAX_HEAD_BYTES", "GuardedHttpProtocol"]

MAX_HEAD_BYTES = 16 * 1024
HEAD_TIMEOUT_SECONDS = 10.0
_UVICORN_PROTOCOL: Any = import_from_string(HTTP_PROTOCOLS["auto"])


def _refusal(status: int, reason: str, description: str) -> bytes:
    body = json.dumps({"error": "invalid_request", "error_description": description}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"cache-control: no-store\r\nconnection: close\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


class GuardedHttpProtocol(asyncio.Protocol):
    """uvicorn's HTTP protocol behind a bounded request head and a deadline for receiving it.

    uvicorn creates it as it would its own protocol (``Config(http=...)``); the arguments
    go to the wrapped protocol unchanged."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._inner: asyncio.Protocol = _UVICORN_PROTOCOL(*args, **kwargs)
        self._parser: Any = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._head_bytes = 0
        self._head_tail = b""
        self._in_head = True
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._transport = transport
        self._inner.connection_made(transport)
        self._arm_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
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
                self._cancel_deadline()
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
        if self._head_deadline is None:  # a later request on a kept-alive connection
            self._arm_deadline()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel_deadline()

    def on_message_complete(self) -> None:
        self._in_head = True  # the next bytes are the next request's head
        self._head_bytes = 0
        self._head_tail = b""

    def _arm_deadline(self) -> None:
        self._cancel_deadline()
        self._head_deadline = asyncio.get_running_loop().call_later(
            HEAD_TIMEOUT_SECONDS, self._head_timed_out
        )

    def _cancel_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_timed_out(self) -> None:
        self._head_deadline = None
        transport = self._transport
        if self._in_head and transport is not None and not transport.is_closing():
            if self._head_bytes == 0:  # an idle connection: nothing to answer
                transport.close()
                return
            self._refuse(408, "Request Timeout", "The request head arrived too slowly.")

    def _refuse(self, status: int, reason: str, description: str) -> None:
        self._cancel_deadline()
        self._in_head = False
        self._parser = None
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.write(_refusal(status, reason, description))
            transport.close()
