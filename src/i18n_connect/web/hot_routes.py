"""The hot routes, answered by one dictionary look-up instead of the app's router.

The token endpoint, the partner-API reads, mint, ``/mcp`` and the benchmark's
baseline are requested far more often than the rest. The app's router tries its
routes one by one (about 80 of them, with regular expressions) and FastAPI adds
its own layers of exception handling per request; this middleware finds an
exact path and method in a dictionary (or a path whose last segment is the
route's one parameter, at most `MAX_PARAMETER_LENGTH` characters) and calls the
route's Starlette app, with the app's exception handlers, so the errors become
the same responses. Anything else, a longer parameter or a query string (``limit``,
``cursor``) included, goes on to the app, whose FastAPI route validates it.
Every route here stays in the app's router too: trailing-slash redirects, 405s
and the OpenAPI document see them there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.routing import Route
from starlette.types import ASGIApp, ExceptionHandler, Receive, Scope, Send

__all__ = ["MAX_PARAMETER_LENGTH", "HotRoutes"]

MAX_PARAMETER_LENGTH = 64  # the partner API's ids and slugs (`Path(max_length=64)`)


class HotRoutes:
    """ASGI middleware: ``routes`` by path and method, else ``app``. A route's path is plain
    or ends with its one parameter (``/v1/projects/{project_id}``)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Sequence[Route],
        handlers: Mapping[Any, ExceptionHandler],
    ) -> None:
        self.app = app
        self.routes: dict[tuple[str, str], Route] = {}
        self.last_parameter: dict[tuple[str, str], tuple[Route, str]] = {}
        for route in routes:
            head, _, last = route.path.rpartition("/")
            for method in route.methods or ():
                if not route.param_convertors:
                    self.routes[(route.path, method)] = route
                    continue
                name = last.removeprefix("{").removesuffix("}")
                assert list(route.param_convertors) == [name] and "{" not in head, route.path
                self.last_parameter[(head + "/", method)] = (route, name)
        exception_handlers: dict[Any, ExceptionHandler] = {}
        status_handlers: dict[int, ExceptionHandler] = {}
        for key, handler in handlers.items():
            if isinstance(key, int):
                status_handlers[key] = handler
            elif key is not Exception:  # a 500: the server error middleware's
                exception_handlers[key] = handler
        self.handlers = (exception_handlers, status_handlers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self._find(scope) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        route, path_params = found
        scope["route"] = route
        scope["endpoint"] = route.endpoint
        scope["path_params"] = path_params
        scope["starlette.exception_handlers"] = self.handlers  # as ExceptionMiddleware sets them
        await route.app(scope, receive, send)

    def _find(self, scope: Scope) -> tuple[Route, dict[str, str]] | None:
        if scope.get("query_string"):
            return None  # parameters that only the FastAPI route reads and validates
        path: str = scope["path"]
        method: str = scope["method"]
        route = self.routes.get((path, method))
        if route is not None:
            return route, {}
        cut = path.rfind("/") + 1
        value = path[cut:]
        if not 0 < len(value) <= MAX_PARAMETER_LENGTH:
            return None
        named = self.last_parameter.get((path[:cut], method))
        if named is None:
            return None
        return named[0], {named[1]: value}
