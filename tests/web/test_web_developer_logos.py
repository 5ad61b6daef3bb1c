"""App logos in the developer console (issue #14): an upload or an https URL, recognised by
its bytes (PNG, JPEG, WebP; at most 256 KB), stored here and served from this origin with a
safe content type; a URL is fetched once through the metadata documents' SSRF-safe fetcher."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from console_helpers import (
    APPS,
    app_fields,
    client_id_of,
    create,
    created_page,
    org_id,
    png,
    post_form,
    published,
)
from web_helpers import Seeded, SignIn, app_services

from i18n_connect.storage import client_profiles

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mcp"))
from document_server import DocumentServer, Route, serve_documents

pytestmark = pytest.mark.anyio

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 64
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
GIF = b"GIF89a\x01\x00\x01\x00" + b"\x00" * 32


@pytest.fixture
def docs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DocumentServer]:
    with serve_documents(tmp_path) as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_file))
        yield server


async def _logo(app_client: httpx.AsyncClient, client_id: str) -> client_profiles.Logo | None:
    async with app_services(app_client).db.transaction(readonly=True) as conn:
        return await client_profiles.get_logo(conn, client_id)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [(png(), "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp")],
    ids=["png", "jpeg", "webp"],
)
async def test_an_uploaded_logo_is_served_from_this_origin_by_its_sniffed_type(
    app_client: httpx.AsyncClient, seeded: Seeded, sign_in: SignIn, data: bytes, content_type: str
) -> None:
    await sign_in()
    acme = await org_id(app_client, "acme")
    # The declared type and name say SVG; the bytes decide.
    posted = await post_form(
        app_client, APPS, app_fields(acme), logo=("logo.svg", data, "image/svg+xml")
    )
    response = await created_page(posted, app_client)
    client_id = client_id_of(response)
    stored = await _logo(app_client, client_id)
    assert stored is not None and stored.content_type == content_type and stored.image == data
    assert f'src="/app-logos/{client_id}?v={stored.digest[:16]}"' in response.text

    served = await app_client.get(f"/app-logos/{client_id}")
    assert served.status_code == 200 and served.content == data
    assert served.headers["content-type"] == content_type
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"].startswith("default-src 'none'")
    assert (await app_client.get("/app-logos/cli_unknown")).status_code == 404


@pytest.mark.parametrize(
    ("logo", "message"),
    [
        (("logo.svg", SVG, "image/svg+xml"), "The logo must be a PNG, JPEG or WebP image."),
        (("logo.gif", GIF, "image/gif"), "The logo must be a PNG, JPEG or WebP image."),
        (("logo.png", b"\x89PNG", "image/png"), "The logo must be a PNG, JPEG or WebP image."),
        (("logo.png", png(256 * 1024 + 1), "image/png"), "The logo is larger than 256 KB."),
    ],
    ids=["svg", "gif", "truncated", "too-large"],
)
async def test_a_logo_of_another_type_or_too_large_is_refused(
    app_client: httpx.AsyncClient,
    seeded: Seeded,
    sign_in: SignIn,
    logo: tuple[str, bytes, str],
    message: str,
) -> None:
    await sign_in()
    acme = await org_id(app_client, "acme")
    response = await post_form(app_client, APPS, app_fields(acme), logo=logo)
    assert response.status_code == 400
    assert f'<p class="field__error" id="logo-error">{message}</p>' in response.text
    assert await published(app_client, acme) == []


async def test_a_logo_of_exactly_256_kb_is_accepted_and_can_be_removed(
    app_client: httpx.AsyncClient, seeded: Seeded, sign_in: SignIn
) -> None:
    await sign_in()
    acme = await org_id(app_client, "acme")
    data = png(256 * 1024)
    data = data[: 256 * 1024] if len(data) > 256 * 1024 else data
    client_id = await create(app_client, acme)
    saved = await post_form(
        app_client, f"{APPS}/{client_id}/edit", app_fields(acme), logo=("l.png", data, "image/png")
    )
    assert saved.status_code == 303
    assert await _logo(app_client, client_id) is not None
    kept = await post_form(app_client, f"{APPS}/{client_id}/edit", app_fields(acme))
    assert kept.status_code == 303 and await _logo(app_client, client_id) is not None
    removed = await post_form(
        app_client, f"{APPS}/{client_id}/edit", app_fields(acme, remove_logo="yes")
    )
    assert removed.status_code == 303 and await _logo(app_client, client_id) is None


async def test_a_logo_url_is_fetched_once_and_served_from_here(
    app_client: httpx.AsyncClient,
    seeded: Seeded,
    sign_in: SignIn,
    docs: DocumentServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = app_services(app_client).settings
    monkeypatch.setattr(settings, "cimd_allow_loopback", True)
    await sign_in()
    acme = await org_id(app_client, "acme")
    data = png()
    docs.routes["/logo.png"] = Route(data, headers={"Content-Type": "text/html"})
    url = docs.url("/logo.png")
    response = await created_page(
        await post_form(app_client, APPS, app_fields(acme, logo_url=url)), app_client
    )
    client_id = client_id_of(response)
    stored = await _logo(app_client, client_id)
    assert stored is not None and (stored.content_type, stored.source_url) == ("image/png", url)
    assert url not in response.text.split("<main", 1)[1].split("Details", 1)[0]  # not hot-linked
    assert docs.hits["/logo.png"] == 1
    # Saving again with the same URL keeps the stored copy: no second fetch.
    saved = await post_form(app_client, f"{APPS}/{client_id}/edit", app_fields(acme, logo_url=url))
    assert saved.status_code == 303 and docs.hits["/logo.png"] == 1

    docs.routes["/page.html"] = Route(b"<html></html>")
    docs.routes["/moved"] = Route(b"", status=302, headers={"Location": "/logo.png"})
    docs.routes["/big.png"] = Route(png(300 * 1024))
    for path, message in [
        ("/page.html", "The logo must be a PNG, JPEG or WebP image."),
        ("/moved", "The logo URL redirects."),
        ("/missing.png", "The logo answered HTTP 404."),
        ("/big.png", "The logo is larger than 256 KB."),
    ]:
        refused = await post_form(app_client, APPS, app_fields(acme, logo_url=docs.url(path)))
        assert refused.status_code == 400, path
        assert f'<p class="field__error" id="logo-error">{message}</p>' in refused.text, path
    for url, message in [
        ("http://127.0.0.1/logo.png", "The logo URL must be an https URL with a host"),
        ("https://user@example.com/logo.png", "The logo URL must be an https URL with a host"),
    ]:
        refused = await post_form(app_client, APPS, app_fields(acme, logo_url=url))
        assert refused.status_code == 400 and message in refused.text, url


async def test_a_logo_url_on_a_private_address_is_never_fetched(
    app_client: httpx.AsyncClient, seeded: Seeded, sign_in: SignIn, docs: DocumentServer
) -> None:
    await sign_in()  # loopback is not allowed by default
    acme = await org_id(app_client, "acme")
    docs.routes["/logo.png"] = Route(png())
    refused = await post_form(app_client, APPS, app_fields(acme, logo_url=docs.url("/logo.png")))
    assert refused.status_code == 400
    assert (
        "The logo URL host resolves to a private, loopback or otherwise non-public address."
        in refused.text
    )
    assert docs.hits.get("/logo.png", 0) == 0
