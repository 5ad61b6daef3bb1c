"""Seeding shared by test worlds: Ada and Bob, each owning an organization, Ada also an admin
of Bob's; a "Web" project with one key translated in a draft; and the refresh and
installation tokens of a grant (imported by name: tests/ is on sys.path through
tests/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.platform import keys, translations
from i18n_connect.platform.accounts import User, create_user
from i18n_connect.platform.organizations import Organization, add_member, create_organization
from i18n_connect.platform.projects import Project, create_project
from i18n_connect.storage.oauth_tables import installation_tokens, refresh_chains, refresh_tokens


@dataclass(frozen=True)
class AdaAndBob:
    ada: User
    bob: User
    acme: Organization  # owned by Ada
    globex: Organization  # owned by Bob, Ada is an admin


async def ada_and_bob(conn: AsyncConnection, *, password: str, now: datetime) -> AdaAndBob:
    """Ada (ada@example.com) owning Acme Corp and Bob (bob@example.com) owning Globex, with
    Ada an admin of Globex; both sign in with ``password``."""
    ada = await create_user(conn, email="ada@example.com", password=password, name="Ada", now=now)
    bob = await create_user(conn, email="bob@example.com", password=password, name="Bob", now=now)
    acme = await create_organization(
        conn, slug="acme", name="Acme Corp", owner_user_id=ada.id, now=now
    )
    globex = await create_organization(
        conn, slug="globex", name="Globex", owner_user_id=bob.id, now=now
    )
    await add_member(conn, organization_id=globex.id, user_id=ada.id, role="admin", now=now)
    return AdaAndBob(ada=ada, bob=bob, acme=acme, globex=globex)


async def web_project(conn: AsyncConnection, organization_id: str, now: datetime) -> Project:
    """Project "Web" (slug ``web``, English, also German) with the key ``home.title`` and its
    German draft "Start" (nothing published)."""
    project = await create_project(
        conn,
        organization_id=organization_id,
        name="Web",
        slug="web",
        source_language="en",
        target_languages=("de",),
        now=now,
    )
    await keys.create_keys(conn, project.id, {"home.title": "Title"}, now)
    await translations.set_translations(conn, project.id, "de", {"home.title": "Start"}, now)
    return project


async def add_grant_tokens(
    conn: AsyncConnection, grant_id: str, *, organization_id: str, tag: str, now: datetime
) -> None:
    """One live ``org:read`` refresh token (30 days) and installation token (1 hour) of the
    grant, inserted directly: ``rtk_<tag>`` and ``itk_<tag>``."""
    await conn.execute(
        insert(refresh_chains).values(id=f"rch_{tag}", grant_id=grant_id, created_at=now)
    )
    await conn.execute(
        insert(refresh_tokens).values(
            id=f"rtk_{tag}",
            token_hash=f"rt-hash-{tag}",
            grant_id=grant_id,
            chain_id=f"rch_{tag}",
            scope="org:read",
            created_at=now,
            expires_at=now + timedelta(days=30),
        )
    )
    await conn.execute(
        insert(installation_tokens).values(
            id=f"itk_{tag}",
            token_hash=f"it-hash-{tag}",
            grant_id=grant_id,
            organization_id=organization_id,
            project_ids=[],
            scope="org:read",
            created_at=now,
            expires_at=now + timedelta(hours=1),
        )
    )
