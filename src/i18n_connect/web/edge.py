"""The one ASGI layer every HTTP request passes, in one receive and one send wrapper.

In order, for each request:

- a request id (`observability.request_id`), bound to every log line and sent back
  as ``X-Request-ID``; afterwards one access line and the route's metrics;
- the body's size: a declared ``Content-Length`` above the limit
  (``I18N_CONNECT_MAX_BODY_BYTES``, or ``I18N_CONNECT_MAX_IMPORT_BYTES`` for a POST
  to a path ending in ``/import``) is refused with 413 before anything is read,
  and the connection closed; a body without a length is counted as it arrives,
  and the read that crosses the limit raises `RequestTooLarge` (RFC 9110 §15.5.14);
- the body's deadline: the whole body within ``I18N_CONNECT_BODY_TIMEOUT_SECONDS``
  of the application first asking for it, else 408 and a disconnected client for
  the application (a response already under way is cut off instead); waiting for
  a disconnect once the body is complete is not limited (RFC 9110 §15.5.9); one
  timer keeps the deadlines of every request (`body_deadlines`);
- the hot routes (`hot_routes`) by dictionary, everything else through the app;
- on the way out, the security headers (`security`) and, for the partner API's
  GETs, a strong ``ETag`` and 304 (`etags`; the answer is held until complete);
- an unhandled exception: logged with the request id, then, given the app's
  ``ServerErrorMiddleware`` (``server_errors``), answered as that layer answers it
  (its 500 handler or debug page, sent around the edge's own headers) unless the
  response has begun, and raised on to the server. The app puts the edge in that
  layer's place, outermost (``app.create_app``), so it is one layer fewer per message.

These were five nested middlewares, each with its own closures and an await per
message; the layer does their work once per message.
"""

from __future__ import annotations

import asyncio
import time

import structlog
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from i18n_connect.errors import RequestTimeout, RequestTooLarge
from i18n_connect.web.body_deadlines import BodyDeadlines
from i18n_connect.web.errors import error_response
from i18n_connect.web.etags import has_etag, tagged_answer
from i18n_connect.web.hot_routes import HotRoutes
from i18n_connect.web.observability import (
    ACCESS_LOGGER,
    HttpMetrics,
    access_line,
    method_label,
    request_id,
    route_template,
)
from i18n_connect.web.security import (
    CONTENT_SECURITY_POLICY,
    DOCS_CONTENT_SECURITY_POLICY,
    with_edge_headers,
)

__all__ = ["Edge", "EdgeLimits"]

_DISCONNECT: Message = {"type": "http.disconnect"}
_REQUEST_ID = b"x-request-id"
_log = structlog.get_logger(ACCESS_LOGGER)


class EdgeLimits:
    """The body limits and the paths with their own rules."""

    def __init__(
        self,
        *,
        max_bytes: int,
        import_bytes: int | None = None,
        body_seconds: float,
        docs_path: str | None = None,
        etag_prefix: str = "/api/oauth-client/",
    ) -> None:
        self.max_bytes = max_bytes
        self.import_bytes = import_bytes or max_bytes
        self.body_seconds = body_seconds
        self.docs_path = docs_path
        self.etag_prefix = etag_prefix


class Edge:
    """ASGI middleware: see the module's description."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: HttpMetrics,
        limits: EdgeLimits,
        hot_routes: HotRoutes | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.limits = limits
        self.hot_routes = hot_routes
        self.server_errors: ServerErrorMiddleware | None = None
        self.body_deadlines = BodyDeadlines()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await _Exchange(self, scope, receive, send).run()


class _Exchange:
    """One request passing the edge: its state and its two wrappers."""

    __slots__ = (
        "body_complete",
        "chunks",
        "deadline",
        "declared",
        "downstream",
        "edge",
        "expired",
        "held",
        "if_none_match",
        "limit",
        "policy",
        "received",
        "request_id",
        "responding",
        "scope",
        "started",
        "status",
        "task",
        "timed_out",
        "upstream",
    )

    def __init__(self, edge: Edge, scope: Scope, receive: Receive, send: Send) -> None:
        self.edge = edge
        self.scope = scope
        self.upstream = receive
        self.downstream = send
        limits = edge.limits
        incoming: bytes | None = None
        declared: bytes | None = None
        if_none_match: bytes | None = None
        for name, value in scope["headers"]:  # one pass over the request's headers
            if name == b"content-length":
                declared = value
            elif name == _REQUEST_ID:
                incoming = value
            elif name == b"if-none-match":
                if_none_match = value
        self.request_id = request_id(incoming)
        scope.setdefault("state", {})["request_id"] = self.request_id
        method: str = scope["method"]
        path: str = scope["path"]
        self.limit = limits.max_bytes
        if method == "POST" and path.endswith("/import"):
            self.limit = limits.import_bytes
        self.declared = int(declared) if declared is not None and declared.isdigit() else None
        conditional = method == "GET" and path.startswith(limits.etag_prefix)
        self.if_none_match = if_none_match.decode("latin-1") if if_none_match else None
        self.held: Message | None = None
        self.chunks: list[bytes] | None = [] if conditional else None
        self.policy = (
            DOCS_CONTENT_SECURITY_POLICY if path == limits.docs_path else CONTENT_SECURITY_POLICY
        )
        self.status = 500
        self.received = 0
        self.deadline: float | None = None
        self.task: asyncio.Task[object] | None = None
        self.expired = False
        self.body_complete = self.responding = self.started = self.timed_out = False

    async def run(self) -> None:
        edge = self.edge
        scope = self.scope
        started = time.perf_counter()
        bound = structlog.contextvars.bind_contextvars(request_id=self.request_id)
        try:
            if self.declared is not None and self.declared > self.limit:
                # The unread body cannot be skipped cheaply: close the connection after answering.
                refusal = error_response(_too_large(self.limit), headers={"Connection": "close"})
                await refusal(scope, self.upstream, self._forward)
                return
            hot = edge.hot_routes
            try:
                if hot is not None and (route := hot.find(scope)) is not None:
                    await hot.answer(route, scope, self.receive, self.send, app=edge.app)
                else:
                    await edge.app(scope, self.receive, self.send)
            except Exception:
                if not self.timed_out:
                    raise
            if self.timed_out and self.responding:
                raise RequestTimeout()  # the server drops the connection mid-response
        except Exception as exc:
            _log.exception("unhandled_error")
            if edge.server_errors is not None and not self.started:
                await _server_error(edge.server_errors, exc, scope, self.upstream, self.downstream)
            raise
        finally:
            elapsed = time.perf_counter() - started
            route_name = route_template(scope)
            method = method_label(scope["method"])
            edge.metrics.observe(route_name, method, self.status, elapsed)
            access_line(self.request_id, method, route_name, self.status, elapsed)
            structlog.contextvars.reset_contextvars(**bound)

    async def receive(self) -> Message:
        """The next request message, within the body's deadline and size limit."""
        if self.timed_out:
            return _DISCONNECT
        if self.body_complete:
            return await self.upstream()
        loop = asyncio.get_running_loop()
        if self.deadline is None:
            self.deadline = loop.time() + self.edge.limits.body_seconds
        deadlines = self.edge.body_deadlines
        deadlines.wait(self, loop)
        try:
            message = await self.upstream()
        except asyncio.CancelledError:
            task = self.task
            if not self.expired or task is None or task.uncancel() > 0:
                raise  # not (only) the deadline's cancellation
            self.timed_out = True
            if not self.responding:
                answer = error_response(RequestTimeout(), headers={"Connection": "close"})
                await answer(self.scope, self.upstream, self._forward)
            return _DISCONNECT
        finally:
            deadlines.done(self)
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                raise _too_large(self.limit)
            self.body_complete = not message.get("more_body")
        else:
            self.body_complete = True
        return message

    async def send(self, message: Message) -> None:
        """The application's answer, unless the body's deadline has already answered 408."""
        if self.timed_out:
            return
        self.responding = True
        if self.chunks is not None:
            await self._forward(message)
            return
        if message["type"] == "http.response.start":  # `_forward`'s last step, inline
            self._start(message)
        await self.downstream(message)

    async def _forward(self, message: Message) -> None:
        chunks = self.chunks
        if chunks is not None:  # a partner-API GET: a 200 without its own tag is held
            if self.held is None:
                if message["status"] == 200 and not has_etag(message):
                    self.held = message
                    return
                self.chunks = None
            else:
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                start, body = tagged_answer(self.held, b"".join(chunks), self.if_none_match)
                self._start(start)
                await self.downstream(start)
                await self.downstream(body)
                return
        if message["type"] == "http.response.start":
            self._start(message)
        await self.downstream(message)

    def _start(self, message: Message) -> None:
        """The response's start as sent: the request id and the security headers added."""
        self.started = True
        self.status = message["status"]
        message["headers"] = with_edge_headers(
            message.get("headers", ()), (_REQUEST_ID, self.request_id.encode()), self.policy
        )


def _too_large(limit: int) -> RequestTooLarge:
    return RequestTooLarge(f"The request body is larger than {limit} bytes.")


async def _server_error(
    layer: ServerErrorMiddleware, exc: Exception, scope: Scope, receive: Receive, send: Send
) -> None:
    """``layer``'s answer to ``exc`` (its 500 handler, or its debug page); it raises ``exc``."""

    async def failing(_scope: Scope, _receive: Receive, _send: Send) -> None:
        raise exc

    await ServerErrorMiddleware(failing, handler=layer.handler, debug=layer.debug)(
        scope, receive, send
    )
