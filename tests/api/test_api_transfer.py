"""Import and export of translation files over the partner API: byte-stable round trips per
format, drafts only, the scopes (keys:write only when keys would be created), malformed files
and bad texts refused whole with 422, and the size limit."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from api_world import World

from i18n_connect.formats import FORMATS
from i18n_connect.platform import keys, translations

PLURAL_EN = "{count, plural, one {# file} other {# files}}"
PLURAL_DE = "{count, plural, one {# Datei} other {# Dateien}}"


def _url(world: World, action: str, project: str = "acme/web") -> str:
    return f"/api/oauth-client/v1/projects/{world.projects[project]}/{action}"


async def _import(
    world: World, token: str, body: bytes, fmt: str = "json", **params: str
) -> httpx.Response:
    """POST a file of German texts to acme/web's import."""
    return await world.http.post(
        _url(world, "import"),
        params={"language": "de", "format": fmt, **params},
        content=body,
        headers={"x-api-key": token},
    )


async def _seed(world: World) -> None:
    """acme/web gets keys with plurals, placeholders, unicode, an empty text and comments."""
    project_id, now = world.projects["acme/web"], world.services.clock.now()
    async with world.services.db.transaction() as conn:
        await keys.create_keys(
            conn,
            project_id,
            {"checkout.pay": "The pay button", "files.count": "Files", "empty": "", "ja.挨拶": ""},
            now,
        )
        await translations.set_translations(
            conn,
            project_id,
            "en",
            {
                "checkout.pay": "Pay {amount}",
                "files.count": PLURAL_EN,
                "empty": "",
                "ja.挨拶": "Hi",
            },
            now,
        )
        await translations.set_translations(
            conn,
            project_id,
            "de",
            {
                "checkout.pay": "{amount} zahlen",
                "files.count": PLURAL_DE,
                "empty": "",
                "ja.挨拶": "Grüß dich ✓",
            },
            now,
        )


async def _texts(
    world: World, project: str, language: str
) -> dict[str, tuple[str | None, str | None]]:
    async with world.services.db.transaction(readonly=True) as conn:
        found = await translations.get_translations(conn, world.projects[project], language)
    return {t.key: (t.draft, t.published) for t in found}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
async def test_export_import_export_is_byte_stable(world: World, fmt: str) -> None:
    await _seed(world)
    token = await world.mint()
    headers = {"x-api-key": token}
    params = {"language": "de", "format": fmt}
    first = await world.http.get(_url(world, "export"), params=params, headers=headers)
    assert first.status_code == 200, first.text
    assert first.headers["etag"].startswith('"')

    imported = await world.http.post(
        _url(world, "import", "acme/mobile"), params=params, content=first.content, headers=headers
    )
    assert imported.status_code == 200, imported.text
    body = imported.json()
    assert body["skipped"] == []
    assert "files.count" in body["created"]

    again = await world.http.get(
        _url(world, "export", "acme/mobile"), params=params, headers=headers
    )
    assert again.status_code == 200
    if fmt in ("xliff", "xliff2"):  # the mobile project has no English texts to be the source
        return
    assert again.content == first.content


async def test_import_writes_drafts_only_and_reports_each_key(world: World) -> None:
    await _seed(world)
    token = await world.mint(scopes=["translations:write", "keys:write"])
    body = b'{"checkout.pay": "Jetzt {amount} zahlen", "empty": "", "new.key": "Neu", "bad": 3}'
    response = await _import(world, token, body)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "language": "de",
        "format": "json",
        "mode": "merge",
        "created": ["new.key"],
        "updated": ["checkout.pay"],
        "unchanged": ["empty"],
        "reverted": [],
        "skipped": [{"key": "bad", "reason": "the value is int, not a string", "line": None}],
    }
    texts = await _texts(world, "acme/web", "de")
    assert texts["checkout.pay"] == ("Jetzt {amount} zahlen", None)
    assert texts["new.key"] == ("Neu", None)


async def test_replace_drafts_reverts_drafts_the_file_does_not_name(world: World) -> None:
    await _seed(world)
    project_id, now = world.projects["acme/web"], world.services.clock.now()
    async with world.services.db.transaction() as conn:
        await translations.publish_translations(conn, project_id, ["de"], now)
        await translations.set_translations(conn, project_id, "de", {"empty": "jetzt da"}, now)
    token = await world.mint(scopes=["translations:write"])
    response = await _import(world, token, b'{"home.title": "Start"}', mode="replace-drafts")
    assert response.status_code == 200, response.text
    assert response.json()["reverted"] == ["empty"]
    texts = await _texts(world, "acme/web", "de")
    assert texts["empty"] == ("", "")
    assert texts["home.title"] == ("Start", "Startseite")


async def test_new_keys_need_keys_write_and_nothing_is_written(world: World) -> None:
    token = await world.mint(scopes=["translations:write"])
    response = await _import(world, token, b'{"home.title": "Neu", "other": "x"}')
    assert response.status_code == 403
    assert response.json()["error"] == "missing_scope"
    assert response.json()["required"] == "keys:write"
    assert await _texts(world, "acme/web", "de") == {"home.title": ("Startseite", None)}


async def test_without_translations_write_an_import_is_refused(world: World) -> None:
    token = await world.mint(scopes=["translations:read", "keys:write"])
    response = await _import(world, token, b'{"home.title": "Neu"}')
    assert response.status_code == 403
    assert response.json()["required"] == "translations:write"


async def test_export_needs_translations_read_and_the_project(world: World) -> None:
    token = await world.mint(scopes=["keys:read"])
    response = await world.http.get(
        _url(world, "export"), params={"language": "de"}, headers={"x-api-key": token}
    )
    assert response.status_code == 403
    assert response.json()["required"] == "translations:read"
    limited = await world.mint(
        scopes=["translations:read"], project_ids=[world.projects["acme/mobile"]]
    )
    response = await world.http.get(
        _url(world, "export"), params={"language": "de"}, headers={"x-api-key": limited}
    )
    assert response.status_code == 403
    assert response.json()["error"] == "wrong_project"
    foreign = await world.http.get(
        _url(world, "export", "globex/web"),
        params={"language": "de"},
        headers={"x-api-key": limited},
    )
    assert foreign.status_code == 403
    assert foreign.json()["error"] == "wrong_organization"


async def test_a_malformed_file_is_422_with_its_position_and_writes_nothing(world: World) -> None:
    token = await world.mint()
    response = await _import(
        world, token, b'msgid "home.title"\nmsgstr "Neu"\n\nmsgid "x"\nmsgstr "y\nbroken\n', "po"
    )
    assert response.status_code == 422
    assert response.json()["error"] == "malformed_file"
    assert response.json()["line"] == 6
    assert await _texts(world, "acme/web", "de") == {"home.title": ("Startseite", None)}


async def test_a_placeholder_mismatch_refuses_the_whole_import(world: World) -> None:
    await _seed(world)
    token = await world.mint()
    response = await _import(world, token, b'{"home.title": "Neu", "checkout.pay": "Zahlen %s"}')
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_translation"
    assert body["key"] == "checkout.pay"
    assert body["problem"] == "missing placeholder(s) {amount} of the source text"
    assert (await _texts(world, "acme/web", "de"))["home.title"] == ("Startseite", None)


async def test_broken_icu_and_wrong_plural_categories_are_422_over_rest(world: World) -> None:
    await _seed(world)
    token = await world.mint()
    url = f"/api/oauth-client/v1/projects/{world.projects['acme/web']}/translations/de"
    broken = await world.http.put(
        url,
        json={"translations": {"files.count": "{count, plural, one {# Datei} other {# Dateien}"}},
        headers={"x-api-key": token},
    )
    assert broken.status_code == 422
    assert broken.json()["key"] == "files.count"
    assert broken.json()["problem"].startswith("broken ICU MessageFormat: unclosed '{'")
    few = await world.http.put(
        url,
        json={"translations": {"files.count": "{count, plural, few {# D} other {# Dateien}}"}},
        headers={"x-api-key": token},
    )
    assert few.status_code == 422
    assert few.json()["problem"] == "the plural 'count' uses few; de has one, other"


async def test_export_answers_304_to_its_etag(world: World) -> None:
    token = await world.mint()
    first = await world.http.get(
        _url(world, "export"), params={"language": "de"}, headers={"x-api-key": token}
    )
    assert first.json() == {"home.title": "Startseite"}
    again = await world.http.get(
        _url(world, "export"),
        params={"language": "de"},
        headers={"x-api-key": token, "If-None-Match": first.headers["etag"]},
    )
    assert again.status_code == 304
    assert again.content == b""
    published = await world.http.get(
        _url(world, "export"),
        params={"language": "de", "state": "published"},
        headers={"x-api-key": token},
    )
    assert published.json() == {}


async def test_multipart_upload_and_the_import_size_limit(world: World) -> None:
    token = await world.mint()
    response = await world.http.post(
        _url(world, "import"),
        params={"language": "de", "format": "json"},
        files={"file": ("de.json", b'{"home.title": "Neu"}', "application/json")},
        headers={"x-api-key": token},
    )
    assert response.status_code == 200, response.text
    assert response.json()["updated"] == ["home.title"]
    limit = world.services.settings.max_import_bytes
    too_big = await _import(world, token, b" " * (limit + 1))
    assert too_big.status_code == 413


async def test_without_a_token_the_body_is_not_read(world: World) -> None:
    response = await world.http.post(
        _url(world, "import"), params={"language": "de", "format": "json"}, content=b"{}"
    )
    assert response.status_code == 401


async def test_xliff_export_carries_source_texts_and_filters_a_namespace(world: World) -> None:
    await _seed(world)
    token = await world.mint()
    await _import(world, token, b'{"shop.cart": "Warenkorb"}', namespace="shop")
    everything = await world.http.get(
        _url(world, "export"),
        params={"language": "de", "format": "xliff"},
        headers={"x-api-key": token},
    )
    body = everything.text
    assert '<trans-unit id="checkout.pay" resname="checkout.pay" xml:space="preserve">' in body
    assert "<source>Pay {amount}</source>" in body
    assert "<target>{amount} zahlen</target>" in body
    assert "<note>The pay button</note>" in body
    assert everything.headers["content-disposition"] == 'attachment; filename="web.de.xlf"'
    shop = await world.http.get(
        _url(world, "export"),
        params={"language": "de", "namespace": "shop"},
        headers={"x-api-key": token},
    )
    assert shop.json() == {"shop.cart": "Warenkorb"}


async def test_hostile_files_are_refused_without_expanding_them(world: World) -> None:
    token = await world.mint()
    aliases = await _import(world, token, b"de:\n  a: &x [*x]\n", "yaml")
    assert aliases.status_code == 422
    assert aliases.json()["line"] == 2
    entity = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<xliff xmlns="urn:oasis:names:tc:xliff:document:1.2" version="1.2"><file><body>'
        b'<trans-unit id="home.title"><source>s</source><target>&e;</target></trans-unit>'
        b"</body></file></xliff>"
    )
    response = await _import(world, token, entity, "xliff")
    assert response.status_code == 200, response.text
    texts = await _texts(world, "acme/web", "de")
    assert "root:" not in (texts["home.title"][0] or "")
    unknown = await _import(world, token, b"{}", "docx")
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "invalid_request"
    bad_namespace = await _import(world, token, b"{}", namespace="../x")
    assert bad_namespace.status_code == 400


async def test_too_many_entries_are_refused(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from i18n_connect.platform import transfer

    monkeypatch.setattr(transfer, "MAX_IMPORT_ENTRIES", 2)
    token = await world.mint()
    response = await _import(world, token, b'{"a": "1", "b": "2", "c": "3"}')
    assert response.status_code == 400
    assert response.json()["error_description"] == "a file may hold at most 2 entries"
    assert await _texts(world, "acme/web", "de") == {"home.title": ("Startseite", None)}


async def test_concurrent_imports_creating_one_key_create_it_once(world: World) -> None:
    token = await world.mint()
    results = await asyncio.gather(
        *(_import(world, token, b'{"race.key": "Eins"}') for _ in range(2))
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses in ([200, 200], [200, 409]), [r.text for r in results]
    created = [r.json()["created"] for r in results if r.status_code == 200]
    assert sorted(created) in ([[], ["race.key"]], [["race.key"]])
    assert (await _texts(world, "acme/web", "de"))["race.key"] == ("Eins", None)


async def test_every_partner_api_get_has_an_etag_that_answers_304(world: World) -> None:
    token = await world.mint()
    headers = {"x-api-key": token}
    for path in (
        "/api/oauth-client/organizations",  # a hot route
        _url(world, "keys"),
        _url(world, "translations/de"),
    ):
        first = await world.http.get(path, headers=headers)
        assert first.status_code == 200
        etag = first.headers["etag"]
        again = await world.http.get(path, headers={**headers, "If-None-Match": etag})
        assert again.status_code == 304, path
        assert again.content == b""
        assert again.headers["etag"] == etag
    await _import(world, token, b'{"home.title": "Neu"}')
    changed = await world.http.get(
        _url(world, "translations/de"), headers={**headers, "If-None-Match": etag}
    )
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    refused = await world.http.get(_url(world, "keys"), headers={"If-None-Match": "*"})
    assert refused.status_code == 401


async def test_keys_page_by_cursor_stably_while_keys_are_added(world: World) -> None:
    token = await world.mint()
    await _import(world, token, b'{"a.1": "x", "a.3": "x", "a.5": "x", "a.7": "x"}')
    url, headers = _url(world, "keys"), {"x-api-key": token}
    first = (await world.http.get(url, params={"limit": 2}, headers=headers)).json()
    assert [k["name"] for k in first["keys"]] == ["a.1", "a.3"]
    await _import(world, token, b'{"a.0": "x", "a.4": "x"}')  # one before, one after the page
    second = (
        await world.http.get(
            url, params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers
        )
    ).json()
    assert [k["name"] for k in second["keys"]] == ["a.4", "a.5"]
    third = (
        await world.http.get(
            url, params={"limit": 2, "cursor": second["next_cursor"]}, headers=headers
        )
    ).json()
    assert [k["name"] for k in third["keys"]] == ["a.7", "home.title"]
    assert third["next_cursor"] is None  # the last page, though full
    bad = await world.http.get(url, params={"cursor": "%%%"}, headers=headers)
    assert bad.status_code == 400
