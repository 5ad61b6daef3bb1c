"""Every partner-API resource route against every kind of caller (SPEC §4 error table).

One table of routes (method, path, scope, body) crossed with one table of
callers: the right token, a token without the route's scope, the resource of
another organization, a token limited to another project, a revoked grant, an
expired token, the access token instead of an installation token, no token, a
malformed token, and a token in the query string. Each case asserts the exact
status and body, and that a refused request changed nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from api_world import ALL_SCOPES, World
from sqlalchemy import select

from i18n_connect.clock import FrozenClock
from i18n_connect.storage.tables import (
    content_entries,
    glossary_terms,
    project_languages,
    projects,
    translation_keys,
    translations,
)

P = "/api/oauth-client/v1/projects/{project}"


@dataclass(frozen=True)
class Route:
    id: str
    method: str
    path: str
    scope: str
    ok: int = 200
    body: dict[str, Any] | None = None
    level: str = "project"  # project | org | token | create
    writes: bool = field(default=False)
    query: str = ""


ROUTES = [
    Route(
        "list-organizations", "GET", "/api/oauth-client/organizations", "org:read", level="token"
    ),
    Route(
        "list-projects",
        "GET",
        "/api/oauth-client/organizations/{org}/projects",
        "projects:read",
        level="org",
    ),
    Route(
        "list-models",
        "GET",
        "/api/oauth-client/organizations/{org_slug}/projects/{project_slug}/models",
        "content:read",
    ),
    Route(
        "create-project",
        "POST",
        "/api/oauth-client/v1/projects",
        "projects:write",
        201,
        {"name": "New", "slug": "new", "sourceLanguage": "en"},
        "create",
        True,
    ),
    Route("get-project", "GET", P, "projects:read"),
    Route(
        "add-language", "POST", P + "/languages", "projects:write", 201, {"code": "fr"}, writes=True
    ),
    Route("list-keys", "GET", P + "/keys", "keys:read"),
    Route(
        "create-keys",
        "POST",
        P + "/keys",
        "keys:write",
        201,
        {"keys": [{"name": "new.key"}]},
        writes=True,
    ),
    Route(
        "update-keys",
        "PATCH",
        P + "/keys",
        "translations:write",
        200,
        {"keys": [{"name": "home.title", "translations": {"de": "Neu"}}]},
        writes=True,
    ),
    Route(
        "delete-keys",
        "POST",
        P + "/keys/delete",
        "keys:write",
        200,
        {"names": ["home.title"]},
        writes=True,
    ),
    Route("get-translations", "GET", P + "/translations/de", "translations:read"),
    Route(
        "set-translations",
        "PUT",
        P + "/translations/de",
        "translations:write",
        200,
        {"translations": {"home.title": "Hallo"}},
        writes=True,
    ),
    Route("publish", "POST", P + "/publish", "translations:publish", 200, {}, writes=True),
    Route("get-glossary", "GET", P + "/glossary", "glossary:read"),
    Route(
        "save-glossary",
        "PUT",
        P + "/glossary",
        "glossary:write",
        200,
        {"terms": [{"term": "Project"}]},
        writes=True,
    ),
    Route(
        "delete-glossary",
        "POST",
        P + "/glossary/delete",
        "glossary:write",
        200,
        {"terms": ["Workspace"]},
        writes=True,
    ),
    Route("list-entries", "GET", P + "/models/page/entries", "content:read"),
    Route("get-entry", "GET", P + "/models/page/entries/home", "content:read"),
    Route(
        "save-entry",
        "PUT",
        P + "/models/page/entries/home",
        "content:write",
        200,
        {"data": {"title": {"de": "Start"}}},
        writes=True,
    ),
    Route(
        "publish-entries",
        "POST",
        P + "/models/page/publish",
        "content:publish",
        200,
        {},
        writes=True,
    ),
    Route("export", "GET", P + "/export", "translations:read", query="?language=de&format=xliff"),
    Route(
        "import",
        "POST",
        P + "/import",
        "translations:write",
        200,
        {"home.title": "Neu"},
        writes=True,
        query="?language=de&format=json",
    ),
]

CASES = {
    # case: (status, error) — None error means success
    "right-scope": (None, None),
    "x-api-key-header": (None, None),
    "missing-scope": (403, "missing_scope"),
    "other-organization": (403, "wrong_organization"),
    "other-project": (403, "wrong_project"),
    "unknown-project": (404, "not_found"),
    "revoked-grant": (410, "grant_revoked"),
    "expired-token": (401, "invalid_token"),
    "access-token": (401, "invalid_token"),
    "no-token": (401, "invalid_token"),
    "malformed-token": (401, "invalid_token"),
    "token-in-query-string": (401, "invalid_token"),
}


def _applies(route: Route, case: str) -> bool:
    if case == "other-organization":
        return route.level in ("project", "org")
    if case == "other-project":
        return route.level in ("project", "create")
    if case == "unknown-project":
        return route.level == "project" and "{project}" in route.path
    return True


MATRIX = [
    pytest.param(route, case, id=f"{route.id}-{case}")
    for route in ROUTES
    for case in CASES
    if _applies(route, case)
]


def _url(world: World, route: Route, *, org: str = "acme", project: str = "web") -> str:
    return (
        route.path.format(
            org=world.orgs[org],
            org_slug=org,
            project=world.projects.get(f"{org}/{project}", "prj_missing"),
            project_slug=project,
        )
        + route.query
    )


async def snapshot(world: World) -> list[Any]:
    """Every row of the translation domain, to prove that a refused call changed nothing."""
    async with world.services.db.transaction(readonly=True) as conn:
        state = []
        for table in (
            projects,
            project_languages,
            translation_keys,
            translations,
            glossary_terms,
            content_entries,
        ):
            rows = await conn.execute(select(table))
            state.append(sorted(str(tuple(row)) for row in rows))
        return state


async def test_route_table_covers_every_partner_api_resource_route(api: httpx.AsyncClient) -> None:
    documented = api.app.openapi()["paths"]  # type: ignore[attr-defined]
    for path, operations in documented.items():
        if not path.startswith("/api/oauth-client/") or "/installations/" in path:
            continue
        if path.endswith("/me"):
            continue
        if path.startswith("/api/oauth-client/webhooks/"):
            continue  # the publisher's webhook API, with client credentials (tests/webhooks)
        pattern = re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)))
        for method in operations:
            assert any(
                route.method == method.upper() and pattern.fullmatch(route.path) for route in ROUTES
            ), (method, path)


@pytest.mark.parametrize(("route", "case"), MATRIX)
async def test_resource_route(world: World, clock: FrozenClock, route: Route, case: str) -> None:
    status, error = CASES[case]
    url = _url(world, route)
    headers: dict[str, str] = {}
    if case in (
        "right-scope",
        "x-api-key-header",
        "other-organization",
        "unknown-project",
        "token-in-query-string",
        "expired-token",
        "revoked-grant",
    ):
        token = await world.mint()
        headers = (
            {"x-api-key": token}
            if case == "x-api-key-header"
            else {"Authorization": f"Bearer {token}"}
        )
        if case == "other-organization":
            url = _url(world, route, org="globex")
        elif case == "unknown-project":
            url = _url(world, route, project="missing")
        elif case == "token-in-query-string":
            headers = {}
            url += ("&" if "?" in url else "?") + f"access_token={token}&api_key={token}"
            url += f"&x-api-key={token}"
        elif case == "expired-token":
            clock.advance(hours=1)
        elif case == "revoked-grant":
            access = await world.access_token()
            revoked = await world.http.delete(
                f"/api/oauth-client/installations/{world.grants['acme']}",
                headers={"Authorization": f"Bearer {access}"},
            )
            assert revoked.status_code == 204
    elif case == "missing-scope":
        token = await world.mint(scopes=[s for s in ALL_SCOPES if s != route.scope])
        headers = {"Authorization": f"Bearer {token}"}
    elif case == "other-project":
        token = await world.mint(project_ids=[world.projects["acme/mobile"]])
        headers = {"Authorization": f"Bearer {token}"}
    elif case == "access-token":
        headers = {"Authorization": f"Bearer {await world.access_token()}"}
    elif case == "malformed-token":
        headers = {"Authorization": "Bearer bi_oat_" + "A" * 43}
    before = await snapshot(world)
    response = await world.http.request(route.method, url, json=route.body, headers=headers)
    after = await snapshot(world)
    if error is None:
        assert response.status_code == route.ok, response.text
        assert (after != before) == route.writes
        return
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    if error == "missing_scope":
        assert body == {
            "error": "missing_scope",
            "error_description": f"This route needs the scope {route.scope}.",
            "required": route.scope,
        }
    else:
        assert set(body) == {"error", "error_description"}
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    if case == "access-token":
        assert "mint one with POST /api/oauth-client/installations/" in body["error_description"]
    assert after == before


async def test_a_project_limited_token_lists_only_its_projects(world: World) -> None:
    token = await world.mint(project_ids=[world.projects["acme/mobile"]])
    headers = {"Authorization": f"Bearer {token}"}
    listed = await world.http.get(
        f"/api/oauth-client/organizations/{world.orgs['acme']}/projects", headers=headers
    )
    assert listed.status_code == 200
    assert [p["slug"] for p in listed.json()["projects"]] == ["mobile"]
    everything = await world.mint()
    full = await world.http.get(
        f"/api/oauth-client/organizations/{world.orgs['acme']}/projects",
        headers={"Authorization": f"Bearer {everything}"},
    )
    assert sorted(p["slug"] for p in full.json()["projects"]) == ["mobile", "web"]
    orgs = await world.http.get("/api/oauth-client/organizations", headers=headers)
    assert orgs.json() == {
        "organizations": [{"id": world.orgs["acme"], "slug": "acme", "name": "Acme"}],
        "next_cursor": None,
    }


async def test_unknown_organization_is_not_found(world: World) -> None:
    token = await world.mint()
    response = await world.http.get(
        "/api/oauth-client/organizations/org_missing/projects", headers={"x-api-key": token}
    )
    assert (response.status_code, response.json()["error"]) == (404, "not_found")


async def test_writes_through_the_api_are_drafts_and_publish_makes_them_live(world: World) -> None:
    token = await world.mint()
    headers = {"Authorization": f"Bearer {token}"}
    base = f"/api/oauth-client/v1/projects/{world.projects['acme/web']}"
    created = await world.http.post(
        f"{base}/keys",
        json={"keys": [{"name": "cart.empty", "description": "Empty cart"}]},
        headers=headers,
    )
    assert created.status_code == 201
    assert [k["name"] for k in created.json()["keys"]] == ["cart.empty"]
    written = await world.http.put(
        f"{base}/translations/de", json={"translations": {"cart.empty": "Leer"}}, headers=headers
    )
    assert written.json() == {"language": "de", "written": 1}
    read = await world.http.get(f"{base}/translations/de", headers=headers)
    rows = {row["key"]: (row["draft"], row["published"]) for row in read.json()["translations"]}
    assert rows == {"cart.empty": ("Leer", None), "home.title": ("Startseite", None)}
    published = await world.http.post(
        f"{base}/publish", json={"languages": ["de"]}, headers=headers
    )
    assert published.json() == {"published": 2}
    read = await world.http.get(f"{base}/translations/de", headers=headers)
    assert all(row["draft"] == row["published"] for row in read.json()["translations"])
    conflict = await world.http.post(
        f"{base}/keys", json={"keys": [{"name": "cart.empty"}]}, headers=headers
    )
    assert (conflict.status_code, conflict.json()["error"]) == (409, "conflict")
    unknown = await world.http.put(
        f"{base}/translations/fr", json={"translations": {"cart.empty": "Vide"}}, headers=headers
    )
    assert (unknown.status_code, unknown.json()["error"]) == (404, "not_found")


@pytest.mark.parametrize("path", ["/api/oauth-client/organizations", P])
async def test_head_of_a_hot_read_is_the_routers_405(world: World, path: str) -> None:
    """The hot reads are GET routes of the router, which answers HEAD with 405; Starlette's
    plain routes would take HEAD too, so the hot routes leave it to the router."""
    token = await world.mint()
    url = path.format(project=world.projects["acme/web"])
    answers = [
        await world.http.head(url + query, headers={"Authorization": f"Bearer {token}"})
        for query in ("", "?via=router")
    ]
    assert [(answer.status_code, answer.headers["allow"]) for answer in answers] == [
        (405, "GET"),
        (405, "GET"),
    ]
