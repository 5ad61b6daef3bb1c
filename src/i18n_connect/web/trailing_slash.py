"""A path that differs from a route only by its trailing slash is redirected (307) to that
route, like Starlette's ``redirect_slashes`` — but the ``Location`` is built from the issuer,
never from the request's ``Host`` header, so a forged host cannot turn this site's redirects
into links to another one.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.responses import RedirectResponse
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["redirect_slashes_to_issuer"]


def redirect_slashes_to_issuer(router: Router, issuer: str) -> ASGIApp:
    """The router's fallback for unmatched requests (``Router.default``): the redirect, or
    the router's own 404."""
    parts = urlsplit(issuer)
    origin = f"{parts.scheme}://{parts.netloc}"
    not_found = router.not_found

    async def fallback(scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "http" and path != "/":
            other = dict(scope, path=path.rstrip("/") if path.endswith("/") else path + "/")
            if any(route.matches(other)[0] is not Match.NONE for route in router.routes):
                query = scope.get("query_string", b"").decode("latin-1")
                location = origin + other["path"] + (f"?{query}" if query else "")
                await RedirectResponse(location, status_code=307)(scope, receive, send)
                return
        await not_found(scope, receive, send)

    return fallback
