"""Fixtures of the web tests: a user with two organizations, and a sign-in helper."""

from __future__ import annotations

import httpx
import pytest
from argon2 import PasswordHasher
from web_helpers import PASSWORD, Seeded, SignIn, app_services, csrf_from

from i18n_connect.clock import FrozenClock
from i18n_connect.platform import accounts
from i18n_connect.platform.accounts import create_user
from i18n_connect.platform.organizations import add_member, create_organization
from i18n_connect.platform.projects import create_project


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with minimal cost: these tests are about the web edge, not hashing strength
    (tests/platform/test_accounts.py runs the real parameters)."""
    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
async def seeded(app_client: httpx.AsyncClient, clock: FrozenClock) -> Seeded:
    """Ada (owner of Acme, member of Globex) and Bob (owner of Globex, Initech)."""
    services = app_services(app_client)
    now = clock.now()
    async with services.db.transaction() as conn:
        ada = await create_user(
            conn, email="ada@example.com", password=PASSWORD, name="Ada Lovelace", now=now
        )
        bob = await create_user(
            conn, email="bob@example.com", password=PASSWORD, name="Bob", now=now
        )
        acme = await create_organization(
            conn, slug="acme", name="Acme Corp", owner_user_id=ada.id, now=now
        )
        globex = await create_organization(
            conn, slug="globex", name="Globex", owner_user_id=bob.id, now=now
        )
        await create_organization(
            conn, slug="initech", name="Initech", owner_user_id=bob.id, now=now
        )
        await add_member(conn, organization_id=globex.id, user_id=ada.id, role="member", now=now)
        await create_project(
            conn,
            organization_id=acme.id,
            name="Website",
            slug="website",
            source_language="en",
            target_languages=("fr", "de"),
            now=now,
        )
        await create_project(
            conn,
            organization_id=acme.id,
            name="Mobile app",
            slug="mobile",
            source_language="en",
            target_languages=("ja",),
            now=now,
        )
        await create_project(
            conn,
            organization_id=globex.id,
            name="Docs",
            slug="docs",
            source_language="de",
            now=now,
        )
    return Seeded(user=ada, other=bob)


@pytest.fixture
def sign_in(app_client: httpx.AsyncClient) -> SignIn:
    """Fetch the login form, then post it; returns the POST's response."""

    async def run(
        email: str = "ada@example.com", password: str = PASSWORD, next: str | None = None
    ) -> httpx.Response:
        page = await app_client.get("/login", params={"next": next} if next else None)
        assert page.status_code == 200
        form = {"email": email, "password": password, "csrf_token": csrf_from(page.text)}
        if next is not None:
            form["next"] = next
        return await app_client.post("/login", data=form)

    return run
