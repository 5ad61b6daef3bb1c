"""Namespaces on the CDN: the manifest lists each namespace and language with its version,
versioned URLs are immutable and refuse stale versions, files come flat or nested, and
imports create keys in their namespace."""

from __future__ import annotations

from api_world import World

from i18n_connect.platform import translations


async def _import(world: World, body: bytes, namespace: str) -> dict[str, object]:
    token = await world.mint()
    response = await world.http.post(
        f"/api/oauth-client/v1/projects/{world.projects['acme/web']}/import",
        params={"language": "de", "format": "json", "namespace": namespace},
        content=body,
        headers={"x-api-key": token},
    )
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


async def _publish(world: World) -> None:
    async with world.services.db.transaction() as conn:
        await translations.publish_translations(
            conn, world.projects["acme/web"], None, world.services.clock.now()
        )


async def test_manifest_lists_namespaces_with_versions_and_files_serve_them(world: World) -> None:
    await _import(world, b'{"checkout.pay": "Zahlen", "checkout.back": "Zur\\u00fcck"}', "shop")
    await _publish(world)

    manifest = await world.http.get("/cdn/acme/web/manifest.json")
    assert manifest.status_code == 200
    document = manifest.json()
    assert document["languages"] == ["en", "de"]
    assert document["namespaces"] == ["common", "shop"]
    files = {(f["namespace"], f["language"]): f for f in document["files"]}
    assert files[("shop", "de")]["keys"] == 2
    assert files[("common", "de")]["keys"] == 1
    assert files[("shop", "en")]["keys"] == 0

    url = files[("shop", "de")]["url"]
    versioned = await world.http.get(url)
    assert versioned.status_code == 200
    assert versioned.json() == {"checkout.back": "Zurück", "checkout.pay": "Zahlen"}
    assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
    nested = await world.http.get("/cdn/acme/web/shop/de.json", params={"format": "nested"})
    assert nested.json() == {"checkout": {"back": "Zurück", "pay": "Zahlen"}}
    assert nested.headers["cache-control"] == "public, max-age=60"
    common = await world.http.get("/cdn/acme/web/common/de.json")
    assert common.json() == {"home.title": "Startseite"}
    every = await world.http.get("/cdn/acme/web/de.json")
    assert set(every.json()) == {"home.title", "checkout.pay", "checkout.back"}

    again = await world.http.get(url, headers={"If-None-Match": versioned.headers["etag"]})
    assert again.status_code == 304

    await _import(world, b'{"checkout.pay": "Jetzt zahlen"}', "shop")
    still = await world.http.get(url)
    assert still.status_code == 200  # a draft changes nothing on the CDN
    await _publish(world)
    stale = await world.http.get(url)
    assert stale.status_code == 404
    fresh = (await world.http.get("/cdn/acme/web/manifest.json")).json()
    assert fresh["files"] != document["files"]


async def test_a_key_of_another_namespace_is_skipped(world: World) -> None:
    result = await _import(world, b'{"home.title": "Neu", "shop.only": "x"}', "shop")
    assert result["created"] == ["shop.only"]
    assert result["skipped"] == [
        {"key": "home.title", "reason": "the key belongs to the namespace 'common'", "line": None}
    ]


async def test_an_unknown_project_or_language_is_404_and_drafts_never_show(world: World) -> None:
    assert (await world.http.get("/cdn/acme/nope/manifest.json")).status_code == 404
    assert (await world.http.get("/cdn/acme/web/common/fr.json")).status_code == 404
    await _import(world, b'{"draft.only": "Entwurf"}', "common")
    common = await world.http.get("/cdn/acme/web/common/de.json")
    assert common.json() == {}


async def test_keys_created_through_the_api_go_to_their_namespace(world: World) -> None:
    token = await world.mint()
    keys_url = f"/api/oauth-client/v1/projects/{world.projects['acme/web']}/keys"
    created = await world.http.post(
        keys_url,
        json={"keys": [{"name": "cart.total", "namespace": "shop"}, {"name": "nav.home"}]},
        headers={"x-api-key": token},
    )
    assert created.status_code == 201, created.text
    assert [(k["name"], k["namespace"]) for k in created.json()["keys"]] == [
        ("cart.total", "shop"),
        ("nav.home", "common"),
    ]
    listed = (await world.http.get(keys_url, headers={"x-api-key": token})).json()["keys"]
    assert {k["name"]: k["namespace"] for k in listed}["cart.total"] == "shop"
    result = await _import(world, b'{"cart.total": "Summe"}', "shop")
    assert result["skipped"] == []  # the key is the namespace's own


async def test_a_malformed_namespace_is_refused_and_nothing_is_created(world: World) -> None:
    token = await world.mint()
    keys_url = f"/api/oauth-client/v1/projects/{world.projects['acme/web']}/keys"
    refused = await world.http.post(
        keys_url,
        json={"keys": [{"name": "fine.key"}, {"name": "bad.key", "namespace": "Shop/../x"}]},
        headers={"x-api-key": token},
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_request"
    assert "the namespace 'Shop/../x' must be" in refused.json()["error_description"]
    listed = (await world.http.get(keys_url, headers={"x-api-key": token})).json()["keys"]
    assert "fine.key" not in {k["name"] for k in listed}
