"""The HTTP/1.1 connection protocol of ``i18n-connect serve``: uvicorn's httptools protocol
with two limits it lacks (RFC 9110 §15.5.9, RFC 6585 §5).

- The request head (request line and header fields) may have at most
  `MAX_HEAD_BYTES`; a larger one is answered 431 with a JSON body and the
  connection is closed, before the application sees it.
- The head must arrive within `HEAD_TIMEOUT_SECONDS` of the connection opening
  or of the previous response; a client that trickles it slower is answered 408
  and disconnected, so slow clients cannot hold connections open forever.

Idle keep-alive connections are closed by uvicorn's own keep-alive timeout.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["HEAD_TIMEOUT_SECONDS", "MAX_HEAD_BYTES", "GuardedHttpToolsProtocol"]

MAX_HEAD_BYTES = 16 * 1024
HEAD_TIMEOUT_SECONDS = 10.0


def _refusal(status: int, reason: str, description: str) -> bytes:
    body = json.dumps({"error": "invalid_request", "error_description": description}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"cache-control: no-store\r\nconnection: close\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """httptools with a bounded request head and a deadline for receiving it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0
        self._head_tail = b""
        self._in_head = True
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head and self._head_size(data) > MAX_HEAD_BYTES:
            self._refuse(
                431,
                "Request Header Fields Too Large",
                f"The request line and headers exceed {MAX_HEAD_BYTES} bytes.",
            )
            return
        super().data_received(data)

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

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel_deadline()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        idle = self.cycle is None or self.cycle.response_complete  # no pipelined request runs
        if idle and not self.transport.is_closing():
            self._await_head()

    def _await_head(self) -> None:
        self._in_head = True
        self._head_bytes = 0
        self._head_tail = b""
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
        if self._in_head and not self.transport.is_closing():
            if self._head_bytes == 0:  # an idle connection: nothing to answer
                self.transport.close()
                return
            self._refuse(408, "Request Timeout", "The request head arrived too slowly.")

    def _refuse(self, status: int, reason: str, description: str) -> None:
        self._cancel_deadline()
        self._in_head = False
        if not self.transport.is_closing():
            self.transport.write(_refusal(status, reason, description))
            self.transport.close()
