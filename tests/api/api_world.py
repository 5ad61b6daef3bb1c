"""A small world for partner-API tests: two users, three organizations, projects with keys,
translations, a glossary and content, one client with grants, and token helpers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from factories import consented, partner_client, user_owning
from i18n_connect.platform import content, glossary, keys, projects, translations
from i18n_connect.scopes import CATALOG
from i18n_connect.services import Services

ALL_SCOPES: tuple[str, ...] = tuple(CATALOG)
FIELDS = [{"name": "title", "type": "text", "localized": True}]


@dataclass
class World:
    services: Services
    http: httpx.AsyncClient
    ada: str  # owns acme and globex
    bob: str  # owns initech
    client_id: str
    other_client_id: str
    orgs: dict[str, str]  # slug -> id
    projects: dict[str, str]  # "acme/web" -> id
    grants: dict[str, str]  # org slug -> grant id (client_id's grants)

    async def access_token(
        self,
        orgs: Sequence[str] = ("acme",),
        *,
        scopes: Sequence[str] = ALL_SCOPES,
        user: str | None = None,
        client_id: str | None = None,
        audience: str | None = None,
    ) -> str:
        issued = await self.services.tokens.issue(
            user_id=user or self.ada,
            client_id=client_id or self.client_id,
            scope=scopes,
            grant_ids=[self.grants[slug] for slug in orgs],
            audience=audience or self.services.settings.api_resource,
        )
        return issued.token

    async def mint(
        self,
        org: str = "acme",
        *,
        scopes: Sequence[str] | None = None,
        project_ids: Sequence[str] | None = None,
    ) -> str:
        body: dict[str, Any] = {}
        if scopes is not None:
            body["scopes"] = list(scopes)
        if project_ids is not None:
            body["project_ids"] = list(project_ids)
        token = await self.access_token((org,), user=self.ada if org != "initech" else self.bob)
        response = await self.http.post(
            f"/api/oauth-client/installations/{self.grants[org]}/tokens",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201, response.text
        minted: str = response.json()["installation_token"]
        return minted


async def build_world(services: Services, http: httpx.AsyncClient) -> World:
    now, hasher = services.clock.now(), services.hasher
    async with services.db.transaction() as conn:
        orgs = await user_owning(conn, "usr_ada", "ada@example.com", ("acme", "globex"), now=now)
        orgs |= await user_owning(conn, "usr_bob", "bob@example.com", ("initech",), now=now)
        project_ids: dict[str, str] = {}
        for org_slug, project_slug in (("acme", "web"), ("acme", "mobile"), ("globex", "web")):
            project = await projects.create_project(
                conn,
                organization_id=orgs[org_slug],
                name=project_slug.title(),
                slug=project_slug,
                source_language="en",
                target_languages=("de",),
                now=now,
            )
            project_ids[f"{org_slug}/{project_slug}"] = project.id
            if (org_slug, project_slug) != ("acme", "web"):
                continue  # the others only need to exist
            await keys.create_keys(conn, project.id, {"home.title": "Title"}, now)
            await translations.set_translations(
                conn, project.id, "de", {"home.title": "Startseite"}, now
            )
            await glossary.save_terms(conn, project.id, [glossary.TermInput("Workspace")], now)
            await content.create_model(
                conn, project.id, slug="page", name="Page", fields=FIELDS, now=now
            )
            await content.save_entry(
                conn, project.id, "page", "home", {"title": {"en": "Home"}}, now
            )
        uris = ["http://127.0.0.1/callback"]
        client_id, _ = await partner_client(conn, "Partner App", uris, hasher=hasher, now=now)
        other_id, _ = await partner_client(conn, "Other App", uris, hasher=hasher, now=now)
        granted: dict[str, str] = {}
        for user_id, slugs in (("usr_ada", ("acme", "globex")), ("usr_bob", ("initech",))):
            granted |= await consented(
                conn,
                user_id=user_id,
                client_id=client_id,
                organizations={slug: orgs[slug] for slug in slugs},
                scope=ALL_SCOPES,
                now=now,
            )
    return World(
        services=services,
        http=http,
        ada="usr_ada",
        bob="usr_bob",
        client_id=client_id,
        other_client_id=other_id,
        orgs=orgs,
        projects=project_ids,
        grants=granted,
    )
