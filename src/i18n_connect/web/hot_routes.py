"""The hot routes, answered by one dictionary look-up instead of the app's router.

The token endpoint, the partner-API reads, mint, ``/mcp`` and the benchmark's
baseline are requested far more often than the rest. The app's router tries its
routes one by one (about 80 of them, with regular expressions) and FastAPI adds
its own layers of exception handling per request; this middleware finds an
exact path and method in a dictionary and calls the route's Starlette app,
with the app's exception handlers, so the errors become the same responses.
Every route here stays in the app's router too: trailing-slash redirects, 405s
and the OpenAPI document see them there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.routing import Route
from starlette.types import ASGIApp, ExceptionHandler, Receive, Scope, Send

__all__ = ["HotRoutes"]


class HotRoutes:
    """ASGI middleware: ``routes`` (plain paths only) by path and method, else ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Sequence[Route],
        handlers: Mapping[Any, ExceptionHandler],
    ) -> None:
        self.app = app
        self.routes: dict[tuple[str, str], Route] = {}
        for route in routes:
            assert not route.param_convertors, f"{route.path} has path parameters"
            for method in route.methods or ():
                self.routes[(route.path, method)] = route
        exception_handlers: dict[Any, ExceptionHandler] = {}
        status_handlers: dict[int, ExceptionHandler] = {}
        for key, handler in handlers.items():
            if isinstance(key, int):
                status_handlers[key] = handler
            elif key is not Exception:  # a 500: the server error middleware's
                exception_handlers[key] = handler
        self.handlers = (exception_handlers, status_handlers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = (
            self.routes.get((scope["path"], scope["method"])) if scope["type"] == "http" else None
        )
        if route is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = route
        scope["endpoint"] = route.endpoint
        scope["path_params"] = {}
        scope["starlette.exception_handlers"] = self.handlers  # as ExceptionMiddleware sets them
        await route.app(scope, receive, send)
