"""The MCP server at ``/mcp`` and, for one organization, at ``/mcp/o/{org_slug}``
(`i18n_connect.resources`): streamable HTTP (stateless, JSON responses) on the official SDK,
behind the bearer-token checks of MCP authorization 2025-11-25 and RFC 6750 §3.

Before a request reaches the SDK, `McpEndpoint`:

- authenticates the caller (`mcp.auth`); a missing or bad token is 401 with
  ``WWW-Authenticate: Bearer resource_metadata="…", scope="…"`` so that a client
  holding nothing but the URL can discover the authorization server;
- answers a body holding an unpaired surrogate (`unicode_text`) with the transport's
  JSON-RPC parse error (400, -32700), naming the problem (the SDK's parser would name only
  the escape), before any tool's arguments are looked at;
- for an access token, reads the JSON-RPC body and answers a ``tools/call`` whose
  scope the token lacks with 403 ``insufficient_scope`` naming the union of the
  held and needed scopes (step-up authorization) — also a ``deleteKeys`` of keys
  with published text without translations:publish. An installation token
  cannot step up, so its missing scope becomes a tool error carrying the partner
  API's ``missing_scope`` body instead (`mcp.calls`);
- counts the call against the partner API's budgets of its token, of every
  grant the token acts through and of its client (429 with ``Retry-After``)
  and records when its grants were last used;
- hands the caller to the tools through the request scope, and the request to
  `mcp.fast_lane` when it is a common one (one ``tools/call``, ``tools/list`` or
  ``ping``), else to the SDK's transport.

Mount it for POST only: the server is stateless with JSON responses, so there
is no stream to open with GET and no session to end with DELETE (405, which
streamable HTTP allows).
"""

from __future__ import annotations

import json
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import PARSE_ERROR, ErrorData, JSONRPCError
from starlette.datastructures import Headers, QueryParams
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from i18n_connect import __version__, installations
from i18n_connect.errors import (
    InsufficientScope,
    InvalidRequest,
    InvalidToken,
    NotFound,
    ProtocolError,
)
from i18n_connect.mcp.auth import McpCaller, authenticate, bearer_token
from i18n_connect.mcp.fast_lane import FastLane, SdkLifespan
from i18n_connect.mcp.tools import (
    CALLER_STATE_KEY,
    TOOL_SCOPES,
    deletes_published_text,
    register_tools,
)
from i18n_connect.platform.organizations import is_slug
from i18n_connect.ratelimit import spend_api_request
from i18n_connect.scopes import CATALOG, PUBLISH_TRANSLATIONS, format_scope
from i18n_connect.services import Services
from i18n_connect.unicode_text import UNPAIRED_SURROGATE, json_holds_unpaired_surrogate
from i18n_connect.web.errors import NO_STORE, challenge_text, error_response
from i18n_connect.web.replayed_bodies import replaying_body
from i18n_connect.web.resource_metadata import mcp_resource_metadata_url

__all__ = ["DEFAULT_MCP_SCOPES", "McpEndpoint", "build_mcp"]

# What the SDK's transport answers a body it cannot parse, with a message a person understands.
_UNPAIRED_SURROGATE_ERROR = JSONRPCError(
    jsonrpc="2.0",
    id=None,
    error=ErrorData(code=PARSE_ERROR, message=f"Parse error: {UNPAIRED_SURROGATE}"),
).model_dump_json(by_alias=True, exclude_unset=True)
_MAX_CHECKED_DELETES = 4  # deleteKeys calls of one body looked up for a step-up challenge

# What a client asks for first: every tool scope that consent pre-checks.
DEFAULT_MCP_SCOPES = format_scope(
    scope for scope in TOOL_SCOPES.values() if CATALOG[scope].default_on
)


def _challenge(
    services: Services, *, error: ProtocolError | None, scope: str, organization: str | None
) -> str:
    parts = []
    if error is not None:
        description = challenge_text(error.description)
        parts += [f'error="{error.error}"', f'error_description="{description}"']
    metadata = mcp_resource_metadata_url(services.settings, organization)
    parts += [f'resource_metadata="{metadata}"', f'scope="{scope}"']
    return "Bearer " + ", ".join(parts)


def _tool_calls(body: bytes) -> list[tuple[str, object]]:
    """Name and arguments of each tool a JSON-RPC message (or batch) calls; malformed bodies
    call none."""
    try:
        parsed = json.loads(body) if body else None
    except (ValueError, RecursionError):
        return []
    messages = parsed if isinstance(parsed, list) else [parsed]
    calls = []
    for message in messages:
        if isinstance(message, dict) and message.get("method") == "tools/call":
            params = message.get("params")
            name = params.get("name") if isinstance(params, dict) else None
            if isinstance(name, str) and isinstance(params, dict):
                calls.append((name, params.get("arguments")))
    return calls


class McpEndpoint:
    """ASGI app of ``/mcp`` and ``/mcp/o/{org_slug}``: authentication and scope challenges
    around the SDK's transport."""

    def __init__(
        self, services: Services, manager: StreamableHTTPSessionManager, fast_lane: FastLane
    ) -> None:
        self.services = services
        self.manager = manager
        self.fast_lane = fast_lane

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        organization: str | None = scope.get("path_params", {}).get("org_slug")
        try:
            if organization is not None and not is_slug(organization):
                raise NotFound("No such MCP server.")
            if any(len(headers.getlist(name)) > 1 for name in ("authorization", "x-api-key")):
                raise InvalidRequest("Send one token in one header.")
            query_string = scope.get("query_string", b"")
            token = bearer_token(headers, QueryParams(query_string) if query_string else {})
            if token is None:
                await self._refuse(None, DEFAULT_MCP_SCOPES, scope, receive, send)
                return
            async with self.services.db.transaction(readonly=True) as conn:
                caller = await authenticate(conn, token, self.services, organization)
            await self._count(caller)
            body = await self._body(receive)
        except InvalidToken as exc:
            await self._refuse(exc, DEFAULT_MCP_SCOPES, scope, receive, send)
            return
        except ProtocolError as exc:
            await error_response(exc)(scope, receive, send)
            return
        if json_holds_unpaired_surrogate(body):  # the SDK's parse error would name only the escape
            refusal = Response(_UNPAIRED_SURROGATE_ERROR, 400, media_type="application/json")
            await refusal(scope, receive, send)
            return
        step_up = await self._step_up(caller, body)
        if step_up is not None:
            held_and_needed = format_scope(caller.scopes | set(step_up.required.split()))
            await self._refuse(step_up, held_and_needed, scope, receive, send)
            return
        scope.setdefault("state", {})[CALLER_STATE_KEY] = caller
        message = await self.fast_lane.request(scope, body)
        if message is not None:
            await self.fast_lane.answer(message, scope, replaying_body(body, receive), send)
        else:
            await self.manager.handle_request(scope, replaying_body(body, receive), send)

    async def _count(self, caller: McpCaller) -> None:
        """The partner API's request budgets, and the grants' "last used" time."""
        now = self.services.clock.now()
        await spend_api_request(  # the partner API's budgets: one token's calls share them
            self.services.api_limiter,
            self.services.settings,
            token_id=caller.token_id,
            grant_ids=[installation.grant_id for installation in caller.installations],
            client_id=caller.client_id,
            now=now,
        )
        stale = [
            installation.grant_id
            for installation in caller.installations
            if installation.last_used_at is None
            or now - installation.last_used_at >= installations.LAST_USED_RESOLUTION
        ]
        if stale:
            async with self.services.db.transaction() as conn:
                for grant_id in stale:
                    await installations.touch_grant(conn, grant_id, now)

    async def _step_up(self, caller: McpCaller, body: bytes) -> InsufficientScope | None:
        """The scopes an access token lacks for the tools it calls (translations:publish too,
        for a ``deleteKeys`` of keys with published text), as a step-up challenge."""
        if caller.kind != "access_token":
            return None
        calls = _tool_calls(body)
        wanted = {TOOL_SCOPES[name] for name, _ in calls if name in TOOL_SCOPES}
        if needed := wanted - caller.scopes:
            return InsufficientScope(format_scope(needed))
        if PUBLISH_TRANSLATIONS in caller.scopes:
            return None
        deletes = [arguments for name, arguments in calls if name == "deleteKeys"]
        for arguments in deletes[:_MAX_CHECKED_DELETES]:  # later ones: the tool's own refusal
            if await deletes_published_text(self.services, caller, arguments):
                return InsufficientScope(
                    PUBLISH_TRANSLATIONS,
                    f"Deleting keys with published text needs the scope {PUBLISH_TRANSLATIONS}.",
                )
        return None

    async def _body(self, receive: Receive) -> bytes:
        limit = self.services.settings.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise InvalidRequest("The request body is too large.")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _refuse(
        self,
        error: ProtocolError | None,
        scope_value: str,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        """401 (no or bad token) or 403 (step-up) with the RFC 6750 §3 challenge.

        Without any token the challenge carries no error code (RFC 6750 §3.1).
        """
        organization = scope.get("path_params", {}).get("org_slug")
        challenge = _challenge(
            self.services, error=error, scope=scope_value, organization=organization
        )
        headers = {**NO_STORE, "WWW-Authenticate": challenge}
        if error is None:
            body: dict[str, object] = {
                "error": "invalid_token",
                "error_description": "A bearer token is required.",
            }
            response = JSONResponse(body, status_code=401, headers=headers)
        else:
            body = error.body()
            if isinstance(error, InsufficientScope):
                body["scope"] = scope_value  # what to ask for, as in the challenge
            response = JSONResponse(body, status_code=error.status, headers=headers)
        await response(scope, receive, send)


def build_mcp(services: Services) -> tuple[McpEndpoint, StreamableHTTPSessionManager]:
    """The endpoint of ``/mcp`` and ``/mcp/o/{org_slug}``, and its session manager, whose
    ``run()`` the app lifespan enters."""
    lifespan = SdkLifespan()
    server: MCPServer[Any] = MCPServer(
        name="i18n-connect",
        title="i18n-connect translation platform",
        version=__version__,
        instructions=(
            "Tools over the translation platform: projects, keys, translations, glossary, "
            "content entries and publishing. Pass organization (id or slug) when your token "
            "covers several organizations; at /mcp/o/{org_slug} every tool acts in that one."
        ),
        lifespan=lifespan,
    )
    register_tools(server, services)
    server.streamable_http_app(  # builds the session manager; routing is ours
        json_response=True,
        stateless_http=True,
        max_request_body_size=services.settings.max_body_bytes,
        # Bearer tokens, not cookies, authenticate every request: DNS rebinding gains nothing.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    manager = server.session_manager
    return McpEndpoint(services, manager, FastLane(manager, lifespan)), manager
