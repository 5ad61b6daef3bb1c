"""Every GET of the partner API carries a strong ETag and answers ``If-None-Match`` with a
bodiless 304 — the routes of installation tokens, of the access token (``/me``) and of the
app's client credentials (webhooks) alike — and ``/openapi.json`` says so, and documents the
paging parameters of every list."""

from __future__ import annotations

from typing import Any

import httpx
from api_world import World

from factories import partner_client
from i18n_connect.storage import webhooks as webhook_store
from i18n_connect.webhooks import endpoints

PREFIX = "/api/oauth-client"
LISTS = {  # each list route: the field of its items
    "/organizations": "organizations",
    "/organizations/{org_id}/projects": "projects",
    "/organizations/{org_slug}/projects/{project_slug}/models": "models",
    "/v1/projects/{project_id}/keys": "keys",
    "/v1/projects/{project_id}/translations/{language}": "translations",
    "/v1/projects/{project_id}/glossary": "terms",
    "/v1/projects/{project_id}/models/{model_slug}/entries": "entries",
    "/webhooks/endpoints": "endpoints",
    "/webhooks/deliveries": "deliveries",
}


async def _webhook_client(world: World) -> httpx.BasicAuth:
    """A confidential app's credentials, with one endpoint that has one delivery."""
    services, now = world.services, world.services.clock.now()
    async with services.db.transaction() as conn:
        client_id, secret = await partner_client(
            conn,
            "Hooked App",
            ["http://127.0.0.1/cb"],
            hasher=services.hasher,
            now=now,
            confidential=True,
        )
        assert secret is not None
        created = await endpoints.create_endpoint(
            conn,
            services,
            client_id=client_id,
            url="https://hooks.example.com/i18n",
            event_types=["grant.revoked"],
            now=now,
        )
        await webhook_store.insert_event(
            conn,
            event_id="evt_1",
            client_id=client_id,
            event_type="grant.revoked",
            payload="{}",
            now=now,
        )
        await webhook_store.insert_delivery(
            conn,
            delivery_id="whd_1",
            event_id="evt_1",
            endpoint_id=created.endpoint.id,
            ordering_key="k",
            now=now,
        )
    return httpx.BasicAuth(client_id, secret)


async def _requests(world: World) -> dict[str, tuple[str, dict[str, str], httpx.Auth | None]]:
    """A request of every GET route of the partner API, with its credential."""
    token = {"x-api-key": await world.mint()}
    access = {"authorization": f"Bearer {await world.access_token()}"}
    project = f"/v1/projects/{world.projects['acme/web']}"
    basic = await _webhook_client(world)
    return {
        "/me": ("/me", access, None),
        "/organizations": ("/organizations", token, None),
        "/organizations/{org_id}/projects": (
            f"/organizations/{world.orgs['acme']}/projects",
            token,
            None,
        ),
        "/organizations/{org_slug}/projects/{project_slug}/models": (
            "/organizations/acme/projects/web/models",
            token,
            None,
        ),
        "/v1/projects/{project_id}": (project, token, None),
        "/v1/projects/{project_id}/keys": (f"{project}/keys", token, None),
        "/v1/projects/{project_id}/translations/{language}": (
            f"{project}/translations/de",
            token,
            None,
        ),
        "/v1/projects/{project_id}/export": (
            f"{project}/export?language=de&format=json",
            token,
            None,
        ),
        "/v1/projects/{project_id}/glossary": (f"{project}/glossary", token, None),
        "/v1/projects/{project_id}/models/{model_slug}/entries": (
            f"{project}/models/page/entries",
            token,
            None,
        ),
        "/v1/projects/{project_id}/models/{model_slug}/entries/{entry_slug}": (
            f"{project}/models/page/entries/home",
            token,
            None,
        ),
        "/webhooks/endpoints": ("/webhooks/endpoints", {}, basic),
        "/webhooks/deliveries": ("/webhooks/deliveries", {}, basic),
    }


def _get_operations(openapi: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        path.removeprefix(PREFIX): operations["get"]
        for path, operations in openapi["paths"].items()
        if path.startswith(PREFIX + "/") and "get" in operations
    }


async def test_every_get_answers_304_to_its_own_etag(world: World) -> None:
    requests = await _requests(world)
    documented = _get_operations((await world.http.get("/openapi.json")).json())
    assert sorted(requests) == sorted(documented)  # a new GET route must be added here
    for route, (path, headers, auth) in requests.items():
        first = await world.http.get(PREFIX + path, headers=headers, auth=auth)
        assert first.status_code == 200, (route, first.text)
        etag = first.headers["etag"]
        assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2, route
        for held in (etag, f"W/{etag}", f'"stale", {etag}', "*"):
            again = await world.http.get(
                PREFIX + path, headers={**headers, "If-None-Match": held}, auth=auth
            )
            assert (again.status_code, again.content) == (304, b""), (route, held)
            assert again.headers["etag"] == etag, route
        stale = await world.http.get(
            PREFIX + path, headers={**headers, "If-None-Match": '"stale"'}, auth=auth
        )
        assert (stale.status_code, stale.content, stale.headers["etag"]) == (
            200,
            first.content,
            etag,
        ), route


async def test_a_change_changes_the_tag_and_a_refusal_has_none(world: World) -> None:
    token = await world.mint()
    url = f"{PREFIX}/v1/projects/{world.projects['acme/web']}/glossary"
    first = await world.http.get(url, headers={"x-api-key": token})
    saved = await world.http.put(
        url, json={"terms": [{"term": "Cart"}]}, headers={"x-api-key": token}
    )
    assert saved.status_code == 200
    again = await world.http.get(
        url, headers={"x-api-key": token, "If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 200
    assert [t["term"] for t in again.json()["terms"]] == ["Cart", "Workspace"]
    assert again.headers["etag"] != first.headers["etag"]
    refused = await world.http.get(url, headers={"If-None-Match": "*"})
    assert refused.status_code == 401
    assert "etag" not in refused.headers
    me = await world.http.get(f"{PREFIX}/me", headers={"If-None-Match": "*"})
    assert me.status_code == 401


async def test_the_openapi_document_describes_conditional_requests_and_paging(
    world: World,
) -> None:
    openapi = (await world.http.get("/openapi.json")).json()
    gets = _get_operations(openapi)
    for route, operation in gets.items():
        parameters = {p["name"]: p for p in operation.get("parameters", [])}
        assert parameters["If-None-Match"]["in"] == "header", route
        assert "ETag" in operation["responses"]["200"]["headers"], route
        assert "304" in operation["responses"], route
        if route in LISTS:
            limit, cursor = parameters["limit"], parameters["cursor"]
            assert (limit["in"], limit["schema"]["minimum"], limit["schema"]["maximum"]) == (
                "query",
                1,
                1000,
            ), route
            assert limit["schema"]["default"] == (100 if route == "/webhooks/deliveries" else 1000)
            assert cursor["in"] == "query", route
            reference = operation["responses"]["200"]["content"]["application/json"]["schema"]
            body = openapi["components"]["schemas"][reference["$ref"].rsplit("/", 1)[1]]
            assert set(body["properties"]) >= {LISTS[route], "next_cursor"}, route
            assert "null on the last page" in body["properties"]["next_cursor"]["description"]
        else:
            assert "cursor" not in parameters, route
    paged = [
        route
        for route, operation in gets.items()
        if "cursor" in {p["name"] for p in operation.get("parameters", [])}
    ]
    assert sorted(paged) == sorted(LISTS)
    for path, operations in openapi["paths"].items():  # writes are left alone
        for method, operation in operations.items():
            if method != "get":
                assert "304" not in operation["responses"], (method, path)
