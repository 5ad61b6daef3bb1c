"""The one place where protocol errors become responses (JSON bodies and challenges).

A database that cannot be reached — refused or dropped connections, a server
that is restarting, an exhausted connection pool — is 503
``temporarily_unavailable`` with ``Retry-After``, never a stack trace; the
pool reconnects by itself once the database is back. Text holding an unpaired
surrogate that reached the database, or any encoding to UTF-8, is 400
``invalid_request`` (`unicode_text` refuses it where JSON is parsed; this is the
last line behind those checks).

An unknown URL (404) or method (405) is answered with the site's HTML error
page when the client prefers ``text/html`` (a browser) and the path is not an
API path; API clients, and every API path whatever it accepts, keep the JSON
``{"detail": ...}`` body.
"""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
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
from starlette.exceptions import HTTPException

from i18n_connect.errors import (
    InvalidRequest,
    InvalidToken,
    ProtocolError,
    RateLimited,
    TemporarilyUnavailable,
)
from i18n_connect.unicode_text import UNPAIRED_SURROGATE
from i18n_connect.web.templates import render_error

__all__ = [
    "API_PATH_PREFIXES",
    "challenge_text",
    "error_response",
    "install_error_handlers",
    "prefers_html",
]

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# Every driver error but the ones a bug causes: a refused, dropped or broken connection, a
# server shutting down or starting up (asyncpg reports some of these as plain DBAPIError).
DATABASE_UNAVAILABLE = (DBAPIError, PoolTimeout, ConnectionError)
_DATABASE_BUGS = (IntegrityError, ProgrammingError, DataError, NotSupportedError)
_RETRY_AFTER_SECONDS = "1"
_log = structlog.get_logger("i18n_connect.errors")
# Paths that machines call: JSON errors whatever the Accept header says.
API_PATH_PREFIXES = (
    "/api/",
    "/mcp",
    "/.well-known/",
    "/cdn/",
    "/openapi.json",
    "/metrics",
    "/healthz",
    "/readyz",
)
_PAGES = {
    404: (
        "Page not found",
        "There is no page at this address. Check the link, or start again from the home page.",
    ),
    405: (
        "This page cannot do that",
        "This address does not accept that kind of request. Start again from the home page.",
    ),
}


def _quality(accept: str, media_type: str) -> float:
    """The q-value (RFC 9110 §12.5.1) that ``accept`` gives ``media_type`` (exact or ``*/*``)."""
    best = 0.0
    for item in accept.split(","):
        kind, *parameters = (part.strip() for part in item.split(";"))
        if kind.lower() not in (media_type, media_type.split("/")[0] + "/*", "*/*"):
            continue
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if kind.lower() == media_type:
            return quality  # the exact type wins over wildcards
        best = max(best, quality)
    return best


def prefers_html(accept: str) -> bool:
    """Whether ``accept`` names ``text/html`` and ranks it above JSON (a browser does)."""
    if "text/html" not in accept.lower():
        return False
    html = _quality(accept, "text/html")
    return html > 0 and html >= _quality(accept, "application/json")


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


def _unpaired_surrogate_in(exc: BaseException) -> bool:
    """Whether ``exc``, or an exception it was raised from, is UTF-8 refusing a surrogate: text
    from a client that no check at its boundary (`unicode_text`) caught, which SQLite's driver
    refuses with that error itself and PostgreSQL's inside a driver error."""
    cause: BaseException | None = exc
    while cause is not None:
        if (
            isinstance(cause, UnicodeEncodeError)
            and "\ud800" <= cause.object[cause.start] <= "\udfff"
        ):
            return True
        cause = cause.__cause__
    return False


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

    async def unencodable_text(_request: Request, exc: Exception) -> Response:
        if not _unpaired_surrogate_in(exc):
            raise exc  # a 500, logged with its traceback by the server
        _log.warning("unpaired_surrogate", error=type(exc).__name__)
        return error_response(InvalidRequest(UNPAIRED_SURROGATE))

    async def database_unavailable(request: Request, exc: Exception) -> Response:
        if _unpaired_surrogate_in(exc):  # PostgreSQL's driver refused to bind it
            return await unencodable_text(request, exc)
        if isinstance(exc, _DATABASE_BUGS):
            raise exc  # a 500, logged with its traceback by the server
        _log.warning("database_unavailable", error=type(exc).__name__)
        headers = {"Retry-After": _RETRY_AFTER_SECONDS}
        return error_response(TemporarilyUnavailable(), headers=headers)

    async def not_found_or_not_allowed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        page = _PAGES.get(exc.status_code)
        if (
            page is None
            or request.url.path.startswith(API_PATH_PREFIXES)
            or not prefers_html(request.headers.get("accept", ""))
        ):
            return await http_exception_handler(request, exc)
        return render_error(request, exc.status_code, *page, headers=dict(exc.headers or {}))

    app.add_exception_handler(ProtocolError, protocol_error)
    app.add_exception_handler(HTTPException, not_found_or_not_allowed)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(UnicodeEncodeError, unencodable_text)
    for unavailable in DATABASE_UNAVAILABLE:
        app.add_exception_handler(unavailable, database_unavailable)
