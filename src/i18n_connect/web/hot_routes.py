"""The hot routes, found by one dictionary look-up instead of the app's router.

The token endpoint, the partner-API reads, mint, ``/mcp`` and the benchmark's
baseline are requested far more often than the rest. The app's router tries its
routes one by one (about 80 of them, with regular expressions) and FastAPI adds
its own layers of exception handling per request; `HotRoutes` finds an exact
path and method in a dictionary (or a path whose last segment is the route's
one parameter, at most `MAX_PARAMETER_LENGTH` characters) and calls the route's
endpoint itself, turning its exceptions into the app's error responses. Anything
else, a longer parameter or a query string (``limit``, ``cursor``) included, goes on
to the app, whose FastAPI route validates it.
Every route here stays in the app's router too: trailing-slash redirects, 405s
and the OpenAPI document see them there.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

__all__ = ["MAX_PARAMETER_LENGTH", "HotRoutes"]

# Starlette's exception handler of an HTTP request: a response, or an awaitable of one.
_Handler = Callable[[Request, Exception], Any]

MAX_PARAMETER_LENGTH = 64  # the partner API's ids and slugs (`Path(max_length=64)`)


class HotRoutes:
    """``routes`` by path and method. A route's path is plain or ends with its one parameter
    (``/v1/projects/{project_id}``); its endpoint takes a `Request` and returns a `Response`,
    or is an ASGI app. ``handlers`` are the app's exception handlers by exception class
    (``Exception`` is left to the server-error layer: a 500)."""

    def __init__(self, routes: Sequence[Route], handlers: Mapping[Any, Callable[..., Any]]) -> None:
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
        self.handlers: dict[type, _Handler] = {
            key: handler
            for key, handler in handlers.items()
            if isinstance(key, type) and key is not Exception
        }

    def find(self, scope: Scope) -> Route | None:
        """The hot route of this request, its path parameter put in the scope; else ``None``."""
        if scope.get("query_string"):
            return None  # parameters that only the FastAPI route reads and validates
        path: str = scope["path"]
        method: str = scope["method"]
        route = self.routes.get((path, method))
        if route is not None:
            scope["path_params"] = {}
        else:
            cut = path.rfind("/") + 1
            value = path[cut:]
            if not 0 < len(value) <= MAX_PARAMETER_LENGTH:
                return None
            named = self.last_parameter.get((path[:cut], method))
            if named is None:
                return None
            route = named[0]
            scope["path_params"] = {named[1]: value}
        scope["route"] = route
        scope["endpoint"] = route.endpoint
        return route

    async def answer(self, route: Route, scope: Scope, receive: Receive, send: Send) -> None:
        """Call the route's endpoint; an exception with a handler becomes its response. A route
        whose endpoint is an ASGI app (``/mcp``) is that app, answering its own errors."""
        if route.app is route.endpoint:
            await route.app(scope, receive, send)
            return
        request = Request(scope, receive, send)
        try:
            response: Response = await route.endpoint(request)
        except Exception as exc:
            handler = self._handler_of(exc)
            if handler is None:
                raise
            answered = handler(request, exc)
            response = await answered if inspect.isawaitable(answered) else answered
        await response(scope, receive, send)

    def _handler_of(self, exc: Exception) -> _Handler | None:
        for cls in type(exc).__mro__:
            handler = self.handlers.get(cls)
            if handler is not None:
                return handler
        return None
