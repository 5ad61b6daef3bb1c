"""The authorization endpoint's request validation (RFC 6749 §4.1.1, §4.1.2.1; RFC 7636 §4.3;
RFC 8707 §2; RFC 9207; RFC 8252 §7.3) and the pending request kept while the user signs in
and consents.

Two errors are never redirected, because the redirect URI cannot be trusted:
an unknown ``client_id`` and a ``redirect_uri`` that is not registered for the
client (`UnsafeAuthorizationRequest`). Nor is any error of a client that
registered itself (RFC 7591, or a client metadata document): anyone can
register any redirect URI, so redirecting its errors before the user has seen
anything would be an open redirect (RFC 9700 §4.11.2); the user gets an error
page in plain words instead. Every other error, that of an operator-registered
client, is an `AuthorizationErrorRedirect`: the caller sends the browser back to
the client's redirect URI with ``error``, ``error_description``, the caller's
``state`` (only when it is well-formed) and ``iss``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, unquote_plus, urlencode, urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.errors import (
    InvalidRequest,
    InvalidTarget,
    ProtocolError,
    UnsupportedResponseType,
)
from i18n_connect.oauth.clients import Client, redirect_uri_matches
from i18n_connect.oauth.metadata_documents import resolve_client
from i18n_connect.oauth.pkce import validate_challenge
from i18n_connect.resources import serves
from i18n_connect.scopes import DEFAULT_SCOPES, parse_scope
from i18n_connect.services import Services
from i18n_connect.storage.authorization_requests import StoredRequest, insert_request

__all__ = [
    "MAX_STATE_BYTES",
    "REQUEST_LIFETIME",
    "AuthorizationErrorRedirect",
    "AuthorizationRequest",
    "UnsafeAuthorizationRequest",
    "redirect_with",
    "requested_scope",
    "store_request",
    "validate_authorization_request",
]

REQUEST_LIFETIME = timedelta(minutes=10)
MAX_STATE_BYTES = 1024
_MAX_PARAMETER_LENGTH = 4096


class UnsafeAuthorizationRequest(Exception):
    """The client or its redirect URI cannot be trusted: show an error page, never redirect."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class AuthorizationErrorRedirect(Exception):
    """An error to report to the client at its (verified) redirect URI."""

    def __init__(self, error: ProtocolError, redirect_uri: str, state: str | None) -> None:
        self.error = error
        self.redirect_uri = redirect_uri
        self.state = state
        super().__init__(error.description)

    def location(self, issuer: str) -> str:
        return redirect_with(
            self.redirect_uri,
            {
                "error": self.error.error,
                "error_description": self.error.description,
                "state": self.state,
                "iss": issuer,
            },
        )


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A validated authorization request: everything consent needs besides the user's choices."""

    client: Client
    redirect_uri: str
    scope: tuple[str, ...]
    state: str | None
    code_challenge: str
    resource: str | None


def redirect_with(redirect_uri: str, params: dict[str, str | None]) -> str:
    """``redirect_uri`` with ``params`` added to its query (RFC 6749 §3.1.2).

    The URI's own query parameters are kept byte for byte, except those named
    like one of ``params``, which are replaced rather than duplicated. ``None``
    values are left out.
    """
    parts = urlsplit(redirect_uri)
    kept = [
        pair
        for pair in parts.query.split("&")
        if pair and unquote_plus(pair.partition("=")[0]) not in params
    ]
    added = urlencode({k: v for k, v in params.items() if v is not None}, quote_via=quote)
    query = "&".join([*kept, added] if added else kept)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _single(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


# What a missing or repeated parameter means to the person at the browser.
_WHAT_IT_NAMES = {
    "client_id": "which app is asking to connect",
    "redirect_uri": "where to send you back to the app",
}


def _exactly_one(params: dict[str, list[str]], name: str) -> str:
    """A parameter that decides where the browser may be sent: present, non-empty, once."""
    values = [value for value in params.get(name, []) if value]
    what = _WHAT_IT_NAMES[name]
    if not values:
        raise UnsafeAuthorizationRequest(
            f"The app's link to connect is incomplete: it does not say {what}. "
            "Tell the app's developer."
        )
    if len(params[name]) != 1:
        raise UnsafeAuthorizationRequest(
            f"The app's link to connect is ambiguous: it says more than once {what}. "
            "Tell the app's developer."
        )
    return values[0]


def _valid_state(values: list[str] | None) -> str | None:
    """The state to echo: only a single, bounded value without control characters."""
    if not values or len(values) != 1:
        return None
    state = values[0]
    if len(state.encode()) > MAX_STATE_BYTES or any(
        ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in state
    ):
        return None
    return state


def _check_state(values: list[str] | None) -> None:
    if values is None:
        return
    if len(values) != 1:
        raise InvalidRequest("The state parameter is repeated.")
    if _valid_state(values) is None:
        raise InvalidRequest(
            f"state must be at most {MAX_STATE_BYTES} bytes without control characters."
        )


def requested_scope(client: Client, value: str | None) -> tuple[str, ...]:
    """The scopes to ask the user for (SPEC §2): without any, the client's registered scopes,
    or else the default-on ones. Registered scopes are a default, not a ceiling: the user
    decides on the consent screen."""
    requested = parse_scope(value)
    if requested:
        return requested
    return (parse_scope(client.scope) if client.scope else ()) or DEFAULT_SCOPES


_PLAIN_WORDS = {
    "unsupported_response_type": "The app asked for a kind of answer this server does not give.",
    "invalid_scope": "The app asked for a permission that does not exist here.",
    "invalid_target": "The app asked for access to a service that this server does not run.",
}


def _in_plain_words(error: ProtocolError) -> str:
    """What went wrong, for the person at the browser; fixed words, nothing of the request."""
    what = _PLAIN_WORDS.get(
        error.error, "The app sent an incomplete or malformed request to connect."
    )
    return f"{what} Tell the app's developer (error code: {error.error})."


async def validate_authorization_request(
    conn: AsyncConnection, query: Sequence[tuple[str, str]], *, services: Services
) -> AuthorizationRequest:
    """Validate the query of ``GET /authorize``; raises one of the two exceptions above."""
    params: dict[str, list[str]] = {}
    for name, value in query:
        params.setdefault(name, []).append(value)

    client_id = _exactly_one(params, "client_id")
    client = await resolve_client(conn, client_id, services=services)
    if client is None:
        raise UnsafeAuthorizationRequest(
            "The app that sent you here is not registered on this site, so it cannot connect."
        )
    redirect_uri = _exactly_one(params, "redirect_uri")
    if not redirect_uri_matches(client.redirect_uris, redirect_uri):
        raise UnsafeAuthorizationRequest(
            "The app asked to send you back to an address that it never registered "
            "here, so we stopped before showing you anything. Tell the app's developer."
        )

    state = _valid_state(params.get("state"))
    try:
        _check_state(params.get("state"))
        repeated = sorted(name for name, values in params.items() if len(values) > 1)
        if repeated:
            raise InvalidRequest(f"Repeated parameter: {', '.join(repeated)}.")
        too_long = sorted(n for n, v in params.items() if len(v[0]) > _MAX_PARAMETER_LENGTH)
        if too_long:
            raise InvalidRequest(f"Parameter too long: {', '.join(too_long)}.")
        response_type = _single(params, "response_type")
        if not response_type:
            raise InvalidRequest("response_type is missing.")
        if response_type != "code":
            raise UnsupportedResponseType()
        method = _single(params, "code_challenge_method")
        if not method:
            raise InvalidRequest("code_challenge_method=S256 is required (PKCE).")
        if method != "S256":
            raise InvalidRequest("Only code_challenge_method=S256 is supported.")
        challenge = _single(params, "code_challenge")
        if not challenge:
            raise InvalidRequest("code_challenge is required (PKCE).")
        validate_challenge(challenge)
        scope = requested_scope(client, _single(params, "scope"))
        resource = _single(params, "resource")
        if resource is not None and not serves(services.settings, resource):
            raise InvalidTarget("The resource is not served by this authorization server.")
    except ProtocolError as error:
        if not client.verified:
            raise UnsafeAuthorizationRequest(_in_plain_words(error)) from error
        raise AuthorizationErrorRedirect(error, redirect_uri, state) from error
    return AuthorizationRequest(
        client=client,
        redirect_uri=redirect_uri,
        scope=scope,
        state=state,
        code_challenge=challenge,
        resource=resource,
    )


async def store_request(
    conn: AsyncConnection, request: AuthorizationRequest, *, session_hash: str, now: datetime
) -> str:
    """Keep the validated request for ten minutes, bound to the browser session; its id."""
    request_id = secrets.token_urlsafe(32)
    await insert_request(
        conn,
        request=StoredRequest(
            id=request_id,
            session_hash=session_hash,
            client_id=request.client.id,
            redirect_uri=request.redirect_uri,
            scope=tuple(request.scope),
            state=request.state,
            code_challenge=request.code_challenge,
            resource=request.resource,
            created_at=now,
            expires_at=now + REQUEST_LIFETIME,
        ),
    )
    return request_id
