"""Request body limits: its size (``I18N_CONNECT_MAX_BODY_BYTES``, and
``I18N_CONNECT_MAX_IMPORT_BYTES`` for translation-file imports; RFC 9110 §15.5.14)
and the time to receive it (``I18N_CONNECT_BODY_TIMEOUT_SECONDS``; §15.5.9).

A declared ``Content-Length`` above the limit is refused with 413 before the
application sees the request, so nothing is read or buffered. A body without
a length (chunked) is counted as it arrives; the read that crosses the limit
raises `RequestTooLarge`, which the error handlers render as 413 JSON.

A body must arrive whole within the deadline of the application first asking
for it; a client that trickles it slower is answered 408 and disconnected, so
slow clients cannot hold connections open (the request head has a deadline of
its own in the HTTP protocol).
"""

from __future__ import annotations

import anyio
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from i18n_connect.errors import RequestTimeout, RequestTooLarge
from i18n_connect.web.errors import error_response

__all__ = ["BodyDeadlineMiddleware", "BodyLimitMiddleware"]

_DISCONNECT: Message = {"type": "http.disconnect"}


class BodyLimitMiddleware:
    """ASGI middleware: at most ``max_bytes`` of request body per HTTP request, or
    ``import_bytes`` for a POST to a path ending in ``/import``."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, import_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.import_bytes = import_bytes or max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        if scope["method"] == "POST" and scope["path"].endswith("/import"):
            limit = self.import_bytes
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            # The unread body cannot be skipped cheaply: close the connection after answering.
            response = error_response(_error(limit), headers={"Connection": "close"})
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _error(limit)
            return message

        await self.app(scope, limited, send)


def _error(limit: int) -> RequestTooLarge:
    return RequestTooLarge(f"The request body is larger than {limit} bytes.")


class BodyDeadlineMiddleware:
    """ASGI middleware: the whole request body within ``seconds`` of the first read.

    On time-out the client gets 408 with ``Connection: close`` (the server then closes
    the connection) and the application sees a disconnected client; whatever it still
    sends is dropped. A response already under way is cut off instead. Once the body is
    complete, reads (waiting for a disconnect) are not limited.
    """

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline: float | None = None
        body_complete = responding = timed_out = False

        async def guarded_send(message: Message) -> None:
            nonlocal responding
            if timed_out:
                return
            responding = True
            await send(message)

        async def receive_in_time() -> Message:
            nonlocal deadline, body_complete, timed_out
            if timed_out:
                return _DISCONNECT
            if body_complete:
                return await receive()
            if deadline is None:
                deadline = anyio.current_time() + self.seconds
            with anyio.CancelScope(deadline=deadline) as reading:
                message = await receive()
            if reading.cancelled_caught:
                timed_out = True
                if not responding:
                    answer = error_response(RequestTimeout(), headers={"Connection": "close"})
                    await answer(scope, receive, send)
                return _DISCONNECT
            body_complete = message["type"] != "http.request" or not message.get("more_body")
            return message

        try:
            await self.app(scope, receive_in_time, guarded_send)
        except Exception:
            if not timed_out:
                raise
        if timed_out and responding:
            raise RequestTimeout()  # the server drops the connection mid-response
