"""One error class per protocol error code (RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1,
RFC 7591 §3.2.2, RFC 8628 §3.5, RFC 8707 §2, and the partner API of SPEC §4).

Each class carries its public ``error`` code, HTTP status and a short public
description. The web edge renders them in one place: as a JSON body, a redirect
or a ``WWW-Authenticate`` challenge. ``log_detail`` is for logs only and never
reaches a response.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AccessDenied",
    "AuthorizationPending",
    "ConflictError",
    "DeviceAccessDenied",
    "ExpiredToken",
    "GrantNotFound",
    "GrantRevoked",
    "IdempotencyKeyInFlight",
    "IdempotencyKeyReused",
    "InsufficientScope",
    "InvalidClient",
    "InvalidClientMetadata",
    "InvalidGrant",
    "InvalidRedirectUri",
    "InvalidRequest",
    "InvalidScope",
    "InvalidTarget",
    "InvalidToken",
    "InvalidTranslation",
    "MalformedFile",
    "MissingScope",
    "NotFound",
    "ProtocolError",
    "RateLimited",
    "RequestTimeout",
    "RequestTooLarge",
    "ServerError",
    "SlowDown",
    "TemporarilyUnavailable",
    "UnauthorizedClient",
    "UnsupportedGrantType",
    "UnsupportedResponseType",
    "WrongOrganization",
    "WrongProject",
]


class ProtocolError(Exception):
    """Base of every error a client may see; subclasses fix ``error`` and ``status``."""

    error: ClassVar[str] = "server_error"
    status: ClassVar[int] = 500
    default_description: ClassVar[str] = "The server could not complete the request."

    def __init__(self, description: str | None = None, *, log_detail: str | None = None) -> None:
        self.description = description or self.default_description
        self.log_detail = log_detail
        super().__init__(self.description)

    def body(self) -> dict[str, object]:
        return {"error": self.error, "error_description": self.description}


class InvalidRequest(ProtocolError):
    error, status = "invalid_request", 400
    default_description = "The request is missing a parameter or is malformed."


class RequestTooLarge(InvalidRequest):
    status = 413
    default_description = "The request body is too large."


class RequestTimeout(InvalidRequest):
    status = 408
    default_description = "The request body arrived too slowly."


class InvalidClient(ProtocolError):
    error, status = "invalid_client", 401
    default_description = "Client authentication failed."


class InvalidGrant(ProtocolError):
    error, status = "invalid_grant", 400
    default_description = "The grant is invalid, expired, revoked or was issued to another client."


class UnauthorizedClient(ProtocolError):
    error, status = "unauthorized_client", 400
    default_description = "The client may not use this grant type."


class UnsupportedGrantType(ProtocolError):
    error, status = "unsupported_grant_type", 400
    default_description = "Only authorization_code and refresh_token are supported."


class UnsupportedResponseType(ProtocolError):
    error, status = "unsupported_response_type", 400
    default_description = "Only response_type=code is supported."


class InvalidScope(ProtocolError):
    error, status = "invalid_scope", 400
    default_description = "The requested scope is unknown or wider than allowed."


class InvalidTarget(ProtocolError):
    error, status = "invalid_target", 400
    default_description = "The requested resource is not served by this server."


class AccessDenied(ProtocolError):
    error, status = "access_denied", 403
    default_description = "The user denied the request."


class AuthorizationPending(ProtocolError):
    error, status = "authorization_pending", 400  # RFC 8628 §3.5
    default_description = "The user has not answered yet; poll again after the interval."


class SlowDown(ProtocolError):
    error, status = "slow_down", 400  # RFC 8628 §3.5
    default_description = "Polling too often; the interval grew by 5 seconds."


class DeviceAccessDenied(AccessDenied):
    status = 400  # RFC 8628 §3.5: a token endpoint error (RFC 6749 §5.2)


class ExpiredToken(ProtocolError):
    error, status = "expired_token", 400  # RFC 8628 §3.5
    default_description = "The device_code has expired; start a new device authorization."


class InvalidRedirectUri(ProtocolError):
    error, status = "invalid_redirect_uri", 400
    default_description = "A redirect URI is not acceptable."


class InvalidClientMetadata(ProtocolError):
    error, status = "invalid_client_metadata", 400
    default_description = "The client metadata is not acceptable."


class InvalidToken(ProtocolError):
    error, status = "invalid_token", 401
    default_description = "The access token is missing, unknown, expired or of the wrong kind."


class InsufficientScope(ProtocolError):
    error, status = "insufficient_scope", 403
    default_description = "The token lacks a scope this request needs."

    def __init__(self, required: str, description: str | None = None) -> None:
        self.required = required
        super().__init__(description or f"This request needs the scope {required}.")


class MissingScope(ProtocolError):
    error, status = "missing_scope", 403
    default_description = "The token lacks the scope this route needs."

    def __init__(self, required: str, description: str | None = None) -> None:
        self.required = required
        super().__init__(description or f"This route needs the scope {required}.")

    def body(self) -> dict[str, object]:
        return {**super().body(), "required": self.required}


class WrongOrganization(ProtocolError):
    error, status = "wrong_organization", 403
    default_description = "The resource belongs to another organization."


class WrongProject(ProtocolError):
    error, status = "wrong_project", 403
    default_description = "The token is limited to other projects."


class GrantNotFound(ProtocolError):
    error, status = "grant_not_found", 404
    default_description = "No such grant for this token."


class NotFound(ProtocolError):
    error, status = "not_found", 404
    default_description = "No such resource."


class ConflictError(ProtocolError):
    error, status = "conflict", 409
    default_description = "The resource already exists."


class IdempotencyKeyInFlight(ProtocolError):
    """A write whose ``Idempotency-Key`` a request still running holds (409 in the error
    scenarios of draft-ietf-httpapi-idempotency-key-header)."""

    error, status = "idempotency_key_in_flight", 409
    default_description = (
        "A request with this Idempotency-Key is still being processed; retry in a moment."
    )


class IdempotencyKeyReused(ProtocolError):
    """A write whose ``Idempotency-Key`` was used for a different request (another method,
    path, query or body) within 24 hours (422 in the draft's error scenarios)."""

    error, status = "idempotency_key_reused", 422
    default_description = (
        "This Idempotency-Key was used for a different request; use a new key for a new request."
    )


class MalformedFile(ProtocolError):
    """A translation file that its format cannot read: where (line and column, 1-based,
    when the format has them) and what."""

    error, status = "malformed_file", 422
    default_description = "The file is not valid in its format."

    def __init__(
        self, description: str, *, line: int | None = None, column: int | None = None
    ) -> None:
        self.line = line
        self.column = column
        where = (
            ""
            if line is None
            else f" (line {line}" + (f", column {column})" if column is not None else ")")
        )
        super().__init__(description + where)

    def body(self) -> dict[str, object]:
        body = super().body()
        if self.line is not None:
            body["line"] = self.line
        if self.column is not None:
            body["column"] = self.column
        return body


class InvalidTranslation(ProtocolError):
    """A text whose ICU MessageFormat is broken or whose placeholders differ from the
    source text's; names the key and the problem."""

    error, status = "invalid_translation", 422
    default_description = "A translation is not acceptable."

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"{key}: {problem}")

    def body(self) -> dict[str, object]:
        return {**super().body(), "key": self.key, "problem": self.problem}


class GrantRevoked(ProtocolError):
    error, status = "grant_revoked", 410
    default_description = "The grant behind this token was revoked."


class RateLimited(ProtocolError):
    error, status = "rate_limited", 429
    default_description = "Too many requests."

    def __init__(
        self, retry_after: int, description: str | None = None, *, budget: str | None = None
    ) -> None:
        self.retry_after = max(1, retry_after)
        self.budget = budget  # which request budget ran out, when there are several
        super().__init__(description or f"Too many requests; retry after {self.retry_after} s.")

    def body(self) -> dict[str, object]:
        body = super().body()
        return body if self.budget is None else {**body, "budget": self.budget}


class TemporarilyUnavailable(ProtocolError):
    error, status = "temporarily_unavailable", 503
    default_description = "The service is temporarily unavailable; retry shortly."


class ServerError(ProtocolError):
    error, status = "server_error", 500
