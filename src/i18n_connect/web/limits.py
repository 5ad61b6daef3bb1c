"""The request body limit (``I18N_CONNECT_MAX_BODY_BYTES``; RFC 9110 §15.5.14).

A declared ``Content-Length`` above the limit is refused with 413 before the
application sees the request, so nothing is read or buffered. A body without
a length (chunked) is counted as it arrives; the read that crosses the limit
raises `RequestTooLarge`, which the error handlers render as 413 JSON.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from i18n_connect.errors import RequestTooLarge
from i18n_connect.web.errors import error_response

__all__ = ["BodyLimitMiddleware"]


class BodyLimitMiddleware:
    """ASGI middleware: at most ``max_bytes`` of request body per HTTP request."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            # The unread body cannot be skipped cheaply: close the connection after answering.
            response = error_response(self._error(), headers={"Connection": "close"})
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self._error()
            return message

        await self.app(scope, limited, send)

    def _error(self) -> RequestTooLarge:
        return RequestTooLarge(f"The request body is larger than {self.max_bytes} bytes.")
