"""The example partner app: sign-in, Connect, callback checks, Disconnect, Reconnect."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from examples.partner_app import Config
from examples.partner_app.store import Store
from fake_issuer import ISSUER, PUBLIC_URL, FakeIssuer


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match[1]


async def sign_in(partner: httpx.AsyncClient, email: str = "dev@acme.test") -> None:
    page = await partner.get("/login")
    response = await partner.post(
        "/login", data={"email": email, "password": "correct horse", "csrf": _csrf(page.text)}
    )
    assert response.status_code == 303


async def start(partner: httpx.AsyncClient) -> str:
    response = await partner.get("/connect/start")
    assert response.status_code == 303
    return response.headers["location"]


async def connect(
    partner: httpx.AsyncClient, issuer: FakeIssuer, organizations: list[str]
) -> httpx.Response:
    url = await start(partner)
    state = parse_qs(urlsplit(url).query)["state"][0]
    code = issuer.issue_code(url, organizations)
    return await partner.get(
        "/connect/callback", params={"code": code, "state": state, "iss": ISSUER}
    )


def rows(config: Config) -> list[tuple[str, str, str, str]]:
    with sqlite3.connect(config.database) as db:
        return db.execute(
            "SELECT organization_id, grant_id, refresh_token, status FROM connections ORDER BY id"
        ).fetchall()


async def test_connect_requires_a_signed_in_user(partner: httpx.AsyncClient) -> None:
    response = await partner.get("/connect/start")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/connect/start"


async def test_start_redirects_to_consent_with_state_and_s256_challenge(
    partner: httpx.AsyncClient, partner_config: Config
) -> None:
    await sign_in(partner)
    url = urlsplit(await start(partner))
    params = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{ISSUER}/api/auth/mcp/authorize"
    assert params["client_id"] == "partner-client"
    assert params["redirect_uri"] == f"{PUBLIC_URL}/connect/callback"
    assert params["code_challenge_method"] == "S256"
    assert params["scope"] == " ".join(partner_config.scopes)
    with sqlite3.connect(partner_config.database) as db:
        stored = db.execute("SELECT state, code_verifier FROM pending_authorizations").fetchall()
    assert len(stored) == 1 and stored[0][0] == params["state"]
    assert stored[0][1] not in url.geturl()  # the verifier never leaves the server


async def test_callback_stores_one_connection_per_grant_and_lists_projects(
    partner: httpx.AsyncClient, issuer: FakeIssuer, partner_config: Config
) -> None:
    await sign_in(partner)
    response = await connect(partner, issuer, ["org_a", "org_b"])
    assert response.status_code == 303 and response.headers["location"] == "/?connected=2"
    stored = rows(partner_config)
    assert [(r[0], r[3]) for r in stored] == [("org_a", "active"), ("org_b", "active")]
    assert [r[1] for r in stored] == list(issuer.grants)
    home = await partner.get(response.headers["location"])
    assert home.status_code == 200
    for text in ("Acme", "Globex", "Web shop", "Mobile app", "Docs", "Connected 2 organizations"):
        assert text in home.text
    assert "Reconnect" not in home.text


async def test_installation_tokens_are_minted_once_per_grant_across_page_loads(
    partner: httpx.AsyncClient, issuer: FakeIssuer
) -> None:
    await sign_in(partner)
    await connect(partner, issuer, ["org_a", "org_b"])
    for _ in range(3):
        assert (await partner.get("/")).status_code == 200
    mints = [c for c in issuer.calls if c.endswith("/tokens")]
    assert len(mints) == 2
    assert issuer.calls.count("POST /api/auth/mcp/token") == 1  # the exchange's access token


async def test_reconnecting_an_organization_updates_its_row_in_place(
    partner: httpx.AsyncClient, issuer: FakeIssuer, partner_config: Config
) -> None:
    await sign_in(partner)
    await connect(partner, issuer, ["org_a"])
    first = rows(partner_config)
    await connect(partner, issuer, ["org_a", "org_b"])
    second = rows(partner_config)
    assert [r[0] for r in second] == ["org_a", "org_b"]
    assert second[0][1] != first[0][1]  # the new grant replaced the old one


@pytest.mark.parametrize(
    "params",
    [
        {"code": "code_x", "state": "forged", "iss": ISSUER},
        {"code": "code_x", "iss": ISSUER},
    ],
    ids=["unknown-state", "no-state"],
)
async def test_callback_with_unknown_state_is_rejected(
    partner: httpx.AsyncClient, issuer: FakeIssuer, partner_config: Config, params: dict[str, str]
) -> None:
    await sign_in(partner)
    await start(partner)
    response = await partner.get("/connect/callback", params=params)
    assert response.status_code == 400
    assert "unknown, expired or not yours" in response.text
    assert rows(partner_config) == []
    assert "POST /api/auth/mcp/token" not in issuer.calls


async def test_callback_from_a_mixed_up_issuer_is_rejected_before_exchange(
    partner: httpx.AsyncClient, issuer: FakeIssuer, partner_config: Config
) -> None:
    await sign_in(partner)
    url = await start(partner)
    state = parse_qs(urlsplit(url).query)["state"][0]
    code = issuer.issue_code(url, ["org_a"])
    response = await partner.get(
        "/connect/callback", params={"code": code, "state": state, "iss": "http://evil.test"}
    )
    assert response.status_code == 400 and "Rejected callback" in response.text
    assert "POST /api/auth/mcp/token" not in issuer.calls
    assert rows(partner_config) == []


async def test_callback_state_is_single_use(
    partner: httpx.AsyncClient, issuer: FakeIssuer, partner_config: Config
) -> None:
    await sign_in(partner)
    url = await start(partner)
    state = parse_qs(urlsplit(url).query)["state"][0]
    code = issuer.issue_code(url, ["org_a"])
    query = {"code": code, "state": state, "iss": ISSUER}
    assert (await partner.get("/connect/callback", params=query)).status_code == 303
    replay = await partner.get("/connect/callback", params=query)
    assert replay.status_code == 400
    assert len(rows(partner_config)) == 1


async def test_callback_of_another_partner_user_is_rejected(
    partner: httpx.AsyncClient, issuer: FakeIssuer, partner_config: Config
) -> None:
    await sign_in(partner, "alice@acme.test")
    url = await start(partner)
    state = parse_qs(urlsplit(url).query)["state"][0]
    code = issuer.issue_code(url, ["org_a"])
    partner.cookies.clear()
    await sign_in(partner, "mallory@acme.test")
    response = await partner.get(
        "/connect/callback", params={"code": code, "state": state, "iss": ISSUER}
    )
    assert response.status_code == 400
    assert rows(partner_config) == []


def test_pending_authorization_expires_after_ten_minutes(partner_config: Config) -> None:
    from examples.partner_app.store import Pending

    store = Store(partner_config.database)
    user = store.sign_in("dev@acme.test", "correct horse")
    assert user is not None
    created = datetime.now(UTC)
    for state in ("s1", "s2"):
        store.save_pending(Pending(state, user, "v", "http://cb", ("org:read",), created))
    assert store.take_pending("s1", user, created + timedelta(minutes=9, seconds=59)) is not None
    assert store.take_pending("s2", user, created + timedelta(minutes=10, seconds=1)) is None


async def test_denied_consent_shows_cancelled_and_stores_nothing(
    partner: httpx.AsyncClient, issuer: FakeIssuer, partner_config: Config
) -> None:
    await sign_in(partner)
    url = await start(partner)
    state = parse_qs(urlsplit(url).query)["state"][0]
    response = await partner.get(
        "/connect/callback?" + urlencode({"error": "access_denied", "state": state, "iss": ISSUER})
    )
    assert response.status_code == 400 and "You cancelled the connection." in response.text
    assert rows(partner_config) == []


async def test_revoked_grant_shows_reconnect_and_the_other_keeps_working(
    partner: httpx.AsyncClient, issuer: FakeIssuer, partner_config: Config
) -> None:
    await sign_in(partner)
    await connect(partner, issuer, ["org_a", "org_b"])
    assert (await partner.get("/")).status_code == 200  # tokens minted and cached
    grant_a = rows(partner_config)[0][1]
    issuer.revoke(grant_a)
    home = await partner.get("/")
    assert home.text.count("Reconnect") == 1
    assert "Access was revoked on the platform." in home.text
    assert "Mobile app" in home.text and "Web shop" not in home.text
    assert "<h3>Acme</h3>" in home.text  # the name kept from /me at connect time
    assert [r[3] for r in rows(partner_config)] == ["reconnect", "active"]
    assert 'href="/connect/start?organization=org_a">Reconnect</a>' in home.text


@pytest.mark.parametrize(
    ("organization", "hint"),
    [("org_a", "org_a"), ("", None), ("x" * 65, None)],
    ids=["hinted", "empty", "too-long"],
)
async def test_reconnect_asks_consent_to_preselect_its_organization(
    partner: httpx.AsyncClient, organization: str, hint: str | None
) -> None:
    await sign_in(partner)
    response = await partner.get("/connect/start", params={"organization": organization})
    assert response.status_code == 303
    params = parse_qs(urlsplit(response.headers["location"]).query)
    assert params.get("organization_hint") == ([hint] if hint else None)


async def test_refused_refresh_shows_reconnect_and_keeps_the_rotated_token(
    partner: httpx.AsyncClient, issuer: FakeIssuer, partner_config: Config
) -> None:
    await sign_in(partner)
    await connect(partner, issuer, ["org_a"])
    tokens = partner.app.state.tokens  # type: ignore[attr-defined]
    tokens._access.clear()  # the access token has expired: the next mint must refresh
    tokens.installations.invalidate(rows(partner_config)[0][1], "org_a")
    before = rows(partner_config)[0][2]
    assert (await partner.get("/")).status_code == 200
    after = rows(partner_config)[0]
    assert after[2] != before and after[2] in issuer.refresh_tokens  # rotated and persisted
    # The platform forgets the refresh token (e.g. 30 days unused): refresh is refused.
    issuer.refresh_tokens.clear()
    tokens._access.clear()
    tokens.installations.invalidate(after[1], "org_a")
    home = await partner.get("/")
    assert "Reconnect" in home.text and "Refresh refused" in home.text
    assert rows(partner_config)[0][3] == "reconnect"


async def test_disconnect_revokes_the_grant_and_removes_the_connection(
    partner: httpx.AsyncClient, issuer: FakeIssuer, partner_config: Config
) -> None:
    await sign_in(partner)
    await connect(partner, issuer, ["org_a", "org_b"])
    home = await partner.get("/")
    grant_a = rows(partner_config)[0][1]
    assert "<summary" in home.text and "Disconnect Acme" in home.text  # behind a confirmation
    response = await partner.post("/connections/1/disconnect", data={"csrf": _csrf(home.text)})
    assert response.status_code == 303
    assert issuer.grants[grant_a].revoked is True
    assert [r[0] for r in rows(partner_config)] == ["org_b"]
    after = await partner.get(response.headers["location"])
    assert "Disconnected Acme." in after.text
    assert "Disconnected" not in (await partner.get("/")).text  # said once


async def test_disconnect_without_csrf_changes_nothing(
    partner: httpx.AsyncClient, issuer: FakeIssuer, partner_config: Config
) -> None:
    await sign_in(partner)
    await connect(partner, issuer, ["org_a"])
    response = await partner.post("/connections/1/disconnect", data={"csrf": "forged"})
    assert response.status_code == 400
    assert len(rows(partner_config)) == 1
    assert not any(g.revoked for g in issuer.grants.values())


async def test_disconnect_of_another_users_connection_is_not_found(
    partner: httpx.AsyncClient, issuer: FakeIssuer, partner_config: Config
) -> None:
    await sign_in(partner, "alice@acme.test")
    await connect(partner, issuer, ["org_a"])
    partner.cookies.clear()
    await sign_in(partner, "mallory@acme.test")
    home = await partner.get("/")
    response = await partner.post("/connections/1/disconnect", data={"csrf": _csrf(home.text)})
    assert response.status_code == 404
    assert len(rows(partner_config)) == 1
    assert not any(g.revoked for g in issuer.grants.values())


async def test_disconnect_of_an_already_revoked_grant_still_removes_it(
    partner: httpx.AsyncClient, issuer: FakeIssuer, partner_config: Config
) -> None:
    await sign_in(partner)
    await connect(partner, issuer, ["org_a"])
    issuer.revoke(rows(partner_config)[0][1])
    home = await partner.get("/")
    assert "Reconnect" in home.text
    response = await partner.post("/connections/1/disconnect", data={"csrf": _csrf(home.text)})
    assert response.status_code == 303
    assert rows(partner_config) == []


async def test_wrong_password_does_not_sign_in(partner: httpx.AsyncClient) -> None:
    await sign_in(partner, "dev@acme.test")
    partner.cookies.clear()
    page = await partner.get("/login")
    response = await partner.post(
        "/login",
        data={"email": "dev@acme.test", "password": "wrong password", "csrf": _csrf(page.text)},
    )
    assert response.status_code == 400 and "Wrong password." in response.text
    assert (await partner.get("/")).status_code == 303


def test_config_requires_a_client_id_and_reads_the_environment() -> None:
    with pytest.raises(SystemExit):
        Config.from_env({})
    config = Config.from_env(
        {
            "PARTNER_CLIENT_ID": "cid",
            "PARTNER_ISSUER": "http://127.0.0.1:9000/",
            "PARTNER_PUBLIC_URL": "http://127.0.0.1:9001",
        }
    )
    assert (config.issuer, config.redirect_uri, config.port) == (
        "http://127.0.0.1:9000",
        "http://127.0.0.1:9001/connect/callback",
        9001,
    )


async def test_callback_without_a_signed_in_user_is_refused_in_place(
    partner: httpx.AsyncClient, issuer: FakeIssuer, partner_config: Config
) -> None:
    response = await partner.get(
        "/connect/callback", params={"code": "code_1", "state": "s", "iss": ISSUER}
    )
    assert response.status_code == 400
    assert "Sign in to this app, then connect again." in response.text
    assert rows(partner_config) == [] and issuer.calls == []


@pytest.mark.parametrize("target", ["//evil.test/", "/\\evil.test/", "https://evil.test/"])
async def test_sign_in_never_redirects_off_site(partner: httpx.AsyncClient, target: str) -> None:
    page = await partner.get("/login", params={"next": target})
    response = await partner.post(
        "/login",
        params={"next": target},
        data={"email": "dev@acme.test", "password": "correct horse", "csrf": _csrf(page.text)},
    )
    assert response.status_code == 303 and response.headers["location"] == "/"
