"""The public CDN: published translations only, ETag round trips, caching headers."""

from __future__ import annotations

import pytest
from api_world import World

from i18n_connect.platform import keys, translations

URL = "/cdn/acme/web/{}.json"


async def test_drafts_never_appear_until_published(world: World) -> None:
    empty = await world.http.get(URL.format("de"))
    assert empty.status_code == 200
    assert empty.json() == {}  # the world's German text is only a draft
    assert empty.headers["Cache-Control"] == "public, max-age=60"
    assert empty.headers["Content-Type"] == "application/json"
    token = await world.mint()
    published = await world.http.post(
        f"/api/oauth-client/v1/projects/{world.projects['acme/web']}/publish",
        json={"languages": ["de"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert published.json() == {"published": 1}
    served = await world.http.get(URL.format("de"))
    assert served.json() == {"home.title": "Startseite"}
    assert served.headers["ETag"] != empty.headers["ETag"]
    redraft = await world.http.put(
        f"/api/oauth-client/v1/projects/{world.projects['acme/web']}/translations/de",
        json={"translations": {"home.title": "Entwurf"}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert redraft.status_code == 200
    still = await world.http.get(URL.format("de"))
    assert still.json() == {"home.title": "Startseite"}
    assert still.headers["ETag"] == served.headers["ETag"]


async def test_etag_round_trip_answers_304_until_the_content_changes(world: World) -> None:
    services = world.services
    project_id = world.projects["acme/web"]
    async with services.db.transaction() as conn:
        await translations.publish_translations(conn, project_id, None, services.clock.now())
    first = await world.http.get(URL.format("de"))
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        cached = await world.http.get(URL.format("de"), headers={"If-None-Match": header})
        assert (cached.status_code, cached.content) == (304, b"")
        assert cached.headers["ETag"] == etag
        assert cached.headers["Cache-Control"] == "public, max-age=60"
    stale = await world.http.get(URL.format("de"), headers={"If-None-Match": '"old"'})
    assert stale.status_code == 200
    async with services.db.transaction() as conn:
        await keys.create_keys(conn, project_id, {"new": ""}, services.clock.now())
        await translations.set_translations(
            conn, project_id, "de", {"new": "Neu"}, services.clock.now()
        )
        await translations.publish_translations(conn, project_id, ["de"], services.clock.now())
    changed = await world.http.get(URL.format("de"), headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json() == {"home.title": "Startseite", "new": "Neu"}


async def test_head_has_the_headers_without_the_body(world: World) -> None:
    got = await world.http.get(URL.format("en"))
    head = await world.http.head(URL.format("en"))
    assert head.status_code == 200
    assert head.headers["ETag"] == got.headers["ETag"]


async def test_language_codes_are_canonicalised(world: World) -> None:
    lower = await world.http.get(URL.format("DE"))
    assert lower.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/cdn/nope/web/de.json", id="unknown-organization"),
        pytest.param("/cdn/acme/nope/de.json", id="unknown-project"),
        pytest.param("/cdn/acme/web/fr.json", id="language-not-in-project"),
        pytest.param("/cdn/acme/web/not a language.json", id="malformed-language"),
        pytest.param("/cdn/globex/mobile/de.json", id="project-of-another-organization"),
    ],
)
async def test_unknown_things_are_404(world: World, path: str) -> None:
    response = await world.http.get(path)
    assert (response.status_code, response.json()["error"]) == (404, "not_found")
