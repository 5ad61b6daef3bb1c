"""Browser sessions and CSRF tokens.

The cookie holds a random session id signed with itsdangerous (``HttpOnly``,
``SameSite=Lax``, ``Secure`` on an https issuer). Only its keyed hash is
stored, with the signed-in user. Every browser that reaches a form gets an
anonymous session first, so CSRF tokens — an HMAC of the session id hash — can
protect the login form too. Signing in replaces the session id (no fixation)
and carries pending authorization requests over to the new id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request, Response
from itsdangerous import BadSignature, Signer
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.services import Services
from i18n_connect.storage import authorization_requests, sessions

__all__ = [
    "COOKIE_NAME",
    "SESSION_LIFETIME",
    "BrowserSession",
    "csrf_token",
    "csrf_valid",
    "current_session",
    "end_session",
    "services_of",
    "set_session_cookie",
    "sign_in",
]

COOKIE_NAME = "i18n_connect_session"
SESSION_LIFETIME = timedelta(days=14)


@dataclass(frozen=True, slots=True)
class BrowserSession:
    sid_hash: str
    user_id: str | None
    cookie_value: str | None = None  # set when the response must (re)send the cookie


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _signer(services: Services) -> Signer:
    return Signer(services.session_key, salt="session")


def _hash(services: Services, sid: str) -> str:
    return services.hasher.hash("session:" + sid)


def _new_session(services: Services, user_id: str | None) -> tuple[str, BrowserSession]:
    sid = secrets.token_urlsafe(32)
    cookie = _signer(services).sign(sid).decode()
    return sid, BrowserSession(_hash(services, sid), user_id, cookie)


async def current_session(request: Request, conn: AsyncConnection) -> BrowserSession:
    """The caller's session; a fresh anonymous one when the cookie is missing or invalid."""
    services = services_of(request)
    raw = request.cookies.get(COOKIE_NAME)
    if raw:
        try:
            sid = _signer(services).unsign(raw).decode()
        except BadSignature:
            sid = None
        if sid:
            sid_hash = _hash(services, sid)
            stored = await sessions.session_user(conn, id_hash=sid_hash)
            if stored is None:
                return BrowserSession(sid_hash, None)  # anonymous, cookie still valid
            user_id, expires_at = stored
            if expires_at > services.clock.now():
                return BrowserSession(sid_hash, user_id)
    return _new_session(services, None)[1]


async def sign_in(
    request: Request, conn: AsyncConnection, previous: BrowserSession, user_id: str
) -> BrowserSession:
    """Replace the session id, bind it to the user, and carry pending authorization requests."""
    services = services_of(request)
    now = services.clock.now()
    _, session = _new_session(services, user_id)
    await sessions.delete_session(conn, id_hash=previous.sid_hash)
    await sessions.insert_session(
        conn,
        id_hash=session.sid_hash,
        user_id=user_id,
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
    )
    await authorization_requests.move_pending_requests(
        conn, from_session_hash=previous.sid_hash, to_session_hash=session.sid_hash
    )
    return session


async def end_session(
    request: Request, conn: AsyncConnection, session: BrowserSession
) -> BrowserSession:
    """Forget the signed-in user server-side and hand the browser a new anonymous id."""
    services = services_of(request)
    await sessions.delete_session(conn, id_hash=session.sid_hash)
    return _new_session(services, None)[1]


def set_session_cookie(request: Request, response: Response, session: BrowserSession) -> None:
    if session.cookie_value is None:
        return
    services = services_of(request)
    response.set_cookie(
        COOKIE_NAME,
        session.cookie_value,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=services.settings.secure_cookies,
    )


def csrf_token(request: Request, session: BrowserSession) -> str:
    """A token bound to this session id: valid for any form the session submits."""
    key = services_of(request).session_key
    digest = hmac.new(key, b"csrf:" + session.sid_hash.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def csrf_valid(request: Request, session: BrowserSession, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(csrf_token(request, session), submitted or "")
