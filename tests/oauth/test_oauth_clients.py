"""Clients: the redirect URI policy, redirect URI matching, and registration records."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from i18n_connect.errors import InvalidClientMetadata, InvalidRedirectUri, InvalidScope
from i18n_connect.oauth.clients import (
    create_client,
    get_client,
    redirect_uri_matches,
    validate_client_name,
    validate_redirect_uri,
)
from i18n_connect.services import Services
from i18n_connect.storage.oauth_tables import oauth_clients

ACCEPTED = {
    "https with path": "https://app.example.com/cb",
    "https with port and query": "https://app.example.com:8443/cb?tenant=7",
    "https with percent-encoding": "https://app.example.com/c%20b",
    "http on 127.0.0.1": "http://127.0.0.1/callback",
    "http on 127.0.0.1 with port": "http://127.0.0.1:8080/callback",
    "http on [::1]": "http://[::1]:9000/cb",
    "http on localhost": "http://localhost:3000/cb",
    "private-use scheme with authority": "cursor://anysphere.cursor-retrieval/oauth/callback",
    "reverse-domain private-use scheme": "com.example.app:/oauth2redirect",
    "short custom scheme": "vscode://publisher.extension/cb",
}

REFUSED = {
    "javascript": "javascript:alert(1)",
    "JavaScript in mixed case": "JaVaScRiPt:alert(1)",
    "data": "data:text/html,<script>alert(1)</script>",
    "file": "file:///etc/passwd",
    "vbscript": "vbscript:msgbox(1)",
    "fragment": "https://app.example.com/cb#frag",
    "empty fragment": "https://app.example.com/cb#",
    "wildcard host": "https://*.example.com/cb",
    "wildcard path": "https://app.example.com/*",
    "userinfo": "https://user@app.example.com/cb",
    "userinfo hiding the host": "https://app.example.com@evil.example/cb",
    "http on a public host": "http://app.example.com/cb",
    "look-alike loopback host": "http://127.0.0.1.evil.com/cb",
    "look-alike localhost": "http://localhost.evil.com/cb",
    "shortened loopback": "http://127.1/cb",
    "loopback userinfo trick": "http://127.0.0.1:80@evil.com/cb",
    "leading space": " https://app.example.com/cb",
    "embedded newline": "https://app.example.com/c\nb",
    "embedded CR LF": "https://app.example.com/cb\r\nSet-Cookie: x=1",
    "tab": "https://app.example.com/\tcb",
    "NUL": "https://app.example.com/cb\x00",
    "non-ASCII host": "https://\u0430pp.example.com/cb",
    "backslash": "https://app.example.com\\@evil.example/cb",
    "dot-dot segment": "https://app.example.com/a/../cb",
    "dot segment": "https://app.example.com/./cb",
    "relative": "/cb",
    "no scheme": "app.example.com/cb",
    "https without host": "https:/cb",
    "https with empty host": "https:///cb",
    "upper-case scheme": "HTTPS://app.example.com/cb",
    "bad port": "https://app.example.com:99999/cb",
    "non-numeric port": "https://app.example.com:http/cb",
    "single-letter scheme": "c:/windows/cb",
    "empty": "",
    "too long": "https://app.example.com/" + "a" * 2000,
}


@pytest.mark.parametrize("uri", list(ACCEPTED.values()), ids=list(ACCEPTED))
def test_acceptable_redirect_uri_is_returned_unchanged(uri: str) -> None:
    assert validate_redirect_uri(uri) == uri


@pytest.mark.parametrize("uri", list(REFUSED.values()), ids=list(REFUSED))
def test_dangerous_or_malformed_redirect_uri_is_refused(uri: str) -> None:
    with pytest.raises(InvalidRedirectUri):
        validate_redirect_uri(uri)


REGISTERED = (
    "https://app.example.com/cb",
    "http://127.0.0.1/cb",
    "http://[::1]:8080/cb",
    "http://localhost/cb?x=1",
    "cursor://anysphere.cursor-retrieval/oauth/callback",
)

MATCHES = {
    "exact https": ("https://app.example.com/cb", True),
    "exact private-use": ("cursor://anysphere.cursor-retrieval/oauth/callback", True),
    "loopback on another port": ("http://127.0.0.1:51004/cb", True),
    "loopback without port": ("http://127.0.0.1/cb", True),
    "[::1] on another port": ("http://[::1]:1/cb", True),
    "localhost with the same query": ("http://localhost:4000/cb?x=1", True),
    "https trailing slash": ("https://app.example.com/cb/", False),
    "https upper-case host": ("https://APP.example.com/cb", False),
    "https with a port": ("https://app.example.com:443/cb", False),
    "https added query": ("https://app.example.com/cb?a=1", False),
    "https percent-encoded path": ("https://app.example.com/%63b", False),
    "https dot-dot path": ("https://app.example.com/x/../cb", False),
    "http instead of https": ("http://app.example.com/cb", False),
    "loopback other path": ("http://127.0.0.1:5000/cb2", False),
    "loopback trailing slash": ("http://127.0.0.1:5000/cb/", False),
    "loopback reordered query": ("http://localhost:4000/cb?x=1&y=2", False),
    "loopback other host": ("http://localhost:5000/cb", False),
    "loopback look-alike host": ("http://127.0.0.1.evil.com:5000/cb", False),
    "loopback userinfo": ("http://127.0.0.1:5000@evil.com/cb", False),
    "loopback with fragment": ("http://127.0.0.1:5000/cb#x", False),
    "loopback port zero": ("http://127.0.0.1:0/cb", False),
    "loopback port too large": ("http://127.0.0.1:65536/cb", False),
    "loopback empty port": ("http://127.0.0.1:/cb", False),
    "loopback https": ("https://127.0.0.1:5000/cb", False),
    "loopback upper-case scheme": ("HTTP://127.0.0.1:5000/cb", False),
    "private-use trailing slash": ("cursor://anysphere.cursor-retrieval/oauth/callback/", False),
}


@pytest.mark.parametrize(("presented", "expected"), list(MATCHES.values()), ids=list(MATCHES))
def test_redirect_uri_matching_is_exact_except_the_loopback_port(
    presented: str, expected: bool
) -> None:
    assert redirect_uri_matches(REGISTERED, presented) is expected


async def test_confidential_client_secret_is_shown_once_and_stored_hashed(
    services: Services,
) -> None:
    now = services.clock.now()
    async with services.db.transaction() as conn:
        client, secret = await create_client(
            conn,
            name="  Site builder ",
            redirect_uris=["https://app.example.com/cb", "https://app.example.com/cb"],
            confidential=True,
            now=now,
            hasher=services.hasher,
            scope="keys:read org:read offline_access",
        )
    assert secret is not None and secret.startswith("cs_")
    assert client.id.startswith("cli_") and client.is_confidential
    async with services.db.transaction(readonly=True) as conn:
        loaded = await get_client(conn, client.id)
        stored_hash = await conn.scalar(
            sa.select(oauth_clients.c.secret_hash).where(oauth_clients.c.id == client.id)
        )
    assert loaded == client
    assert loaded.name == "Site builder"
    assert loaded.redirect_uris == ("https://app.example.com/cb",)
    assert loaded.token_endpoint_auth_method == "client_secret_basic"
    assert loaded.scope == "org:read keys:read"
    assert stored_hash == services.hasher.hash(secret) and secret not in repr(loaded)


async def test_public_client_has_no_secret(services: Services) -> None:
    async with services.db.transaction() as conn:
        client, secret = await create_client(
            conn,
            name="CLI",
            redirect_uris=["http://127.0.0.1/cb"],
            confidential=False,
            now=services.clock.now(),
            hasher=services.hasher,
            client_id="cli_fixed",
        )
    assert secret is None and client.id == "cli_fixed"
    assert client.token_endpoint_auth_method == "none" and not client.is_confidential


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        pytest.param({"name": " "}, InvalidClientMetadata, id="blank name"),
        pytest.param({"redirect_uris": []}, InvalidRedirectUri, id="no redirect URI"),
        pytest.param(
            {"redirect_uris": ["https://ok.example/cb", "javascript:x"]},
            InvalidRedirectUri,
            id="one bad redirect URI",
        ),
        pytest.param(
            {"token_endpoint_auth_method": "none", "confidential": True},
            InvalidClientMetadata,
            id="confidential client with method none",
        ),
        pytest.param(
            {"token_endpoint_auth_method": "private_key_jwt"},
            InvalidClientMetadata,
            id="unsupported method",
        ),
        pytest.param({"scope": "admin:all"}, InvalidScope, id="unknown scope"),
    ],
)
async def test_bad_client_registration_creates_nothing(
    services: Services, arguments: dict[str, object], error: type[Exception]
) -> None:
    values: dict[str, object] = {
        "name": "App",
        "redirect_uris": ["https://app.example.com/cb"],
        "confidential": False,
        **arguments,
    }
    async with services.db.transaction() as conn:
        with pytest.raises(error):
            await create_client(
                conn,
                now=services.clock.now(),
                hasher=services.hasher,
                **values,  # type: ignore[arg-type]
            )
    async with services.db.transaction(readonly=True) as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(oauth_clients)) == 0


async def test_unknown_or_oversized_client_id_is_none(services: Services) -> None:
    async with services.db.transaction(readonly=True) as conn:
        assert await get_client(conn, "cli_missing") is None
        assert await get_client(conn, "x" * 600) is None
        assert await get_client(conn, "") is None


DISGUISING_CHARACTERS = [
    *(chr(code) for code in range(0x202A, 0x202F)),  # embeddings and overrides
    *(chr(code) for code in range(0x2066, 0x206A)),  # isolates
    "\u200e",  # left-to-right mark
    "\u200f",  # right-to-left mark
    "\u061c",  # Arabic letter mark
    "\x00",
    "\t",
    "\n",
    "\x1b",
    "\x7f",
    "\x85",  # C1 next line
    "\u2028",  # line separator
    "\u2029",  # paragraph separator
    "\u200b",  # zero-width space
    "\ufeff",  # byte order mark
    "\ud800",  # a lone surrogate (JSON can carry one)
]


@pytest.mark.parametrize(
    "char", DISGUISING_CHARACTERS, ids=[f"U+{ord(char):04X}" for char in DISGUISING_CHARACTERS]
)
def test_client_names_with_control_or_bidi_characters_are_refused(char: str) -> None:
    with pytest.raises(InvalidClientMetadata) as raised:
        validate_client_name(f"Acme{char}ppa.exe")
    assert raised.value.description == (
        "The client name may not contain control or bidirectional formatting characters "
        f"(U+{ord(char):04X})."
    )


@pytest.mark.parametrize(
    "name",
    ["Café Translate", "مترجم", "می\u200cخواهم", "\U0001f469\u200d\U0001f4bb Dev", "漢字 app"],  # noqa: RUF001
    ids=["accents", "arabic", "persian-zwnj", "emoji-zwj", "cjk"],
)
def test_client_names_in_any_script_are_kept(name: str) -> None:
    assert validate_client_name(f"  {name} ") == name


async def test_create_client_refuses_a_right_to_left_override_and_stores_nothing(
    services: Services,
) -> None:
    async with services.db.transaction() as conn:
        with pytest.raises(InvalidClientMetadata, match="U\\+202E"):
            await create_client(
                conn,
                name="Trusted \u202eexe.ppA",
                redirect_uris=["https://app.example.com/cb"],
                confidential=False,
                now=datetime(2026, 1, 1, tzinfo=UTC),
                hasher=services.hasher,
            )
    async with services.db.transaction(readonly=True) as conn:
        assert (await conn.scalar(sa.select(sa.func.count()).select_from(oauth_clients))) == 0
