"""Who is signed in: the browser session and its user, and the way to ask for a sign-in.

`signed_in_user` also reads, for a signed-in user, what waits for them — connection requests
they may decide, their own approved ones (`connection_requests.waiting_for`, one indexed
read) — and leaves it on ``request.state.waiting`` for the site header that `render` draws.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.platform import connection_requests
from i18n_connect.platform.accounts import User, get_user
from i18n_connect.web.sessions import BrowserSession, current_session, services_of

__all__ = ["client_address", "login_redirect", "safe_next", "signed_in_user"]


async def signed_in_user(
    request: Request, conn: AsyncConnection
) -> tuple[BrowserSession, User | None]:
    """The caller's session (possibly new and anonymous) and its user, if one is signed in;
    for a signed-in user, the header's `connection_requests.Waiting` on ``request.state``."""
    session = await current_session(request, conn)
    if session.user_id is None:
        return session, None
    user = await get_user(conn, session.user_id)
    if user is not None:
        request.state.waiting = await connection_requests.waiting_for(
            conn, user_id=user.id, now=services_of(request).clock.now()
        )
    return session, user


def safe_next(target: str | None) -> str:
    """``target`` when it is a path on this site, else ``/`` (no open redirect)."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target)
    ):
        return "/"
    return target


def login_redirect(request: Request) -> RedirectResponse:
    """A 303 to the login page that comes back to the current URL afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(here, safe='/')}", status_code=303)


def client_address(request: Request) -> str:
    """The caller's address, for per-address limits: the peer, or the address a trusted
    proxy forwarded (``serve`` believes ``X-Forwarded-For`` only from ``trusted_proxies``)."""
    return request.client.host if request.client else "unknown"
