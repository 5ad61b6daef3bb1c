"""Login and logout: cookies, session rotation, CSRF, no account enumeration, throttling,
open-redirect protection, and the signed-in home page."""

from __future__ import annotations

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, update
from web_helpers import (
    PASSWORD,
    Seeded,
    SignIn,
    app_services,
    counters_of,
    csrf_from,
    session_cookie,
)

from i18n_connect.app import create_app
from i18n_connect.clock import FrozenClock
from i18n_connect.platform import accounts
from i18n_connect.settings import Settings
from i18n_connect.storage.tables import browser_sessions, users
from i18n_connect.web.sessions import COOKIE_NAME


async def _signed_in_sessions(client: httpx.AsyncClient) -> int:
    async with app_services(client).db.transaction(readonly=True) as conn:
        query = select(func.count()).select_from(browser_sessions)
        return int(
            (await conn.execute(query.where(browser_sessions.c.user_id.is_not(None)))).scalar_one()
        )


async def test_login_page_hands_out_an_http_only_lax_session_cookie(
    app_client: httpx.AsyncClient,
) -> None:
    response = await app_client.get("/login")
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie
    assert response.headers["cache-control"] == "no-store"
    assert 'action="/login"' in response.text
    assert 'name="csrf_token"' in response.text
    assert await _signed_in_sessions(app_client) == 0


async def test_successful_login_rotates_the_session_id_and_redirects_home(
    app_client: httpx.AsyncClient, seeded: Seeded
) -> None:
    page = await app_client.get("/login")
    anonymous = session_cookie(app_client)
    response = await app_client.post(
        "/login",
        data={"email": "ADA@example.com", "password": PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert "HttpOnly" in response.headers["set-cookie"]
    signed_in = session_cookie(app_client)
    assert signed_in and anonymous and signed_in != anonymous
    assert await _signed_in_sessions(app_client) == 1
    home = await app_client.get("/")
    assert home.status_code == 200
    assert "ada@example.com" in home.text


async def test_cookie_is_secure_when_the_issuer_is_https(
    settings: Settings, clock: FrozenClock
) -> None:
    app = create_app(settings.model_copy(update={"issuer": "https://connect.example"}), clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://connect.example") as client:
        response = await client.get("/login")
    await app.state.services.db.dispose()
    assert response.status_code == 200
    assert "Secure" in response.headers["set-cookie"]
    assert "HttpOnly" in response.headers["set-cookie"]


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    app_client: httpx.AsyncClient, seeded: Seeded, sign_in: SignIn
) -> None:
    wrong_password = await sign_in("ada@example.com", "not the password")
    unknown_email = await sign_in("zed@example.com", PASSWORD)
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert "Wrong email or password." in wrong_password.text
    assert wrong_password.text.replace("ada@example.com", "EMAIL") == unknown_email.text.replace(
        "zed@example.com", "EMAIL"
    )
    assert "set-cookie" not in wrong_password.headers
    assert await _signed_in_sessions(app_client) == 0


@pytest.mark.parametrize("token", [None, "", "forged-token"], ids=["missing", "empty", "wrong"])
async def test_login_without_the_right_csrf_token_is_forbidden(
    app_client: httpx.AsyncClient, seeded: Seeded, token: str | None
) -> None:
    await app_client.get("/login")
    form = {"email": "ada@example.com", "password": PASSWORD}
    if token is not None:
        form["csrf_token"] = token
    response = await app_client.post("/login", data=form)
    assert response.status_code == 403
    assert "This form has expired" in response.text
    assert await _signed_in_sessions(app_client) == 0
    assert await counters_of(app_client) == {}


async def test_a_csrf_token_of_another_session_is_forbidden(
    app_client: httpx.AsyncClient, seeded: Seeded
) -> None:
    foreign = csrf_from((await app_client.get("/login")).text)
    app_client.cookies.clear()
    await app_client.get("/login")
    response = await app_client.post(
        "/login", data={"email": "ada@example.com", "password": PASSWORD, "csrf_token": foreign}
    )
    assert response.status_code == 403
    assert await _signed_in_sessions(app_client) == 0


async def test_logout_ends_the_session_server_side(
    app_client: httpx.AsyncClient, seeded: Seeded, sign_in: SignIn
) -> None:
    assert (await sign_in()).status_code == 303
    old_cookie = session_cookie(app_client)
    home = await app_client.get("/")
    response = await app_client.post("/logout", data={"csrf_token": csrf_from(home.text)})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert session_cookie(app_client) != old_cookie
    assert await _signed_in_sessions(app_client) == 0
    app_client.cookies.set(COOKIE_NAME, old_cookie or "")
    replayed = await app_client.get("/")
    assert replayed.status_code == 303
    assert replayed.headers["location"] == "/login?next=/"


async def test_logout_without_csrf_token_is_forbidden_and_keeps_the_session(
    app_client: httpx.AsyncClient, seeded: Seeded, sign_in: SignIn
) -> None:
    await sign_in()
    response = await app_client.post("/logout", data={"csrf_token": "forged"})
    assert response.status_code == 403
    assert "Sign-out failed" in response.text
    assert await _signed_in_sessions(app_client) == 1
    assert (await app_client.get("/")).status_code == 200


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "evil.example/path",
        "/\tevil",
        "",
    ],
    ids=[
        "protocol-relative",
        "absolute",
        "backslash",
        "javascript",
        "relative",
        "control",
        "empty",
    ],
)
async def test_next_outside_this_site_lands_on_home(
    app_client: httpx.AsyncClient, seeded: Seeded, sign_in: SignIn, target: str
) -> None:
    response = await sign_in(next=target)
    assert response.status_code == 303
    assert response.headers["location"] == "/"


async def test_next_on_this_site_is_kept(
    app_client: httpx.AsyncClient, seeded: Seeded, sign_in: SignIn
) -> None:
    target = "/api/auth/mcp/authorize?client_id=abc&state=x%20y"
    page = await app_client.get("/login", params={"next": target})
    assert 'value="/api/auth/mcp/authorize?client_id=abc&amp;state=x%20y"' in page.text
    response = await sign_in(next=target)
    assert response.status_code == 303
    assert response.headers["location"] == target


async def test_login_form_of_a_signed_in_user_goes_straight_on(
    app_client: httpx.AsyncClient, seeded: Seeded, sign_in: SignIn
) -> None:
    await sign_in()
    response = await app_client.get("/login", params={"next": "//evil.example"})
    assert response.status_code == 303
    assert response.headers["location"] == "/"


async def test_home_page_asks_an_anonymous_visitor_to_sign_in(
    app_client: httpx.AsyncClient,
) -> None:
    response = await app_client.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/"


async def test_home_page_lists_the_users_organizations_and_projects(
    app_client: httpx.AsyncClient, seeded: Seeded, sign_in: SignIn
) -> None:
    await sign_in()
    response = await app_client.get("/")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    assert "Acme Corp" in page and "Globex" in page
    assert "Initech" not in page  # Bob's organization, Ada is no member
    assert '<span class="badge badge--owner">owner</span>' in page
    assert '<span class="badge badge--member">member</span>' in page
    for project in ("Website", "Mobile app", "Docs"):
        assert project in page
    assert page.index("Mobile app") < page.index("Website")  # by name
    assert '<li class="tags__source" title="Source language">en</li>' in page
    assert "<li>fr</li>" in page and "<li>de</li>" in page and "<li>ja</li>" in page
    assert 'href="/settings/connected-apps"' in page
    assert 'action="/logout"' in page


async def test_sign_in_upgrades_an_outdated_password_hash(
    app_client: httpx.AsyncClient, seeded: Seeded, sign_in: SignIn
) -> None:
    """The upgrade is written on both backends: on PostgreSQL the sign-in's transaction is
    writable (a read-only one would refuse it), on SQLite it takes the lock if it is free."""
    services = app_services(app_client)
    weak = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1).hash(PASSWORD)
    async with services.db.transaction() as conn:
        await conn.execute(
            update(users).where(users.c.id == seeded.user.id).values(password_hash=weak)
        )
    response = await sign_in()
    assert response.status_code == 303
    async with services.db.transaction(readonly=True) as conn:
        stored = (
            await conn.execute(select(users.c.password_hash).where(users.c.id == seeded.user.id))
        ).scalar_one()
    assert stored != weak
    assert not accounts._hasher.check_needs_rehash(stored)
