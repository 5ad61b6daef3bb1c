"""The developer console over HTTP (issue #14): creating, showing, editing, rotating and
deleting an organization's app; who may do it; the secret shown once; audit events."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from console_helpers import (
    APPS,
    NEW_SECRET,
    app_fields,
    client_id_of,
    connect,
    create,
    created_page,
    org_id,
    png,
    post_form,
    published,
    sign_out,
)
from web_helpers import Seeded, SignIn, app_services, csrf_from

from i18n_connect import audit
from i18n_connect.clock import FrozenClock
from i18n_connect.oauth.client_lifecycle import set_verified
from i18n_connect.oauth.clients import Client, get_client
from i18n_connect.storage import client_profiles
from i18n_connect.web.secret_flash import COOKIE

pytestmark = pytest.mark.anyio


async def _client(app_client: httpx.AsyncClient, client_id: str) -> Client | None:
    async with app_services(app_client).db.transaction(readonly=True) as conn:
        return await get_client(conn, client_id)


async def test_an_owner_creates_a_public_app_published_by_the_organization(
    app_client: httpx.AsyncClient, seeded: Seeded, sign_in: SignIn
) -> None:
    await sign_in()
    form = await app_client.get(APPS + "/new")
    assert form.status_code == 200
    assert "Acme Corp" in form.text and "Globex" not in form.text  # a member there, not admin
    acme = await org_id(app_client, "acme")
    client_id = await create(app_client, acme)

    client = await _client(app_client, client_id)
    assert client is not None
    assert (client.origin, client.verified, client.is_confidential) == ("console", False, False)
    assert client.redirect_uris == ("https://lingo.example/callback", "http://127.0.0.1/callback")
    assert client.scope == "org:read keys:read"
    assert client.client_uri == "https://lingo.example/"
    async with app_services(app_client).db.transaction(readonly=True) as conn:
        profile = await client_profiles.get_profile(conn, client_id)
        events = await audit.recent(conn, limit=5)
    assert profile is not None and profile.organization_id == acme
    assert profile.created_by == seeded.user.id
    assert [e.action for e in events if e.client_id == client_id] == ["client.created"]

    listed = await app_client.get(APPS)
    assert f'data-client-id="{client_id}"' in listed.text
    page = await app_client.get(f"{APPS}/{client_id}")
    assert page.status_code == 200
    assert "Published by Acme Corp" in page.text and "Unverified" in page.text
    assert "has no secret" in page.text
    assert f'href="/developer/apps/{client_id}/webhooks"' in page.text


async def test_a_confidential_apps_secret_is_shown_once_and_never_logged(
    app_client: httpx.AsyncClient,
    seeded: Seeded,
    sign_in: SignIn,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    await sign_in()
    acme = await org_id(app_client, "acme")
    posted = await post_form(app_client, APPS, app_fields(acme, kind="confidential"))
    assert NEW_SECRET.search(posted.text) is None  # the POST only redirects
    created = await created_page(posted, app_client)
    assert "The app was created." in created.text
    match = NEW_SECRET.search(created.text)
    assert match and match.group(1).startswith("cs_")
    secret = match.group(1)
    client_id = client_id_of(created)
    client = await _client(app_client, client_id)
    assert client is not None and client.secret_hash == app_services(app_client).hasher.hash(secret)

    for path in (
        APPS,
        f"{APPS}/{client_id}",
        f"{APPS}/{client_id}?created=1",
        f"{APPS}/{client_id}/edit",
    ):
        page = await app_client.get(path)
        assert page.status_code == 200 and secret not in page.text
    posted = await app_client.post(
        f"{APPS}/{client_id}/rotate-secret",
        data={"csrf_token": csrf_from(page.text), "grace_hours": "48"},
    )
    assert secret not in posted.text
    rotated = await created_page(posted, app_client)
    new = NEW_SECRET.search(rotated.text)
    assert new and new.group(1) != secret and secret not in rotated.text
    assert "Still accepted; it stops working at" in rotated.text
    again = await app_client.get(f"{APPS}/{client_id}")
    assert new.group(1) not in again.text and "Still accepted; it stops working at" in again.text
    captured = capsys.readouterr()
    logged = captured.out + captured.err + caplog.text
    assert secret not in logged and new.group(1) not in logged
    async with app_services(app_client).db.transaction(readonly=True) as conn:
        events = [e for e in await audit.recent(conn, limit=10) if e.client_id == client_id]
    assert sorted(e.action for e in events) == ["client.created", "client.secret_rotated"]
    assert all(secret not in str(e.detail) for e in events)


async def test_rotation_keeps_the_old_secret_for_the_chosen_grace_then_stops(
    app_client: httpx.AsyncClient, seeded: Seeded, sign_in: SignIn, clock: FrozenClock
) -> None:
    await sign_in()
    client_id = await create(app_client, await org_id(app_client, "acme"), kind="confidential")
    page = await app_client.get(f"{APPS}/{client_id}")
    assert "None accepted" in page.text
    csrf = csrf_from(page.text)
    for grace, message in [
        ("169", "The grace period must be a whole number of hours from 0 to 168 (7 days)."),
        ("-1", "The grace period must be a whole number of hours from 0 to 168 (7 days)."),
        ("1.5", "The grace period must be a whole number of hours from 0 to 168 (7 days)."),
        ("", "The grace period must be a whole number of hours from 0 to 168 (7 days)."),
    ]:
        refused = await app_client.post(
            f"{APPS}/{client_id}/rotate-secret", data={"csrf_token": csrf, "grace_hours": grace}
        )
        assert refused.status_code == 400 and message in refused.text
        assert NEW_SECRET.search(refused.text) is None
    before = await _client(app_client, client_id)
    rotated = await app_client.post(
        f"{APPS}/{client_id}/rotate-secret", data={"csrf_token": csrf, "grace_hours": "168"}
    )
    assert rotated.status_code == 303
    after = await _client(app_client, client_id)
    assert before is not None and after is not None
    assert after.previous_secret_hash == before.secret_hash
    assert after.previous_secret_expires_at == clock.now() + timedelta(hours=168)
    assert after.previous_secret_accepted(clock.now())


async def test_every_field_has_its_exact_error(
    app_client: httpx.AsyncClient, seeded: Seeded, sign_in: SignIn
) -> None:
    await sign_in()
    acme = await org_id(app_client, "acme")
    cases = {
        "name": ("", "The client name must be 1 to 200 characters long."),
        "description": (
            "x" * 501,
            "The description must be at most 500 characters long.",
        ),
        "client_uri": ("", "Enter the app&#39;s homepage: an https URL."),
        "policy_uri": (
            "http://lingo.example/privacy",
            "The privacy policy must be an https URL with a host, at most 2000 printable "
            "characters, without user information.",
        ),
        "tos_uri": (
            "https://user@lingo.example/terms",
            "The terms of service must be an https URL with a host, at most 2000 printable "
            "characters, without user information.",
        ),
        "redirect_uris": (
            "https://lingo.example/cb\nhttps://lingo.example/cb#frag",
            "Line 2: A redirect URI may not contain a fragment.",
        ),
        "kind": ("both", "Choose whether the app is public or confidential."),
        "scopes": ([], "Choose at least one permission the app may ask for."),
        "organization_id": ("", "Choose the organization that publishes the app."),
    }
    for field, (value, message) in cases.items():
        response = await post_form(app_client, APPS, {**app_fields(acme), field: value})
        assert response.status_code == 400, field
        assert f'<p class="field__error" id="{field}-error">{message}</p>' in response.text, field
        assert response.text.count('class="field__error"') == 1, field
    extra = [
        ("description", "bidi\u202eevil", "(U+202E)"),
        ("redirect_uris", "\n \n", "Enter 1 to 20 redirect URIs, one per line."),
        ("redirect_uris", "javascript:alert(1)", "Line 1: The scheme javascript: is not allowed"),
        ("scopes", ["org:read", "admin:all"], "Unknown scope: admin:all."),
        ("name", "a\u0007b", "may not contain control"),
    ]
    for field, value, message in extra:
        response = await post_form(app_client, APPS, app_fields(acme, **{field: value}))
        assert response.status_code == 400 and message in response.text, field
    assert await published(app_client, acme) == []


async def test_a_tampered_or_missing_csrf_token_changes_nothing(
    app_client: httpx.AsyncClient, seeded: Seeded, sign_in: SignIn
) -> None:
    await sign_in()
    acme = await org_id(app_client, "acme")
    client_id = await create(app_client, acme, kind="confidential")
    before = await _client(app_client, client_id)
    for url, fields in [
        (APPS, app_fields(acme, name="Other")),
        (f"{APPS}/{client_id}/edit", app_fields(acme, name="Renamed")),
        (f"{APPS}/{client_id}/rotate-secret", {"grace_hours": "0"}),
        (f"{APPS}/{client_id}/delete", {"confirm_name": "Lingo Sync"}),
    ]:
        for token in ("tampered", ""):
            response = await post_form(app_client, url, fields, csrf=token)
            assert response.status_code == 403, url
            assert "This form has expired. Please try again." in response.text
    assert await _client(app_client, client_id) == before
    assert await published(app_client, acme) == [client_id]


async def test_a_member_who_is_not_an_admin_is_refused_in_plain_words(
    app_client: httpx.AsyncClient, seeded: Seeded, sign_in: SignIn
) -> None:
    globex = await org_id(app_client, "globex")
    await sign_in("bob@example.com")
    client_id = await create(app_client, globex, kind="confidential")
    await sign_out(app_client)

    await sign_in()  # Ada: a member of Globex
    plain = (
        "Only owners and admins of Globex can manage the apps it publishes, and you are a "
        "member of Globex. Ask an owner of Globex to make you an admin."
    )
    refused = await post_form(app_client, APPS, app_fields(globex))
    assert refused.status_code == 403 and plain in refused.text
    page = await app_client.get(f"{APPS}/{client_id}")
    assert page.status_code == 403 and plain in page.text
    csrf = csrf_from((await app_client.get(APPS)).text)
    for url, fields in [
        (f"{APPS}/{client_id}/edit", app_fields(globex, name="Mine now")),
        (f"{APPS}/{client_id}/rotate-secret", {"grace_hours": "0"}),
        (f"{APPS}/{client_id}/delete", {"confirm_name": "Lingo Sync"}),
    ]:
        response = await post_form(app_client, url, fields, csrf=csrf)
        assert response.status_code == 403 and plain in response.text, url
    assert f'data-client-id="{client_id}"' not in (await app_client.get(APPS)).text
    client = await _client(app_client, client_id)
    assert (
        client is not None and client.name == "Lingo Sync" and client.previous_secret_hash is None
    )


async def test_another_organizations_app_is_neither_visible_nor_editable(
    app_client: httpx.AsyncClient, seeded: Seeded, sign_in: SignIn
) -> None:
    initech = await org_id(app_client, "initech")
    await sign_in("bob@example.com")
    client_id = await create(app_client, initech)
    await sign_out(app_client)

    await sign_in()  # Ada is not in Initech at all
    assert f'data-client-id="{client_id}"' not in (await app_client.get(APPS)).text
    for path in (f"{APPS}/{client_id}", f"{APPS}/{client_id}/edit", f"{APPS}/cli_unknown"):
        response = await app_client.get(path)
        assert response.status_code == 404 and "There is no such app" in response.text
    csrf = csrf_from((await app_client.get(APPS)).text)
    refused = await post_form(app_client, APPS, app_fields(initech), csrf=csrf)
    assert refused.status_code == 403
    assert "You can only create apps for an organization you own or administer." in refused.text
    for url, fields in [
        (f"{APPS}/{client_id}/edit", app_fields(initech, name="Mine now")),
        (f"{APPS}/{client_id}/rotate-secret", {"grace_hours": "0"}),
        (f"{APPS}/{client_id}/delete", {"confirm_name": "Lingo Sync"}),
    ]:
        response = await post_form(app_client, url, fields, csrf=csrf)
        assert response.status_code == 404 and "Lingo Sync" not in response.text, url
    client = await _client(app_client, client_id)
    assert client is not None and client.name == "Lingo Sync"


async def test_signed_out_visitors_are_sent_to_sign_in(
    app_client: httpx.AsyncClient, seeded: Seeded
) -> None:
    for path in (APPS, APPS + "/new", APPS + "/cli_x"):
        response = await app_client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=/developer/apps")


async def test_editing_changes_the_app_and_keeps_its_kind(
    app_client: httpx.AsyncClient, seeded: Seeded, sign_in: SignIn
) -> None:
    await sign_in()
    acme = await org_id(app_client, "acme")
    client_id = await create(app_client, acme)
    edit = await app_client.get(f"{APPS}/{client_id}/edit")
    assert "https://lingo.example/callback\nhttp://127.0.0.1/callback" in edit.text
    saved = await post_form(
        app_client,
        f"{APPS}/{client_id}/edit",
        app_fields(
            acme,
            name="Lingo Sync 2",
            kind="confidential",  # ignored: the kind cannot change
            redirect_uris="https://lingo.example/v2/callback",
            scopes=["org:read", "translations:publish"],
            tos_uri="https://lingo.example/terms",
        ),
        csrf=csrf_from(edit.text),
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"{APPS}/{client_id}?saved=1"
    client = await _client(app_client, client_id)
    assert client is not None
    assert (client.name, client.redirect_uris, client.scope, client.is_confidential) == (
        "Lingo Sync 2",
        ("https://lingo.example/v2/callback",),
        "org:read translations:publish",
        False,
    )
    page = await app_client.get(saved.headers["location"])
    assert "Your changes were saved." in page.text and "https://lingo.example/terms" in page.text
    async with app_services(app_client).db.transaction(readonly=True) as conn:
        actions = [e.action for e in await audit.recent(conn, limit=10) if e.client_id == client_id]
    assert {"client.updated", "client.profile_updated", "client.created"} <= set(actions)


async def test_installations_are_counts_per_organization_without_users(
    app_client: httpx.AsyncClient, seeded: Seeded, sign_in: SignIn, clock: FrozenClock
) -> None:
    await sign_in()
    acme = await org_id(app_client, "acme")
    client_id = await create(app_client, acme)
    await connect(app_client, clock, seeded.user.id, client_id, acme)
    page = await app_client.get(f"{APPS}/{client_id}")
    assert "<td>Acme Corp</td>" in page.text
    assert '<td data-label="Connections">1</td>' in page.text
    assert seeded.user.email not in page.text.replace(
        f'title="Signed in as {seeded.user.email}">{seeded.user.email}', ""
    )


async def test_deleting_needs_the_typed_name_and_revokes_every_grant_with_410(
    app_client: httpx.AsyncClient, seeded: Seeded, sign_in: SignIn, clock: FrozenClock
) -> None:
    await sign_in()
    acme = await org_id(app_client, "acme")
    posted = await post_form(app_client, APPS, app_fields(acme), logo=("l.png", png(), "image/png"))
    client_id = client_id_of(await created_page(posted, app_client))
    assert (await app_client.get(f"/app-logos/{client_id}")).status_code == 200
    services = app_services(app_client)
    grant = await connect(app_client, clock, seeded.user.id, client_id, acme)
    access = await services.tokens.issue(
        user_id=seeded.user.id,
        client_id=client_id,
        scope=["org:read"],
        grant_ids=[grant.id],
        audience=services.settings.api_resource,
    )
    minted = await app_client.post(
        f"/api/oauth-client/installations/{grant.id}/tokens",
        headers={"Authorization": f"Bearer {access.token}"},
    )
    assert minted.status_code == 201
    token = minted.json()["installation_token"]
    csrf = csrf_from((await app_client.get(f"{APPS}/{client_id}")).text)

    for typed in ("", "lingo sync", "Lingo Sync!"):
        refused = await app_client.post(
            f"{APPS}/{client_id}/delete", data={"csrf_token": csrf, "confirm_name": typed}
        )
        assert refused.status_code == 400
        assert "Type the app&#39;s name, Lingo Sync, exactly to delete it." in refused.text
    assert await _client(app_client, client_id) is not None

    deleted = await app_client.post(
        f"{APPS}/{client_id}/delete", data={"csrf_token": csrf, "confirm_name": "Lingo Sync"}
    )
    assert deleted.status_code == 303 and deleted.headers["location"] == (
        f"{APPS}?deleted={client_id}"
    )
    assert await _client(app_client, client_id) is None
    gone = await app_client.get("/api/oauth-client/organizations", headers={"x-api-key": token})
    assert (gone.status_code, gone.json()["error"]) == (410, "grant_revoked")
    assert (await app_client.get(f"{APPS}/{client_id}")).status_code == 404
    assert (await app_client.get(f"/app-logos/{client_id}")).status_code == 404
    listed = await app_client.get(deleted.headers["location"])
    assert "The app was deleted." in listed.text
    async with services.db.transaction(readonly=True) as conn:
        event = next(e for e in await audit.recent(conn, limit=10) if e.action == "client.deleted")
    assert event.actor == seeded.user.id and event.detail["grants_revoked"] == 1


async def test_connected_apps_show_the_publisher_and_the_verified_mark(
    app_client: httpx.AsyncClient, seeded: Seeded, sign_in: SignIn, clock: FrozenClock
) -> None:
    await sign_in()
    acme = await org_id(app_client, "acme")
    client_id = await create(app_client, acme)
    logo = png()
    await post_form(
        app_client,
        f"{APPS}/{client_id}/edit",
        app_fields(acme),
        logo=("logo.png", logo, "image/png"),
    )
    await connect(app_client, clock, seeded.user.id, client_id, acme)
    page = await app_client.get("/settings/connected-apps")
    assert '<strong class="publisher__org">Acme Corp</strong>' in page.text
    assert '<span class="publisher__domain">lingo.example</span>' in page.text
    assert f'src="/app-logos/{client_id}?v=' in page.text
    assert "Unverified" in page.text and "Verified publisher" not in page.text
    async with app_services(app_client).db.transaction() as conn:
        client = await get_client(conn, client_id)
        assert client is not None
        await set_verified(conn, client, verified=True, actor="cli", now=clock.now())
    page = await app_client.get("/settings/connected-apps")
    assert "Verified publisher" in page.text and "Unverified" not in page.text


async def test_the_flashed_secret_is_encrypted_and_bound_to_its_session_and_app(
    app_client: httpx.AsyncClient, seeded: Seeded, sign_in: SignIn, clock: FrozenClock
) -> None:
    await sign_in()
    acme = await org_id(app_client, "acme")
    posted = await post_form(app_client, APPS, app_fields(acme, kind="confidential"))
    flashed = posted.cookies[COOKIE]
    other_id = await create(app_client, acme, name="Other app")
    page = await created_page(posted, app_client)
    secret = NEW_SECRET.search(page.text)
    assert secret and secret.group(1) not in posted.headers["set-cookie"]
    client_id = client_id_of(page)
    path = f"{APPS}/{client_id}"

    # Replayed in the same session for another app, or in a new session: nothing shown.
    app_client.cookies.set(COOKIE, flashed, path="/")
    other = await app_client.get(f"{APPS}/{other_id}")
    assert other.status_code == 200 and NEW_SECRET.search(other.text) is None
    assert COOKIE in other.headers["set-cookie"]  # it was presented, and is deleted
    await app_client.post("/logout", data={"csrf_token": csrf_from(page.text)})
    await sign_in()
    app_client.cookies.set(COOKIE, flashed, path="/")
    again = await app_client.get(path)
    assert again.status_code == 200 and NEW_SECRET.search(again.text) is None
    assert COOKIE in again.headers["set-cookie"]


async def test_two_concurrent_deletions_delete_once(
    app_client: httpx.AsyncClient, seeded: Seeded, sign_in: SignIn, clock: FrozenClock
) -> None:
    await sign_in()
    acme = await org_id(app_client, "acme")
    client_id = await create(app_client, acme)
    await connect(app_client, clock, seeded.user.id, client_id, acme)
    csrf = csrf_from((await app_client.get(f"{APPS}/{client_id}")).text)
    form = {"csrf_token": csrf, "confirm_name": "Lingo Sync"}
    answers = await asyncio.gather(
        *(app_client.post(f"{APPS}/{client_id}/delete", data=form) for _ in range(2))
    )
    assert sorted(answer.status_code for answer in answers) == [303, 404]
    async with app_services(app_client).db.transaction(readonly=True) as conn:
        events = await audit.recent(conn, limit=20)
    assert [e.action for e in events if e.client_id == client_id].count("client.deleted") == 1
