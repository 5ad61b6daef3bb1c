"""Cursor pagination of every list of the partner API: ``limit``, an opaque ``cursor`` and
``next_cursor`` (null on the last page); pages stay exact while items are added between them;
a changed, foreign or malformed cursor and a bad limit are refused with 400."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from api_world import FIELDS, World

from i18n_connect.api.cursors import MAX_LIMIT
from i18n_connect.platform import content, glossary, keys, projects, translations

MALFORMED = "cursor: not a cursor this API returned; start again without cursor."
FOREIGN = (
    "cursor: changed, or the next_cursor of another list; pass the next_cursor of this "
    "list unchanged, or start again without cursor."
)


def _project_url(world: World, action: str, project: str = "acme/web") -> str:
    return f"/api/oauth-client/v1/projects/{world.projects[project]}/{action}"


Insert = Callable[[World, str], Awaitable[None]]


@dataclass(frozen=True)
class Listing:
    """One list route: where it is, which field holds its items, each item's sort name, and
    how to add an item with a given name (between pages)."""

    url: Callable[[World], str]
    field: str
    name: Callable[[dict[str, Any]], str]
    insert: Insert
    existing: tuple[str, ...]  # the world's items, in order
    before: str  # sorts before every item of the world: never on a later page


async def _key(world: World, name: str) -> None:
    async with world.services.db.transaction() as conn:
        await keys.create_keys(
            conn, world.projects["acme/web"], {name: ""}, world.services.clock.now()
        )


async def _translation(world: World, name: str) -> None:
    project_id, now = world.projects["acme/web"], world.services.clock.now()
    async with world.services.db.transaction() as conn:
        await keys.create_keys(conn, project_id, {name: ""}, now)
        await translations.set_translations(conn, project_id, "de", {name: "Text"}, now)


async def _term(world: World, name: str) -> None:
    async with world.services.db.transaction() as conn:
        await glossary.save_terms(
            conn, world.projects["acme/web"], [glossary.TermInput(name)], world.services.clock.now()
        )


async def _entry(world: World, name: str) -> None:
    async with world.services.db.transaction() as conn:
        await content.save_entry(
            conn,
            world.projects["acme/web"],
            "page",
            name,
            {"title": {"en": name}},
            world.services.clock.now(),
        )


async def _model(world: World, name: str) -> None:
    async with world.services.db.transaction() as conn:
        await content.create_model(
            conn,
            world.projects["acme/web"],
            slug=name,
            name=name,
            fields=FIELDS,
            now=world.services.clock.now(),
        )


async def _project(world: World, name: str) -> None:
    async with world.services.db.transaction() as conn:
        await projects.create_project(
            conn,
            organization_id=world.orgs["acme"],
            name=name,
            slug=name.lower(),
            source_language="en",
            now=world.services.clock.now(),
        )


LISTINGS = {
    "keys": Listing(
        lambda w: _project_url(w, "keys"), "keys", lambda i: i["name"], _key, ("home.title",), "a-0"
    ),
    "translations": Listing(
        lambda w: _project_url(w, "translations/de"),
        "translations",
        lambda i: i["key"],
        _translation,
        ("home.title",),
        "a-0",
    ),
    "glossary": Listing(
        lambda w: _project_url(w, "glossary"),
        "terms",
        lambda i: i["term"],
        _term,
        ("Workspace",),
        "A-0",
    ),
    "entries": Listing(
        lambda w: _project_url(w, "models/page/entries"),
        "entries",
        lambda i: i["slug"],
        _entry,
        ("home",),
        "a-0",
    ),
    "models": Listing(
        lambda w: "/api/oauth-client/organizations/acme/projects/web/models",
        "models",
        lambda i: i["slug"],
        _model,
        ("page",),
        "a-0",
    ),
    "projects": Listing(
        lambda w: f"/api/oauth-client/organizations/{w.orgs['acme']}/projects",
        "projects",
        lambda i: i["name"],
        _project,
        ("Mobile", "Web"),
        "A-0",
    ),
}


async def _page(world: World, token: str, url: str, **params: Any) -> dict[str, Any]:
    response = await world.http.get(url, params=params, headers={"x-api-key": token})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("listing", LISTINGS.values(), ids=LISTINGS.keys())
async def test_pages_skip_and_repeat_nothing_while_items_are_added(
    world: World, listing: Listing
) -> None:
    token = await world.mint()
    for name in ("z-1", "z-3", "z-5", "z-7"):
        await listing.insert(world, name)
    url = listing.url(world)
    pages: list[list[str]] = []
    cursors: list[str | None] = []
    body = await _page(world, token, url, limit=2)
    while True:
        pages.append([listing.name(item) for item in body[listing.field]])
        cursors.append(body["next_cursor"])
        if len(pages) == 1:  # between the first and the second page: one before, one after
            await listing.insert(world, listing.before)
            await listing.insert(world, "z-4")
        if body["next_cursor"] is None:
            break
        body = await _page(world, token, url, limit=2, cursor=body["next_cursor"])
    collected = [name for page in pages for name in page]
    assert collected == [*listing.existing, "z-1", "z-3", "z-4", "z-5", "z-7"]
    assert [len(page) for page in pages] == [2] * (len(collected) // 2) + [1] * (len(collected) % 2)
    assert cursors[-1] is None and all(isinstance(c, str) for c in cursors[:-1])
    # from the start again, without a cursor: everything, the early insert first
    everything = await _page(world, token, url)
    assert [listing.name(i) for i in everything[listing.field]] == [
        listing.before,
        *collected,
    ]
    assert everything["next_cursor"] is None


async def test_a_full_last_page_has_no_next_cursor(world: World) -> None:
    """``limit + 1`` items are read: a page that ends the list exactly says so."""
    token = await world.mint()
    await _key(world, "z-1")
    url = _project_url(world, "keys")
    first = await _page(world, token, url, limit=1)
    assert [k["name"] for k in first["keys"]] == ["home.title"]
    second = await _page(world, token, url, limit=1, cursor=first["next_cursor"])
    assert ([k["name"] for k in second["keys"]], second["next_cursor"]) == (["z-1"], None)
    whole = await _page(world, token, url, limit=2)
    assert (len(whole["keys"]), whole["next_cursor"]) == (2, None)


async def test_the_organizations_list_is_one_page_of_one(world: World) -> None:
    token = await world.mint()
    url = "/api/oauth-client/organizations"
    body = await _page(world, token, url, limit=1)
    assert body == {
        "organizations": [{"id": world.orgs["acme"], "slug": "acme", "name": "Acme"}],
        "next_cursor": None,
    }
    assert (await world.http.get(url, headers={"x-api-key": token})).json() == body


async def test_a_project_limited_token_pages_through_its_projects_only(world: World) -> None:
    token = await world.mint(project_ids=[world.projects["acme/web"]])
    for name in ("Alpha", "Beta", "Gamma"):
        await _project(world, name)
    url = f"/api/oauth-client/organizations/{world.orgs['acme']}/projects"
    body = await _page(world, token, url, limit=1)
    assert ([p["slug"] for p in body["projects"]], body["next_cursor"]) == (["web"], None)
    everyone = await world.mint()
    names: list[str] = []
    body = await _page(world, everyone, url, limit=2)
    while True:
        names += [p["name"] for p in body["projects"]]
        if body["next_cursor"] is None:
            break
        body = await _page(world, everyone, url, limit=2, cursor=body["next_cursor"])
    assert names == ["Alpha", "Beta", "Gamma", "Mobile", "Web"]


def _tamper(cursor: str, position: list[Any]) -> str:
    """The cursor with another position and the old MAC."""
    _payload, _, mac = cursor.partition(".")
    encoded = base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")
    return f"{encoded}.{mac}"


async def test_changed_foreign_and_malformed_cursors_are_refused(world: World) -> None:
    token = await world.mint()
    for name in ("z-1", "z-2"):
        await _key(world, name)
        await _term(world, name)
    headers = {"x-api-key": token}
    keys_url, mobile_keys = _project_url(world, "keys"), _project_url(world, "keys", "acme/mobile")
    key_cursor = (await _page(world, token, keys_url, limit=1))["next_cursor"]
    term_cursor = (await _page(world, token, _project_url(world, "glossary"), limit=1))[
        "next_cursor"
    ]
    cases = [
        (keys_url, "%%%", MALFORMED),
        (keys_url, "eyJ9", MALFORMED),  # no MAC
        (keys_url, key_cursor + "A", MALFORMED),  # a MAC of the wrong length
        (keys_url, _tamper(key_cursor, ["z-1"]), FOREIGN),  # another position, the old MAC
        (keys_url, term_cursor, FOREIGN),  # the glossary's cursor
        (mobile_keys, key_cursor, FOREIGN),  # another project's cursor
        (keys_url, "a" * 4097, "query.cursor: String should have at most 4096 characters"),
        (keys_url, "", "query.cursor: String should have at least 1 character"),
    ]
    for url, cursor, description in cases:
        refused = await world.http.get(url, params={"cursor": cursor}, headers=headers)
        assert (refused.status_code, refused.json()) == (
            400,
            {"error": "invalid_request", "error_description": description},
        ), cursor
    # the untouched cursor still works
    assert [
        k["name"] for k in (await _page(world, token, keys_url, cursor=key_cursor))["keys"]
    ] == [
        "z-1",
        "z-2",
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # validation only
@pytest.mark.parametrize("listing", LISTINGS.values(), ids=LISTINGS.keys())
async def test_a_limit_outside_one_to_the_maximum_is_refused(
    world: World, listing: Listing
) -> None:
    token = await world.mint()
    for limit, description in (
        ("0", "query.limit: Input should be greater than or equal to 1"),
        (str(MAX_LIMIT + 1), f"query.limit: Input should be less than or equal to {MAX_LIMIT}"),
        (
            "ten",
            "query.limit: Input should be a valid integer, unable to parse string as an integer",
        ),
    ):
        refused = await world.http.get(
            listing.url(world), params={"limit": limit}, headers={"x-api-key": token}
        )
        assert (refused.status_code, refused.json()) == (
            400,
            {"error": "invalid_request", "error_description": description},
        )
    answered = await _page(world, token, listing.url(world), limit=MAX_LIMIT)
    assert answered["next_cursor"] is None
