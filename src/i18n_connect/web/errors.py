"""The one place where protocol errors become responses (JSON bodies and challenges).

A database that cannot be reached — refused or dropped connections, a server
that is restarting, an exhausted connection pool — is 503
``temporarily_unavailable`` with ``Retry-After``, never a stack trace; the
pool reconnects by itself once the database is back.
"""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    NotSupportedError,
    ProgrammingError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from i18n_connect.errors import (
    InvalidRequest,
    InvalidToken,
    ProtocolError,
    RateLimited,
    TemporarilyUnavailable,
)

__all__ = ["challenge_text", "error_response", "install_error_handlers"]

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# Every driver error but the ones a bug causes: a refused, dropped or broken connection, a
# server shutting down or starting up (asyncpg reports some of these as plain DBAPIError).
DATABASE_UNAVAILABLE = (DBAPIError, PoolTimeout, ConnectionError)
_DATABASE_BUGS = (IntegrityError, ProgrammingError, DataError, NotSupportedError)
_RETRY_AFTER_SECONDS = "1"
_log = structlog.get_logger("i18n_connect.errors")


def challenge_text(text: str) -> str:
    """``text`` reduced to what an RFC 6750 §3 ``error_description`` may hold
    (%x20-21 / %x23-5B / %x5D-7E: printable ASCII without ``"`` and ``\\``)."""
    text = text.replace("\u2026", "...")
    return "".join(ch for ch in text if " " <= ch <= "~" and ch not in '"\\')


def error_response(error: ProtocolError, *, headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON error body (RFC 6749 §5.2 shape) with the headers the error calls for."""
    extra = dict(NO_STORE)
    if isinstance(error, RateLimited):
        extra["Retry-After"] = str(error.retry_after)
    if isinstance(error, InvalidToken):
        extra["WWW-Authenticate"] = (
            f'Bearer error="invalid_token", error_description="{challenge_text(error.description)}"'
        )
    extra.update(headers or {})
    return JSONResponse(error.body(), status_code=error.status, headers=extra)


def install_error_handlers(app: FastAPI) -> None:
    async def protocol_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProtocolError)
        return error_response(exc)

    async def validation_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        message = first.get("msg", "invalid input")
        return error_response(InvalidRequest(f"{where}: {message}" if where else message))

    async def database_unavailable(_request: Request, exc: Exception) -> Response:
        if isinstance(exc, _DATABASE_BUGS):
            raise exc  # a 500, logged with its traceback by the server
        _log.warning("database_unavailable", error=type(exc).__name__)
        headers = {"Retry-After": _RETRY_AFTER_SECONDS}
        return error_response(TemporarilyUnavailable(), headers=headers)

    app.add_exception_handler(ProtocolError, protocol_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    for unavailable in DATABASE_UNAVAILABLE:
        app.add_exception_handler(unavailable, database_unavailable)
