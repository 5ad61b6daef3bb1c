"""The common MCP request served without the SDK's per-request transport: one JSON-RPC
``tools/call``, ``tools/list`` or ``ping`` POSTed to the stateless, JSON-response streamable-HTTP
endpoint (MCP 2025-11-25 "Streamable HTTP").

For every POST, the SDK's stateless session manager builds a transport, a task, memory
streams and a JSON-RPC dispatcher around a `ServerRunner`, and tears them down again. For
such a request all of that only carries one message in and one out, so `FastLane` takes it:

- it accepts only what the SDK's transport would hand to its dispatcher unchanged: a POST
  whose declared length is its body's, within the body limit, whose ``MCP-Protocol-Version``
  (if any) is a handshake-era version, that passes the SDK's own
  `TransportSecurityMiddleware`, accepts ``application/json`` (the SDK's
  `check_accept_headers`), is ``Content-Type: application/json``, and whose body parses
  (``pydantic_core.from_json``, then ``jsonrpc_message_adapter``, as the transport parses
  it) to one `JSONRPCRequest` for one of the methods above. Anything else — batches,
  notifications, ``initialize``, other methods, other versions, malformed bodies, refused
  headers — goes to the SDK, which answers it;
- it runs the request through the SDK's public single-request driver `serve_one` (the same
  `ServerRunner`, middleware, parameter validation, handler and result serialization as the
  dispatcher's) on a born-ready `Connection` at the header's version, with the dispatch
  context the stateless transport gives: the Starlette request as request context, no
  back-channel (a server request raises `NoBackChannelError`, notifications are dropped as
  the JSON-response transport drops them);
- it maps a raised error as `JSONRPCDispatcher` does (`handler_exception_to_error_data`, else
  code 0 with the exception's text) and answers the JSON-RPC response exactly as the
  transport writes it: status 200, ``Content-Type: application/json``, the message dumped by
  alias without unset fields, and no session header (stateless).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import pydantic_core
from mcp.server.connection import Connection
from mcp.server.mcpserver import MCPServer
from mcp.server.runner import serve_one
from mcp.server.streamable_http import check_accept_headers
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecurityMiddleware
from mcp.shared.dispatcher import CallOptions
from mcp.shared.exceptions import NoBackChannelError
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from mcp.shared.jsonrpc_dispatcher import handler_exception_to_error_data
from mcp.shared.message import ServerMessageMetadata
from mcp.shared.transport_context import TransportContext
from mcp_types import (
    DEFAULT_NEGOTIATED_VERSION,
    ErrorData,
    JSONRPCError,
    JSONRPCRequest,
    JSONRPCResponse,
    RequestId,
    jsonrpc_message_adapter,
)
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import ValidationError
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

__all__ = ["FAST_METHODS", "FastLane", "SdkLifespan"]

logger = logging.getLogger(__name__)

FAST_METHODS = frozenset({"tools/call", "tools/list", "ping"})

_JSON = "application/json"


class SdkLifespan:
    """The MCP server's lifespan: the SDK's default (an empty state), remembering the state
    it yields while the session manager runs, so the fast lane hands handlers that same one."""

    def __init__(self) -> None:
        self.state: dict[str, Any] | None = None

    @asynccontextmanager
    async def __call__(self, _server: MCPServer[Any]) -> AsyncIterator[dict[str, Any]]:
        state: dict[str, Any] = {}
        self.state = state
        try:
            yield state
        finally:
            self.state = None


@dataclass
class _StatelessJsonContext:
    """The dispatch context of one request on the stateless JSON-response transport: no
    back-channel, and request-scoped notifications have no wire (the transport drops them)."""

    transport: TransportContext
    request_id: RequestId
    message_metadata: ServerMessageMetadata
    cancel_requested: anyio.Event = field(default_factory=anyio.Event)

    @property
    def can_send_request(self) -> bool:
        return False

    async def send_raw_request(
        self, method: str, params: Mapping[str, Any] | None, opts: CallOptions | None = None
    ) -> dict[str, Any]:
        raise NoBackChannelError(method)

    async def notify(
        self, method: str, params: Mapping[str, Any] | None, opts: CallOptions | None = None
    ) -> None:
        return None

    async def progress(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> None:
        return None


_TRANSPORT = TransportContext(kind="streamable-http", can_send_request=False)


class FastLane:
    """Serves a common request of `StreamableHTTPSessionManager` (stateless, JSON responses)
    as the SDK would, without its per-request transport."""

    def __init__(self, manager: StreamableHTTPSessionManager, lifespan: SdkLifespan) -> None:
        if not (manager.stateless and manager.json_response):
            raise ValueError("the fast lane serves stateless JSON-response endpoints only")
        self.manager = manager
        self.lifespan = lifespan
        self.security = TransportSecurityMiddleware(manager.security_settings)

    async def request(self, scope: Scope, body: bytes) -> JSONRPCRequest | None:
        """The request the SDK's transport would dispatch unchanged, if the fast lane serves
        it; ``None`` sends the POST to the SDK."""
        if self.lifespan.state is None or scope.get("method") != "POST":
            return None
        headers = Headers(scope=scope)
        version = headers.get(MCP_PROTOCOL_VERSION_HEADER)
        if version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS:
            return None  # the SDK's 2026-era entry, or its refusal of an unknown version
        declared = headers.get("content-length")
        if declared != str(len(body)) or len(body) > self.manager.max_request_body_size:
            return None  # the SDK's 413 for a declared oversize; odd or absent lengths too
        request = Request(scope)
        if await self.security.validate_request(request, is_post=True) is not None:
            return None
        content_type = headers.get("content-type", "")
        if content_type.split(";")[0].strip() != _JSON or not check_accept_headers(request)[0]:
            return None
        try:
            message = jsonrpc_message_adapter.validate_python(
                pydantic_core.from_json(body), by_name=False
            )
        except (ValueError, ValidationError):  # the SDK's parse or validation error
            return None
        if isinstance(message, JSONRPCRequest) and message.method in FAST_METHODS:
            return message
        return None

    async def answer(
        self, message: JSONRPCRequest, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Run ``message`` through the SDK's server and answer as its JSON-response transport."""
        version = Headers(scope=scope).get(MCP_PROTOCOL_VERSION_HEADER)
        connection = Connection.from_envelope(version or DEFAULT_NEGOTIATED_VERSION, None, None)
        context = _StatelessJsonContext(
            transport=_TRANSPORT,
            request_id=message.id,
            message_metadata=ServerMessageMetadata(
                request_context=Request(scope, receive), can_send_request=False
            ),
        )
        reply: JSONRPCResponse | JSONRPCError
        try:
            result = await serve_one(
                self.manager.app,
                context,
                message.method,
                message.params,
                connection=connection,
                lifespan_state=self.lifespan.state,
            )
        except Exception as exc:
            error = handler_exception_to_error_data(exc)
            if error is None:
                logger.exception("handler for %r raised", message.method)
                error = ErrorData(code=0, message=str(exc))
            reply = JSONRPCError(jsonrpc="2.0", id=message.id, error=error)
        else:
            reply = JSONRPCResponse(jsonrpc="2.0", id=message.id, result=result)
        response = Response(
            reply.model_dump_json(by_alias=True, exclude_unset=True),
            status_code=200,
            headers={"Content-Type": _JSON},
        )
        await response(scope, receive, send)
