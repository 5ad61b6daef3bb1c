"""The logs of ``i18n-connect demo``: after the banner, one short plain line per event, each
naming the server it came from (``[i18n-connect]`` or ``[partner-app]``).

Both servers run in one process and one event loop, so the name is a context variable that
each server's task sets: the tasks and callbacks of its connections inherit it. Startup
chatter (the banner says where to go) and the JSON access line are left out; uvicorn's own
access line, without the query string (it may carry codes and states), says which request each
server answered.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

import structlog

__all__ = ["SERVER", "configure_demo_logging"]

SERVER: ContextVar[str] = ContextVar("demo_server", default="demo")
_HANDLER_NAME = "i18n-connect-demo"


class _ServerName(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.server = SERVER.get()
        return True


class _WithoutQuery(logging.Filter):
    """uvicorn's access line, ``client - "METHOD path HTTP/v" status``, with the path only."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, version, status = record.args
            record.args = (client, method, str(path).split("?", 1)[0], version, status)
        return True


def _plain(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> str:
    """A structlog event as ``event key=value ...``."""
    text = str(event.pop("event", ""))
    return " ".join([text, *(f"{key}={value}" for key, value in event.items())])


def configure_demo_logging(level: str) -> None:
    """Plain ``HH:MM:SS [server] LEVEL message`` lines on stderr at ``level``."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.processors.format_exc_info,
            _plain,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(_ServerName())
    handler.setFormatter(
        logging.Formatter("%(asctime)s [%(server)s] %(levelname)s %(message)s", "%H:%M:%S")
    )
    root = logging.getLogger()
    for existing in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("uvicorn.error").setLevel(max(root.level, logging.WARNING))
    access = logging.getLogger("uvicorn.access")
    access.disabled = False  # configure_logging turns it off for serve's JSON access line
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # uvicorn's own config gives
        logging.getLogger(name).handlers.clear()  # them handlers of their own, no propagation
        logging.getLogger(name).propagate = True
    access.setLevel(root.level)
    if not any(isinstance(f, _WithoutQuery) for f in access.filters):
        access.addFilter(_WithoutQuery())
    logging.getLogger("i18n_connect.http").setLevel(logging.WARNING)  # uvicorn.access instead
    for chatty in ("httpx", "httpcore"):  # their INFO lines carry full URLs, query included
        logging.getLogger(chatty).setLevel(logging.WARNING)
