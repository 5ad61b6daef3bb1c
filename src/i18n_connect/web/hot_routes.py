"""The hot routes, found by one dictionary look-up instead of the app's router.

The token endpoint, the partner-API reads, mint, ``/mcp`` and the benchmark's
baseline are requested far more often than the rest. The app's router tries its
routes one by one (about 80 of them, with regular expressions) and FastAPI adds
its own layers of exception handling per request; `HotRoutes` finds an exact
path and method in a dictionary (or a path with one parameter in one of its
segments, at most `MAX_PARAMETER_LENGTH` characters) and calls the route's
endpoint itself, turning its exceptions into the app's error responses. Anything
else, a longer parameter or a query string (``limit``, ``cursor``) included, goes on
to the app, whose FastAPI route validates it; so does a request whose endpoint
`Declined` it once it had read its body.
Every route here stays in the app's router too: trailing-slash redirects, 405s
and the OpenAPI document see them there. The routes' paths must not overlap.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from i18n_connect.web.replayed_bodies import replaying_body

__all__ = ["MAX_PARAMETER_LENGTH", "Declined", "HotRoutes"]

# Starlette's exception handler of an HTTP request: a response, or an awaitable of one.
_Handler = Callable[[Request, Exception], Any]

MAX_PARAMETER_LENGTH = 64  # the partner API's ids and slugs (`Path(max_length=64)`)
_ROUTED = ("path_params", "route", "endpoint")  # what `HotRoutes.find` puts in the scope


class Declined(Exception):
    """Raised by a hot endpoint, before it answers, for a request it leaves to the app (which
    validates it): ``body`` is the whole body it read, given to the app again."""

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self.body = body


class HotRoutes:
    """``routes`` by path and method. A route's path is plain or has one parameter making up
    one whole segment (``/v1/projects/{project_id}``, ``/installations/{grant_id}/tokens``);
    its endpoint takes a `Request` and returns a `Response`, or is an ASGI app. ``handlers``
    are the app's exception handlers by exception class (``Exception`` is left to the
    server-error layer: a 500)."""

    def __init__(self, routes: Sequence[Route], handlers: Mapping[Any, Callable[..., Any]]) -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        # (the path before the parameter, the path after it, method) -> (route, parameter name)
        self.parameterized: dict[tuple[str, str, str], tuple[Route, str]] = {}
        tails: dict[str, None] = {}  # the paths after a parameter, in the routes' order
        for route in routes:
            head, _, rest = route.path.partition("{")
            name, _, tail = rest.partition("}")
            for method in route.methods or ():
                if not route.param_convertors:
                    self.routes[(route.path, method)] = route
                    continue
                whole_segment = head.endswith("/") and tail[:1] in ("", "/")
                assert list(route.param_convertors) == [name] and whole_segment, route.path
                self.parameterized[(head, tail, method)] = (route, name)
                tails[tail] = None
        self.tails = tuple(tails)
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
            named = self._parameterized(path, method)
            if named is None:
                return None
            route, name, value = named
            scope["path_params"] = {name: value}
        scope["route"] = route
        scope["endpoint"] = route.endpoint
        return route

    def _parameterized(self, path: str, method: str) -> tuple[Route, str, str] | None:
        """The route whose parameter is one segment of ``path`` (1 to `MAX_PARAMETER_LENGTH`
        characters), its name and value."""
        for tail in self.tails:
            if not path.endswith(tail):
                continue
            end = len(path) - len(tail)
            cut = path.rfind("/", 0, end) + 1
            if not 0 < end - cut <= MAX_PARAMETER_LENGTH:
                continue
            named = self.parameterized.get((path[:cut], tail, method))
            if named is not None:
                return named[0], named[1], path[cut:end]
        return None

    async def answer(
        self,
        route: Route,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        app: ASGIApp | None = None,
    ) -> None:
        """Call the route's endpoint; an exception with a handler becomes its response, and
        a request it `Declined` goes on to ``app`` (without one, `Declined` is raised on).
        A route whose endpoint is an ASGI app (``/mcp``) is that app, answering its own
        errors."""
        if route.app is route.endpoint:
            await route.app(scope, receive, send)
            return
        request = Request(scope, receive, send)
        try:
            response: Response = await route.endpoint(request)
        except Declined as declined:
            if app is None:
                raise
            for key in _ROUTED:
                del scope[key]
            await app(scope, replaying_body(declined.body, receive), send)
            return
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

