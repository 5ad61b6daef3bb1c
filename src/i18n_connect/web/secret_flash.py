"""A new client secret carried across the redirect after a create or a rotation, so that the
app page shows it once and a reload neither shows it again nor repeats the POST.

The secret travels in a cookie encrypted for this purpose (Fernet, a key derived from the
server secret), scoped to the app's page, ``HttpOnly``, ``SameSite=Strict``, bound to the
browser session and the app, readable for two minutes; the page that shows it deletes it.
Nothing of it is stored on the server, and no log line carries a cookie.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

from cryptography.fernet import Fernet, InvalidToken
from fastapi import Request, Response

from i18n_connect.settings import Settings
from i18n_connect.web.sessions import BrowserSession, services_of

__all__ = ["flash_secret", "flashed_secret", "forget_secret"]

COOKIE = "i18n_connect_new_secret"
_LIFETIME_SECONDS = 120


def _cipher(settings: Settings) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(settings.derived_key("console-new-secret")))


def _path(client_id: str) -> str:
    return f"/developer/apps/{quote(client_id, safe='')}"


def flash_secret(
    request: Request, response: Response, session: BrowserSession, client_id: str, secret: str
) -> None:
    """Hand ``secret`` to the next view of the app's page in this session."""
    services = services_of(request)
    payload = json.dumps({"s": session.sid_hash, "c": client_id, "v": secret}).encode()
    response.set_cookie(
        COOKIE,
        _cipher(services.settings).encrypt(payload).decode(),
        max_age=_LIFETIME_SECONDS,
        path=_path(client_id),
        httponly=True,
        samesite="strict",
        secure=services.settings.secure_cookies,
    )


def flashed_secret(request: Request, session: BrowserSession, client_id: str) -> str | None:
    """The secret flashed for this app in this session, if any (`forget_secret` after)."""
    raw = request.cookies.get(COOKIE)
    if raw is None:
        return None
    cipher = _cipher(services_of(request).settings)
    try:
        payload = json.loads(cipher.decrypt(raw, ttl=_LIFETIME_SECONDS))
    except (InvalidToken, ValueError):
        return None
    if payload.get("s") != session.sid_hash or payload.get("c") != client_id:
        return None
    secret = payload.get("v")
    return secret if isinstance(secret, str) else None


def forget_secret(request: Request, response: Response, client_id: str) -> None:
    """Delete the flashed secret's cookie, once the page showing it is rendered."""
    if COOKIE in request.cookies:
        response.delete_cookie(
            COOKIE,
            path=_path(client_id),
            httponly=True,
            samesite="strict",
            secure=services_of(request).settings.secure_cookies,
        )
