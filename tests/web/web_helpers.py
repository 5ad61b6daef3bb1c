"""Helpers shared by the web tests (imported by name: tests/web is on sys.path)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from i18n_connect.platform.accounts import User
from i18n_connect.services import Services
from i18n_connect.web.sessions import COOKIE_NAME

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

SignIn = Callable[..., Awaitable[httpx.Response]]


@dataclass(frozen=True)
class Seeded:
    user: User
    other: User


def app_services(client: httpx.AsyncClient) -> Services:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    return services


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def session_cookie(client: httpx.AsyncClient) -> str | None:
    return client.cookies.get(COOKIE_NAME)
