"""The consent screen and its answer (SPEC §3 "Consent screen"): what the page shows, login
resume, session binding, tampered and replayed submissions, approval and denial."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from authorize_flow import (
    PASSWORD,
    REDIRECT,
    REDIRECT_WITH_QUERY,
    VERIFIER,
    World,
    button_disabled,
    checkboxes,
    csrf_from,
    make_world,
    query_of,
    services_of,
    sign_in_browser,
    start_authorization,
    stored_state,
)
from sqlalchemy import select

from i18n_connect import grants
from i18n_connect.clock import FrozenClock
from i18n_connect.oauth.codes import find_code
from i18n_connect.oauth.pkce import verifier_matches
from i18n_connect.storage.oauth_tables import authorization_requests
from i18n_connect.storage.tables import audit_events
from i18n_connect.web.sessions import COOKIE_NAME

ISSUER = "http://testserver"
SCOPE = "org:read keys:read translations:publish"  # the default request of authorize_params


@pytest.fixture
async def world(app_client: httpx.AsyncClient) -> World:
    return await make_world(services_of(app_client))


async def open_consent(client: httpx.AsyncClient, request_id: str) -> tuple[httpx.Response, str]:
    page = await client.get("/api/auth/mcp/consent", params={"request_id": request_id})
    assert page.status_code == 200, page.text
    return page, csrf_from(page.text)


async def signed_in_request(
    client: httpx.AsyncClient, world: World, user: str | None = None, **overrides: str
) -> tuple[str, str]:
    """Sign in (Alice by default), start a request; its id and the page's CSRF token."""
    await sign_in_browser(client, user or world.alice)
    request_id = await start_authorization(client, world.client_id, **overrides)
    _, csrf = await open_consent(client, request_id)
    return request_id, csrf


def answer(
    request_id: str,
    csrf: str | None,
    *,
    action: str = "authorize",
    organizations: Sequence[str] = (),
    scopes: Sequence[str] = ("org:read", "keys:read"),
) -> list[tuple[str, str]]:
    form = [("request_id", request_id), ("action", action)]
    if csrf is not None:
        form.append(("csrf_token", csrf))
    form += [("organization", org) for org in organizations]
    form += [("scope", scope) for scope in scopes]
    return form


async def post(client: httpx.AsyncClient, form: list[tuple[str, str]]) -> httpx.Response:
    return await client.post(
        "/api/auth/mcp/consent",
        content=str(httpx.QueryParams(form)),
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )


def nothing_created() -> dict[str, int]:
    return {"requests": 1, "completed": 0, "grants": 0, "codes": 0, "refresh_tokens": 0}


# --- the page ------------------------------------------------------------------------------


async def test_consent_page_shows_app_host_user_organizations_and_requested_scopes(
    app_client: httpx.AsyncClient, world: World
) -> None:
    await sign_in_browser(app_client, world.alice)
    request_id = await start_authorization(app_client, world.client_id)
    page, _ = await open_consent(app_client, request_id)
    html = page.text
    assert "Editor &lt;Plugin&gt;" in html and "<Plugin>" not in html
    assert "Unverified" in html
    assert "<code>app.example.com</code>" in html
    assert "Alice Admin" in html and "alice@example.com" in html
    # owner of Acme and admin of Globex; a member of Initech and a stranger to Umbrella
    assert world.initech not in html and world.umbrella not in html
    # exactly the requested scopes; default-on checked, destructive unchecked with its warning
    assert checkboxes(html, "organization") == {world.acme: False, world.globex: False}
    assert checkboxes(html, "scope") == {
        "org:read": True,
        "keys:read": True,
        "translations:publish": False,
    }
    assert "Can publish translations straight to your live apps and CDN." in html
    assert "already connected" not in html
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


async def test_consent_page_says_when_the_app_is_already_connected(
    app_client: httpx.AsyncClient, world: World
) -> None:
    request_id, csrf = await signed_in_request(app_client, world)
    await post(app_client, answer(request_id, csrf, organizations=[world.globex]))
    second = await start_authorization(app_client, world.client_id)
    page, _ = await open_consent(app_client, second)
    assert "You already connected Editor &lt;Plugin&gt; to Globex." in page.text


async def test_user_who_administers_nothing_is_told_why_and_can_only_deny(
    app_client: httpx.AsyncClient, world: World
) -> None:
    request_id, csrf = await signed_in_request(app_client, world, user=world.carol)
    page, _ = await open_consent(app_client, request_id)
    assert "you are not an owner or admin of any organization" in " ".join(page.text.split())
    assert checkboxes(page.text, "organization") == {}
    assert button_disabled(page.text, "authorize")
    forced = await post(app_client, answer(request_id, csrf, organizations=[]))
    assert forced.status_code == 422
    assert "not an owner or admin of any organization" in forced.text
    assert await stored_state(services_of(app_client)) == nothing_created()
    denied = await post(app_client, answer(request_id, csrf, action="deny"))
    assert denied.status_code == 303
    assert dict(query_of(denied.headers["location"])[1])["error"] == "access_denied"


# --- login resume and session binding ----------------------------------------------------


async def test_request_survives_login_and_session_rotation(
    app_client: httpx.AsyncClient, world: World
) -> None:
    start = await app_client.get(
        "/api/auth/mcp/authorize",
        params={
            "response_type": "code",
            "client_id": world.client_id,
            "redirect_uri": REDIRECT,
            "scope": SCOPE,
            "state": "st-123",
            "code_challenge": "LsDvjXaD-XXOn_wjDyq0E47ti-LHL3KbDw0WdfHdmEM",
            "code_challenge_method": "S256",
        },
        follow_redirects=False,
    )
    login_url = start.headers["location"]
    next_path = dict(query_of(login_url)[1])["next"]
    assert await stored_state(services_of(app_client)) == {**nothing_created(), "requests": 0}
    login_page = await app_client.get(login_url)
    anonymous_cookie = app_client.cookies.get(COOKIE_NAME)
    signed_in = await app_client.post(
        "/login",
        data={
            "email": "alice@example.com",
            "password": PASSWORD,
            "csrf_token": csrf_from(login_page.text),
            "next": next_path,
        },
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == next_path
    assert app_client.cookies.get(COOKIE_NAME) != anonymous_cookie
    # Back at authorize, signed in: now the request is kept, for the new session only.
    resumed = await app_client.get(next_path, follow_redirects=False)
    assert resumed.status_code == 303
    consent_path = resumed.headers["location"]
    async with services_of(app_client).db.transaction(readonly=True) as conn:
        (row,) = (await conn.execute(select(authorization_requests))).all()
    assert (row.state, row.scope, row.redirect_uri) == ("st-123", SCOPE, REDIRECT)
    assert consent_path == f"/api/auth/mcp/consent?request_id={row.id}"
    page = await app_client.get(consent_path)
    assert page.status_code == 200
    assert "Editor &lt;Plugin&gt;" in page.text
    # Signing in again rotates the session id; the pending request moves with it.
    await sign_in_browser(app_client, world.alice)
    assert (await app_client.get(consent_path)).status_code == 200
    # The pre-login session id never owned the request.
    stale = httpx.AsyncClient(transport=app_client._transport, base_url=ISSUER)
    stale.cookies.set(COOKIE_NAME, anonymous_cookie or "")
    async with stale:
        refused = await stale.get(consent_path, follow_redirects=False)
    assert refused.status_code == 400
    assert "location" not in refused.headers


async def test_request_id_of_another_session_is_refused_without_redirect(
    app_client: httpx.AsyncClient, world: World
) -> None:
    request_id, _ = await signed_in_request(app_client, world)
    other = httpx.AsyncClient(transport=app_client._transport, base_url=ISSUER)
    other.app = app_client.app  # type: ignore[attr-defined]
    async with other:
        await sign_in_browser(other, world.alice)  # same person, other browser
        _, other_csrf = await signed_in_request(other, world)
        page = await other.get(
            "/api/auth/mcp/consent", params={"request_id": request_id}, follow_redirects=False
        )
        submit = await post(other, answer(request_id, other_csrf, organizations=[world.acme]))
        deny = await post(other, answer(request_id, other_csrf, action="deny"))
    for response in (page, submit, deny):
        assert response.status_code == 400
        assert "location" not in response.headers
        assert "started in another browser session" in response.text
    state = await stored_state(services_of(app_client))
    assert state == {**nothing_created(), "requests": 2}


@pytest.mark.parametrize("request_id", ["", "nope", "x" * 65])
async def test_unknown_request_id_is_refused(
    app_client: httpx.AsyncClient, world: World, request_id: str
) -> None:
    await sign_in_browser(app_client, world.alice)
    page = await app_client.get(
        "/api/auth/mcp/consent", params={"request_id": request_id}, follow_redirects=False
    )
    assert page.status_code == 400
    assert "location" not in page.headers


async def test_request_expires_after_ten_minutes(
    app_client: httpx.AsyncClient, world: World, clock: FrozenClock
) -> None:
    request_id, csrf = await signed_in_request(app_client, world)
    clock.advance(minutes=9, seconds=59)
    await open_consent(app_client, request_id)
    clock.advance(seconds=1)
    page = await app_client.get("/api/auth/mcp/consent", params={"request_id": request_id})
    assert page.status_code == 400
    assert "expired" in page.text
    late = await post(app_client, answer(request_id, csrf, organizations=[world.acme]))
    assert late.status_code == 400
    assert await stored_state(services_of(app_client)) == nothing_created()


# --- tampered answers ----------------------------------------------------------------------


TAMPERED = {
    "organization where only a member": ({"organizations": ["INITECH"]}, 400, "administer"),
    "organization of someone else": ({"organizations": ["UMBRELLA"]}, 400, "administer"),
    "one good and one foreign organization": (
        {"organizations": ["ACME", "UMBRELLA"]},
        400,
        "administer",
    ),
    "unknown organization": ({"organizations": ["org_doesnotexist"]}, 400, "administer"),
    "scope not requested": ({"scopes": ["org:read", "keys:write"]}, 400, "asked for"),
    "unknown scope": ({"scopes": ["org:read", "admin:all"]}, 400, "asked for"),
    "ignored scope name": ({"scopes": ["org:read", "offline_access"]}, 400, "asked for"),
    "unknown action": ({"action": ["approve"]}, 400, "whether to authorize or deny"),
    "no organization": ({"organizations": []}, 422, "Choose at least one organization."),
    "no scope": ({"scopes": []}, 422, "Choose at least one permission."),
}


@pytest.mark.parametrize(("change", "status", "says"), TAMPERED.values(), ids=TAMPERED.keys())
async def test_tampered_or_incomplete_answer_creates_nothing(
    app_client: httpx.AsyncClient,
    world: World,
    change: dict[str, list[str]],
    status: int,
    says: str,
) -> None:
    request_id, csrf = await signed_in_request(app_client, world)
    names = {"ACME": world.acme, "INITECH": world.initech, "UMBRELLA": world.umbrella}
    organizations = [names.get(o, o) for o in change.get("organizations", ["ACME"])]
    form = answer(
        request_id,
        csrf,
        action=change.get("action", ["authorize"])[0],
        organizations=organizations,
        scopes=change.get("scopes", ["org:read", "keys:read"]),
    )
    response = await post(app_client, form)
    assert response.status_code == status
    assert "location" not in response.headers
    assert says in response.text
    assert await stored_state(services_of(app_client)) == nothing_created()
    # The request is still open: the honest answer goes through afterwards.
    honest = await post(app_client, answer(request_id, csrf, organizations=[world.acme]))
    assert honest.status_code == 303


async def test_incomplete_answer_shows_the_page_again_with_the_choices_kept(
    app_client: httpx.AsyncClient, world: World
) -> None:
    request_id, csrf = await signed_in_request(app_client, world)
    response = await post(
        app_client, answer(request_id, csrf, organizations=[], scopes=["translations:publish"])
    )
    assert response.status_code == 422
    assert checkboxes(response.text, "scope") == {
        "org:read": False,
        "keys:read": False,
        "translations:publish": True,
    }


@pytest.mark.parametrize("csrf", [None, "", "forged-token"], ids=["missing", "empty", "wrong"])
async def test_answer_without_a_valid_csrf_token_is_forbidden(
    app_client: httpx.AsyncClient, world: World, csrf: str | None
) -> None:
    request_id, _ = await signed_in_request(app_client, world)
    response = await post(app_client, answer(request_id, csrf, organizations=[world.acme]))
    assert response.status_code == 403
    assert "location" not in response.headers
    denial = await post(app_client, answer(request_id, csrf, action="deny"))
    assert denial.status_code == 403
    assert await stored_state(services_of(app_client)) == nothing_created()


async def test_csrf_token_of_another_session_is_forbidden(
    app_client: httpx.AsyncClient, world: World
) -> None:
    request_id, _ = await signed_in_request(app_client, world)
    other = httpx.AsyncClient(transport=app_client._transport, base_url=ISSUER)
    other.app = app_client.app  # type: ignore[attr-defined]
    async with other:
        _, other_csrf = await signed_in_request(other, world)
    response = await post(app_client, answer(request_id, other_csrf, organizations=[world.acme]))
    assert response.status_code == 403


async def test_signed_out_answer_is_refused(app_client: httpx.AsyncClient, world: World) -> None:
    request_id, _ = await signed_in_request(app_client, world)
    app_client.cookies.clear()
    login = await app_client.get("/login")
    response = await post(
        app_client, answer(request_id, csrf_from(login.text), organizations=[world.acme])
    )
    assert response.status_code == 400
    assert await stored_state(services_of(app_client)) == nothing_created()


async def test_destructive_scope_is_granted_only_when_its_box_was_ticked(
    app_client: httpx.AsyncClient, world: World
) -> None:
    request_id, csrf = await signed_in_request(app_client, world)
    unclicked = await post(
        app_client,
        answer(request_id, csrf, organizations=[world.acme], scopes=["org:read", "keys:read"]),
    )
    assert unclicked.status_code == 303
    services = services_of(app_client)
    async with services.db.transaction(readonly=True) as conn:
        (grant,) = await grants.list_grants(conn, user_id=world.alice)
    assert grant.scope == ("org:read", "keys:read")

    request_id = await start_authorization(app_client, world.client_id)
    _, csrf = await open_consent(app_client, request_id)
    clicked = await post(
        app_client,
        answer(
            request_id,
            csrf,
            organizations=[world.acme],
            scopes=["org:read", "translations:publish"],
        ),
    )
    assert clicked.status_code == 303
    async with services.db.transaction(readonly=True) as conn:
        (again,) = await grants.list_grants(conn, user_id=world.alice)
    assert again.id == grant.id
    assert again.scope == ("org:read", "translations:publish")


async def test_replayed_submit_is_refused_and_creates_nothing_twice(
    app_client: httpx.AsyncClient, world: World
) -> None:
    request_id, csrf = await signed_in_request(app_client, world)
    form = answer(request_id, csrf, organizations=[world.acme, world.globex])
    first = await post(app_client, form)
    assert first.status_code == 303
    replay = await post(app_client, form)
    assert replay.status_code == 400
    assert "You already answered this connection request." in replay.text
    deny_after = await post(app_client, answer(request_id, csrf, action="deny"))
    assert deny_after.status_code == 400
    assert await stored_state(services_of(app_client)) == {
        "requests": 1,
        "completed": 1,
        "grants": 2,
        "codes": 1,
        "refresh_tokens": 0,
    }


# --- approval and denial -------------------------------------------------------------------


async def test_authorize_leads_to_connection_complete_whose_button_carries_the_code(
    app_client: httpx.AsyncClient, world: World, clock: FrozenClock
) -> None:
    request_id, csrf = await signed_in_request(
        app_client, world, redirect_uri=REDIRECT_WITH_QUERY, resource="http://testserver/mcp"
    )
    response = await post(
        app_client,
        answer(
            request_id,
            csrf,
            organizations=[world.globex, world.acme],
            scopes=["keys:read", "org:read"],
        ),
    )
    assert response.status_code == 303
    complete_url = response.headers["location"]
    assert complete_url == f"/api/auth/mcp/complete?request_id={request_id}"
    assert "code" not in complete_url

    page = await app_client.get(complete_url)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "Connection complete" in page.text and "Continue to your app" in page.text
    assert "Acme, Globex" in page.text
    href = page.text.split('href="https://app.example.com/callback?', 1)[1].split('"', 1)[0]
    query = parse_qsl(href.replace("&amp;", "&"))
    assert [name for name, _ in query] == ["tenant", "lang", "code", "state", "iss"]
    values = dict(query)
    assert (values["tenant"], values["lang"], values["state"], values["iss"]) == (
        "7",
        "en",
        "st-123",
        ISSUER,
    )

    services = services_of(app_client)
    async with services.db.transaction(readonly=True) as conn:
        code = await find_code(conn, values["code"], services.hasher)
        made = await grants.list_grants(conn, user_id=world.alice)
        stored = (await conn.execute(select(authorization_requests))).one()
        consented = (
            await conn.execute(
                select(audit_events.c.grant_id).where(audit_events.c.action == "grant.consented")
            )
        ).all()
    assert code is not None
    assert code.client_id == world.client_id and code.user_id == world.alice
    assert code.redirect_uri == REDIRECT_WITH_QUERY
    assert code.resource == "http://testserver/mcp"
    assert code.scope == "org:read keys:read"
    assert verifier_matches(VERIFIER, code.code_challenge)
    by_org = {g.organization_id: g for g in made}
    assert list(code.grant_ids) == [by_org[world.acme].id, by_org[world.globex].id]
    assert all(g.scope == ("org:read", "keys:read") for g in made)
    assert len(consented) == 2
    assert stored.completed_at == clock.now()
    assert stored.completion is not None and values["code"] not in stored.completion


async def test_complete_page_is_only_for_the_session_that_consented(
    app_client: httpx.AsyncClient, world: World, clock: FrozenClock
) -> None:
    request_id, csrf = await signed_in_request(app_client, world)
    done = await post(app_client, answer(request_id, csrf, organizations=[world.acme]))
    other = httpx.AsyncClient(transport=app_client._transport, base_url=ISSUER)
    other.app = app_client.app  # type: ignore[attr-defined]
    async with other:
        await sign_in_browser(other, world.alice)
        foreign = await other.get(done.headers["location"])
    assert foreign.status_code == 400
    assert "code=" not in foreign.text
    pending_id = await start_authorization(app_client, world.client_id)
    unanswered = await app_client.get("/api/auth/mcp/complete", params={"request_id": pending_id})
    assert unanswered.status_code == 400
    clock.advance(minutes=10)
    expired = await app_client.get(done.headers["location"])
    assert expired.status_code == 400


async def test_deny_redirects_with_access_denied_state_and_iss(
    app_client: httpx.AsyncClient, world: World
) -> None:
    request_id, csrf = await signed_in_request(app_client, world, redirect_uri=REDIRECT_WITH_QUERY)
    response = await post(app_client, answer(request_id, csrf, action="deny"))
    assert response.status_code == 303
    location = response.headers["location"]
    assert urlsplit(location).netloc == "app.example.com"
    base, query = query_of(location)
    assert base == "https://app.example.com/callback"
    assert [name for name, _ in query] == [
        "tenant",
        "lang",
        "error",
        "error_description",
        "state",
        "iss",
    ]
    values = dict(query)
    assert (values["error"], values["state"], values["iss"]) == ("access_denied", "st-123", ISSUER)
    assert await stored_state(services_of(app_client)) == {
        **nothing_created(),
        "completed": 1,
    }


async def test_concurrent_submits_of_one_answer_complete_it_exactly_once(
    app_client: httpx.AsyncClient, world: World
) -> None:
    request_id, csrf = await signed_in_request(app_client, world)
    form = answer(request_id, csrf, organizations=[world.acme, world.globex])
    responses = await asyncio.gather(*(post(app_client, form) for _ in range(8)))
    assert sorted(r.status_code for r in responses) == [303] + [400] * 7
    assert await stored_state(services_of(app_client)) == {
        "requests": 1,
        "completed": 1,
        "grants": 2,
        "codes": 1,
        "refresh_tokens": 0,
    }


async def test_going_back_to_an_answered_consent_page_shows_the_outcome_or_refuses(
    app_client: httpx.AsyncClient, world: World
) -> None:
    approved_id, csrf = await signed_in_request(app_client, world)
    done = await post(app_client, answer(approved_id, csrf, organizations=[world.acme]))
    back = await app_client.get(
        "/api/auth/mcp/consent", params={"request_id": approved_id}, follow_redirects=False
    )
    assert back.status_code == 303
    assert back.headers["location"] == done.headers["location"]

    denied_id = await start_authorization(app_client, world.client_id)
    await post(app_client, answer(denied_id, csrf, action="deny"))
    back = await app_client.get(
        "/api/auth/mcp/consent", params={"request_id": denied_id}, follow_redirects=False
    )
    assert back.status_code == 400
    assert "You already answered this connection request." in back.text
    assert await stored_state(services_of(app_client)) == {
        "requests": 2,
        "completed": 2,
        "grants": 1,
        "codes": 1,
        "refresh_tokens": 0,
    }


async def test_operator_registered_client_is_not_marked_unverified(
    app_client: httpx.AsyncClient, world: World
) -> None:
    await sign_in_browser(app_client, world.alice)
    request_id = await start_authorization(app_client, world.scoped_client_id, scope="org:read")
    page, _ = await open_consent(app_client, request_id)
    assert "Reader" in page.text
    assert "Unverified" not in page.text
    assert checkboxes(page.text, "scope") == {"org:read": True}
