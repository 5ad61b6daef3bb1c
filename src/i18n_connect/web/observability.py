"""Operations: JSON logs carrying a request id, one access-log line per request, and
Prometheus metrics of every route (text exposition format 0.0.4).

`web.edge` measures every request and writes its access line straight to stderr,
one formatted string and one write, in the shape of the other JSON lines: going
through structlog and the logging handlers cost about a quarter of a trivial
request's CPU.

Log lines never contain query strings, bodies, cookies or ``Authorization``
headers: the access line names the route *template*, which also keeps metric
label values bounded.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import sys
import time
from contextlib import suppress
from functools import lru_cache
from os import urandom
from typing import Annotated

import structlog
from fastapi import APIRouter, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from starlette.types import Scope

from i18n_connect.errors import InvalidToken
from i18n_connect.web.sessions import services_of

__all__ = [
    "ACCESS_LOGGER",
    "REQUEST_ID_HEADER",
    "HttpMetrics",
    "access_line",
    "configure_logging",
    "method_label",
    "metrics_router",
    "request_id",
    "route_template",
]

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_HANDLER_NAME = "i18n-connect-json"
ACCESS_LOGGER = "i18n_connect.http"


class _StderrHandler(logging.Handler):
    """Writes each formatted record to the current ``sys.stderr`` (one JSON object a line),
    so that stdout stays for what a command prints (``demo``'s welcome text, ``--json``)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # a logging failure must never break a request
            self.handleError(record)


def configure_logging(level: str) -> None:
    """Route structlog and standard-library logging to JSON lines on stderr at ``level``."""
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = _StderrHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    for existing in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("uvicorn.access").disabled = True  # replaced by our access line
    for chatty in ("httpx", "httpcore"):  # their INFO lines carry full URLs, query included
        logging.getLogger(chatty).setLevel(logging.WARNING)
    # The MCP SDK's transport says "Terminating session: None" at INFO after every stateless
    # request; our access line already records the request.
    logging.getLogger("mcp.server.streamable_http").setLevel(logging.WARNING)


class HttpMetrics:
    """Request counts and latencies by route template, registered in one app's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter(
            "i18n_connect_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "i18n_connect_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            ["route"],
            registry=registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration (label children kept per key)."""
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(route, method, str(status)),
                self.duration.labels(route),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


_access = logging.getLogger(ACCESS_LOGGER)
# The start of each access line, by method, route template and status (bounded, as the labels).
_line_heads: dict[tuple[str, str, int], str] = {}


def access_line(request_id: str, method: str, route: str, status: int, seconds: float) -> None:
    """One JSON access line on the current stderr (what ``configure_logging`` sets up for the
    other lines), when the access logger is enabled for INFO."""
    if not _access.isEnabledFor(logging.INFO):
        return
    head = _line_heads.get((method, route, status))
    if head is None:  # the route is a template: JSON once; the method and status are plain
        head = f'{{"method": "{method}", "route": {json.dumps(route)}, "status": {status}, '
        _line_heads[(method, route, status)] = head
    line = (  # the request id is a checked token or hex: JSON as it is
        f'{head}"duration_ms": {round(seconds * 1000, 2)}, "event": "request", '
        f'"request_id": "{request_id}", "level": "info", "logger": "{ACCESS_LOGGER}", '
        f'"timestamp": "{_timestamp()}"}}\n'
    )
    with suppress(OSError, ValueError):  # a closed or broken stderr must never fail a request
        sys.stderr.write(line)


def _timestamp() -> str:
    """Now in UTC as ISO 8601 with microseconds (as ``datetime.isoformat`` writes it, ``Z``
    for the offset)."""
    second, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
    micro = nanoseconds // 1000
    return f"{_whole_second(second)}.{micro:06d}Z" if micro else f"{_whole_second(second)}Z"


@lru_cache(maxsize=1)
def _whole_second(second: int) -> str:
    """The date and time of a Unix second, formatted once while it lasts."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


def request_id(incoming: bytes | None) -> str:
    """The request's id: the client's ``X-Request-ID`` when it is a short token, else a new one
    (128 random bits from the system's CSPRNG, as ``secrets.token_hex``)."""
    if incoming is not None:
        candidate = incoming.decode("latin-1")
        if _REQUEST_ID.fullmatch(candidate):
            return candidate
    return urandom(16).hex()


def method_label(method: str) -> str:
    """The method as a metric label and log value: one of a bounded set."""
    return method if method in _METHODS else "OTHER"


def route_template(scope: Scope) -> str:
    template = getattr(scope.get("route"), "path_format", None)
    if isinstance(template, str):
        return template
    if "app_root_path" in scope:  # a mounted app (static files) moved its prefix to root_path
        prefix: str = scope.get("root_path", "")[len(scope["app_root_path"]) :]
        if prefix:
            return prefix + "/{path}"
    return "unmatched"


metrics_router = APIRouter(include_in_schema=False)


_scraper = HTTPBearer(auto_error=False)


@metrics_router.get("/metrics")
async def metrics(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_scraper)],
) -> Response:
    """Every metric of this app in the Prometheus text format; with ``I18N_CONNECT_METRICS_TOKEN``
    set, only for a scraper that presents it (``Authorization: Bearer``, RFC 6750 §2.1)."""
    services = services_of(request)
    expected = services.settings.metrics_token
    if expected is not None and (
        bearer is None
        or not hmac.compare_digest(
            bearer.credentials.strip().encode(), expected.get_secret_value().encode()
        )
    ):
        raise InvalidToken("GET /metrics needs the metrics token (Authorization: Bearer).")
    return Response(generate_latest(services.metrics), media_type=CONTENT_TYPE_LATEST)
