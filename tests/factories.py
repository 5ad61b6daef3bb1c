"""Seeding shared by test worlds (imported by name: tests/ is on sys.path through
tests/conftest.py): Ada and Bob, each owning an organization, Ada also an admin of Bob's;
users owning organizations; a "Web" project with one key translated in a draft; partner
clients; consented grants, their authorization codes and installation tokens; and the
refresh and installation tokens of a grant inserted directly."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import grants, installations
from i18n_connect.ids import SecretHasher
from i18n_connect.oauth.clients import create_client
from i18n_connect.oauth.codes import issue_code
from i18n_connect.oauth.pkce import s256_challenge
from i18n_connect.platform import keys, translations
from i18n_connect.platform.accounts import User, create_user
from i18n_connect.platform.organizations import Organization, add_member, create_organization
from i18n_connect.platform.projects import Project, create_project
from i18n_connect.services import Services
from i18n_connect.storage.oauth_tables import installation_tokens, refresh_chains, refresh_tokens
from i18n_connect.storage.tables import users


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


async def user_owning(
    conn: AsyncConnection, user_id: str, email: str, slugs: Sequence[str], *, now: datetime
) -> dict[str, str]:
    """The user ``user_id`` (named after the part of ``email`` before the "@", with no usable
    password: inserted directly, no hashing) owning one organization per slug, each named
    after its slug; returns slug -> organization id."""
    await conn.execute(
        insert(users).values(
            id=user_id,
            email=email,
            name=email.split("@")[0].title(),
            password_hash="$argon2id$unused",
            created_at=now,
        )
    )
    organizations: dict[str, str] = {}
    for slug in slugs:
        organization = await create_organization(
            conn, slug=slug, name=slug.title(), owner_user_id=user_id, now=now
        )
        organizations[slug] = organization.id
    return organizations


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


async def partner_client(
    conn: AsyncConnection,
    name: str,
    redirect_uris: Sequence[str],
    *,
    hasher: SecretHasher,
    now: datetime,
    confidential: bool = False,
) -> tuple[str, str | None]:
    """A partner client (RFC 6749 section 2.1) registered by the operator, public unless
    ``confidential``: its id and, for a confidential client, its secret."""
    client, secret = await create_client(
        conn,
        name=name,
        redirect_uris=list(redirect_uris),
        confidential=confidential,
        now=now,
        hasher=hasher,
    )
    return client.id, secret


async def consented(
    conn: AsyncConnection,
    *,
    user_id: str,
    client_id: str,
    organizations: Mapping[str, str],
    scope: Sequence[str],
    now: datetime,
) -> dict[str, str]:
    """The user's consent to the client over ``organizations`` (slug -> id), as the consent
    screen gives it: slug -> live grant id."""
    made = await grants.consent(
        conn,
        user_id=user_id,
        client_id=client_id,
        organization_ids=list(organizations.values()),
        scope=scope,
        now=now,
    )
    return {slug: grant.id for slug, grant in zip(organizations, made, strict=True)}


async def authorization_code(
    conn: AsyncConnection,
    *,
    user_id: str,
    client_id: str,
    grant_ids: Sequence[str],
    scope: str,
    redirect_uri: str,
    code_verifier: str,
    now: datetime,
    hasher: SecretHasher,
    resource: str | None = None,
) -> str:
    """An authorization code of consented grants with the S256 challenge of ``code_verifier``
    (RFC 7636 section 4.2)."""
    return await issue_code(
        conn,
        client_id=client_id,
        user_id=user_id,
        redirect_uri=redirect_uri,
        code_challenge=s256_challenge(code_verifier),
        scope=scope,
        resource=resource,
        grant_ids=grant_ids,
        now=now,
        hasher=hasher,
    )


async def installation_token(
    services: Services,
    *,
    user_id: str,
    client_id: str,
    grant_id: str,
    scope: Sequence[str],
    project_ids: Sequence[str] | None = None,
    scopes: Sequence[str] | None = None,
) -> installations.MintedToken:
    """An installation token of the grant, minted as the partner API does from an access token
    with ``scope`` and narrowed to ``project_ids`` and ``scopes`` (``None``: not narrowed)."""
    issued = await services.tokens.issue(
        user_id=user_id,
        client_id=client_id,
        scope=scope,
        grant_ids=[grant_id],
        audience=services.settings.api_resource,
    )
    async with services.db.transaction() as conn:
        return await installations.mint(
            conn,
            claims=issued.claims,
            grant_id=grant_id,
            project_ids=project_ids,
            scopes=scopes,
            now=services.clock.now(),
            hasher=services.hasher,
            mints_per_minute=1000,
        )
