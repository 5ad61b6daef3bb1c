"""Typed errors of the partner SDK: one class per error code a partner can meet.

Codes of the token endpoint (RFC 6749 §5.2), of the authorization response
(RFC 6749 §4.1.2.1, RFC 9207 for ``iss``), of bearer-token use (RFC 6750 §3.1)
and of the partner API (partner guide, "11. Errors and how to handle each").
``error_from_response`` turns an HTTP response into the matching exception;
``error_from_code`` does the same for a redirect's ``error`` parameter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import ClassVar

import httpx

__all__ = [
    "AccessDenied",
    "Conflict",
    "GrantNotFound",
    "GrantRevoked",
    "I18nConnectError",
    "IdempotencyKeyInFlight",
    "IdempotencyKeyReused",
    "InsufficientScope",
    "InvalidCallback",
    "InvalidClient",
    "InvalidGrant",
    "InvalidRequest",
    "InvalidScope",
    "InvalidTarget",
    "InvalidToken",
    "IssuerMismatch",
    "MissingScope",
    "NotFound",
    "RateLimited",
    "ServerError",
    "StateMismatch",
    "TemporarilyUnavailable",
    "UnauthorizedClient",
    "UnsupportedGrantType",
    "UnsupportedResponseType",
    "WrongOrganization",
    "WrongProject",
    "error_from_code",
    "error_from_response",
    "retry_after_seconds",
]


class I18nConnectError(Exception):
    """Base of every SDK error: ``status`` (``None`` off HTTP), ``error`` code, ``description``."""

    code: ClassVar[str] = "unexpected_response"

    def __init__(
        self,
        description: str = "",
        *,
        status: int | None = None,
        error: str | None = None,
        body: Mapping[str, object] | None = None,
    ) -> None:
        self.status = status
        self.error = error or self.code
        self.description = description
        self.body: Mapping[str, object] = body or {}
        super().__init__(f"{self.error}: {description}" if description else self.error)


class InvalidRequest(I18nConnectError):
    """400 ``invalid_request``: a parameter is missing or malformed."""

    code = "invalid_request"


class InvalidClient(I18nConnectError):
    """401 ``invalid_client``: unknown or deleted client, or a wrong secret."""

    code = "invalid_client"


class InvalidGrant(I18nConnectError):
    """400 ``invalid_grant``: code or refresh token expired, reused, revoked — reconnect."""

    code = "invalid_grant"


class UnauthorizedClient(I18nConnectError):
    """400 ``unauthorized_client``: the client may not use this grant type."""

    code = "unauthorized_client"


class UnsupportedGrantType(I18nConnectError):
    """400 ``unsupported_grant_type``."""

    code = "unsupported_grant_type"


class UnsupportedResponseType(I18nConnectError):
    """``unsupported_response_type`` on the authorization redirect."""

    code = "unsupported_response_type"


class InvalidScope(I18nConnectError):
    """400 ``invalid_scope``: an unknown scope, or one wider than the grant."""

    code = "invalid_scope"


class InvalidTarget(I18nConnectError):
    """400 ``invalid_target`` (RFC 8707): the resource is not served by the server."""

    code = "invalid_target"


class AccessDenied(I18nConnectError):
    """``access_denied``: the user clicked Deny on the consent screen."""

    code = "access_denied"


class InvalidToken(I18nConnectError):
    """401 ``invalid_token``: missing, unknown, expired, or the wrong kind of token."""

    code = "invalid_token"


class _ScopeError(I18nConnectError):
    def __init__(
        self,
        description: str = "",
        *,
        status: int | None = None,
        error: str | None = None,
        body: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(description, status=status, error=error, body=body)
        required = self.body.get("required", self.body.get("scope"))
        self.required: str | None = required if isinstance(required, str) else None


class MissingScope(_ScopeError):
    """403 ``missing_scope``: the installation token lacks ``required``."""

    code = "missing_scope"


class InsufficientScope(_ScopeError):
    """403 ``insufficient_scope`` (RFC 6750 §3.1): ask the user again for ``required``."""

    code = "insufficient_scope"


class WrongOrganization(I18nConnectError):
    """403 ``wrong_organization``: the resource belongs to another organization."""

    code = "wrong_organization"


class WrongProject(I18nConnectError):
    """403 ``wrong_project``: the token is limited to other projects."""

    code = "wrong_project"


class GrantNotFound(I18nConnectError):
    """404 ``grant_not_found``: no such grant, or the access token does not cover it."""

    code = "grant_not_found"


class NotFound(I18nConnectError):
    """404 ``not_found``: no such resource."""

    code = "not_found"


class Conflict(I18nConnectError):
    """409 ``conflict``: the resource already exists."""

    code = "conflict"


class _RetryAfter(I18nConnectError):
    """An answer that says how long to wait before trying again (``retry_after`` seconds)."""

    def __init__(
        self,
        description: str = "",
        *,
        status: int | None = None,
        error: str | None = None,
        body: Mapping[str, object] | None = None,
        retry_after: float = 1.0,
    ) -> None:
        super().__init__(description, status=status, error=error, body=body)
        self.retry_after = retry_after


class IdempotencyKeyInFlight(Conflict, _RetryAfter):
    """409 ``idempotency_key_in_flight``: a request with this ``Idempotency-Key`` is still
    running; retry after ``retry_after`` seconds (`RetryPolicy` does)."""

    code = "idempotency_key_in_flight"


class IdempotencyKeyReused(I18nConnectError):
    """422 ``idempotency_key_reused``: the ``Idempotency-Key`` was used for a different
    request within 24 hours; a new request needs a new key."""

    code = "idempotency_key_reused"


class GrantRevoked(I18nConnectError):
    """410 ``grant_revoked``: the user or an admin revoked the grant — reconnect."""

    code = "grant_revoked"


class RateLimited(_RetryAfter):
    """429 ``rate_limited``: wait ``retry_after`` seconds."""

    code = "rate_limited"


class ServerError(I18nConnectError):
    """5xx or ``server_error``: the server failed; safe to retry reads later."""

    code = "server_error"


class TemporarilyUnavailable(I18nConnectError):
    """503 ``temporarily_unavailable``."""

    code = "temporarily_unavailable"


class InvalidCallback(I18nConnectError):
    """The authorization callback is unusable: no code, or no pending authorization."""

    code = "invalid_callback"


class StateMismatch(InvalidCallback):
    """The callback's ``state`` is not the one this authorization sent (CSRF, RFC 6749 §10.12)."""

    code = "state_mismatch"


class IssuerMismatch(InvalidCallback):
    """The callback's ``iss`` is not the expected issuer (mix-up attack, RFC 9207 §2.4)."""

    code = "issuer_mismatch"


_BY_CODE: dict[str, type[I18nConnectError]] = {
    cls.code: cls
    for cls in (
        AccessDenied,
        Conflict,
        GrantNotFound,
        GrantRevoked,
        IdempotencyKeyInFlight,
        IdempotencyKeyReused,
        InsufficientScope,
        InvalidClient,
        InvalidGrant,
        InvalidRequest,
        InvalidScope,
        InvalidTarget,
        InvalidToken,
        MissingScope,
        NotFound,
        RateLimited,
        ServerError,
        TemporarilyUnavailable,
        UnauthorizedClient,
        UnsupportedGrantType,
        UnsupportedResponseType,
        WrongOrganization,
        WrongProject,
    )
}
_BY_STATUS: dict[int, type[I18nConnectError]] = {
    401: InvalidToken,
    404: NotFound,
    409: Conflict,
    410: GrantRevoked,
    429: RateLimited,
    503: TemporarilyUnavailable,
}


def error_from_code(
    error: str, description: str = "", *, status: int | None = None
) -> I18nConnectError:
    """The exception for an ``error`` code, e.g. from an authorization redirect."""
    cls = _BY_CODE.get(error, I18nConnectError)
    return cls(description, status=status, error=error)


def retry_after_seconds(value: str | None, default: float = 1.0) -> float:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


def _challenge(response: httpx.Response) -> dict[str, object]:
    """``error``, ``error_description`` and ``scope`` of a Bearer challenge (RFC 6750 §3)."""
    header = response.headers.get("www-authenticate", "")
    if not header.lower().startswith("bearer"):
        return {}
    params = dict(_CHALLENGE_PARAM.findall(header))
    known = {"error", "error_description", "scope"}
    return {name: value for name, value in params.items() if name in known}


def error_from_response(response: httpx.Response) -> I18nConnectError:
    """The exception for an error response: by its ``error`` code (from the JSON body, else
    from a Bearer ``WWW-Authenticate`` challenge), else by its status."""
    body: dict[str, object] = {}
    try:
        parsed = json.loads(response.content or b"null")
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        body = parsed
    if "error" not in body:
        body = {**_challenge(response), **body}
    code = body.get("error")
    description = body.get("error_description") or body.get("detail") or ""
    if not isinstance(description, str):
        description = str(description)
    fallback = ServerError if response.status_code >= 500 else I18nConnectError
    if isinstance(code, str) and code in _BY_CODE:
        cls = _BY_CODE[code]
    else:
        cls = _BY_STATUS.get(response.status_code, fallback)
        code = code if isinstance(code, str) else None
    if not description:
        description = response.reason_phrase or f"HTTP {response.status_code}"
    retry_after = retry_after_seconds(response.headers.get("retry-after"))
    if cls is RateLimited:
        return RateLimited(
            description, status=response.status_code, error=code, body=body, retry_after=retry_after
        )
    if cls is IdempotencyKeyInFlight:
        return IdempotencyKeyInFlight(
            description, status=response.status_code, error=code, body=body, retry_after=retry_after
        )
    return cls(description, status=response.status_code, error=code, body=body)
