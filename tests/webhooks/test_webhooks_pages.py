"""The console's webhook page over HTTP: only owners and admins of the app's organization
manage it, every form needs the session's CSRF token, bad fields come back with their exact
reason and the form kept, and a secret appears once."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text
from webhook_world import PASSWORD, World

from i18n_connect.storage.client_profiles import Profile, insert_profile


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match[1]


async def _signed_in(world: World, email: str) -> str:
    page = await world.http.get("/login")
    response = await world.http.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": _csrf(page.text)}
    )
    assert response.status_code == 303
    return _csrf((await world.http.get("/settings/connected-apps")).text)


@pytest.fixture
async def page(world: World) -> str:
    """The app published by Acme (Ada's), as the console makes it; its webhook page's path."""
    async with world.services.db.transaction() as conn:
        now = world.services.clock.now()
        await insert_profile(
            conn, Profile(world.client_id, world.acme, "Hooks", None, None, world.ada, now, now)
        )
    return f"/developer/apps/{world.client_id}/webhooks"


async def test_an_owner_adds_an_endpoint_and_sees_the_secret_once(world: World, page: str) -> None:
    csrf = await _signed_in(world, "ada@example.com")
    response = await world.http.post(
        page,
        data={
            "csrf_token": csrf,
            "url": "https://hooks.example.com/i18n",
            "event_types": ["grant.revoked", "grant.created"],
        },
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", response.text)
    assert secret is not None
    again = await world.http.get(page)
    assert again.status_code == 200
    assert "https://hooks.example.com/i18n" in again.text
    assert "grant.created, grant.revoked" in again.text
    assert secret[0] not in again.text


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (
            {"url": "https://10.0.0.1/x", "event_types": ["grant.revoked"]},
            "url must not point to a private or otherwise non-public address.",
        ),
        ({"url": "https://hooks.example.com/x"}, "event_types must list at least one event type."),
        (
            {"url": "https://hooks.example.com/x", "event_types": ["nope"]},
            "Unknown event type: nope.",
        ),
    ],
    ids=["private", "no-events", "unknown-event"],
)
async def test_a_bad_form_is_refused_with_its_reason_and_kept(
    world: World, page: str, form: dict[str, object], message: str
) -> None:
    csrf = await _signed_in(world, "ada@example.com")
    response = await world.http.post(page, data={"csrf_token": csrf, **form})
    assert response.status_code == 400
    assert message in response.text.replace("&#39;", "'")
    assert f'value="{form["url"]}"' in response.text
    assert "No endpoints yet." in response.text


async def test_a_bad_overlap_and_an_unknown_endpoint_are_refused(world: World, page: str) -> None:
    csrf = await _signed_in(world, "ada@example.com")
    endpoint_id, _ = await world.endpoint("https://hooks.example.com/x")
    for hours in ("200", "soon", "-1"):
        response = await world.http.post(
            f"{page}/{endpoint_id}/rotate", data={"csrf_token": csrf, "overlap_hours": hours}
        )
        assert response.status_code == 400
        assert "The overlap must be a number of hours, 0 to 168." in response.text
    response = await world.http.post(f"{page}/whe_unknown/disable", data={"csrf_token": csrf})
    assert (response.status_code, "No such webhook endpoint." in response.text) == (404, True)


async def test_a_form_without_the_sessions_csrf_token_changes_nothing(
    world: World, page: str
) -> None:
    await _signed_in(world, "ada@example.com")
    endpoint_id, _ = await world.endpoint("https://hooks.example.com/x")
    response = await world.http.post(f"{page}/{endpoint_id}/delete", data={"csrf_token": "forged"})
    assert response.status_code == 403
    assert (await world.http.get(page)).text.count(endpoint_id) >= 1


@pytest.mark.parametrize("who", ["member-of-another-org", "signed-out"])
async def test_someone_who_does_not_manage_the_app_gets_not_found(
    world: World, page: str, who: str
) -> None:
    endpoint_id, _ = await world.endpoint("https://hooks.example.com/x")
    if who == "signed-out":
        response = await world.http.get(page)
        assert (response.status_code, response.headers["location"].startswith("/login")) == (
            303,
            True,
        )
        return
    csrf = await _signed_in(world, "bob@example.com")  # owns Globex, not Acme
    assert (await world.http.get(page)).status_code == 404
    response = await world.http.post(f"{page}/{endpoint_id}/delete", data={"csrf_token": csrf})
    assert response.status_code == 404
    async with world.services.db.transaction(readonly=True) as conn:
        assert (await conn.execute(text("SELECT count(*) FROM webhook_endpoints"))).scalar() == 1


async def test_an_app_without_an_owning_organization_has_no_page(world: World) -> None:
    await _signed_in(world, "ada@example.com")
    response = await world.http.get(f"/developer/apps/{world.other_client_id}/webhooks")
    assert response.status_code == 404
