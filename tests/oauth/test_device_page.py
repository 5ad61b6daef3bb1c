"""The /device page (RFC 8628 §3.3, §5.1, SPEC §3 "Consent screen"): sign-in first, the code
typed or confirmed, the shared consent screen, "Connection complete" without a redirect,
CSRF, tampered and replayed answers, the guess limits per address and per code, and the
organization's app policy and project choice, as on the browser's consent screen."""

from __future__ import annotations

import httpx
import pytest
from authorize_flow import checkboxes, csrf_from, services_of
from device_flow import SCOPE, DeviceWorld, make_device_world

from i18n_connect import grants
from i18n_connect.clock import FrozenClock
from i18n_connect.oauth.project_choice import mode_field
from i18n_connect.platform import policies
from i18n_connect.platform.projects import create_project
from i18n_connect.web.device_routes import ADDRESS_TRIES_PER_MINUTE, CODE_TRIES_PER_MINUTE


@pytest.fixture
async def world(app_client: httpx.AsyncClient) -> DeviceWorld:
    return await make_device_world(app_client)


async def test_a_signed_out_browser_signs_in_first_and_comes_back(world: DeviceWorld) -> None:
    world.http.cookies.clear()

    response = await world.http.get("/device", params={"user_code": "BCDF-GHJK"})

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/device%3Fuser_code%3DBCDF-GHJK"


async def test_the_complete_uri_fills_in_the_code_for_the_user_to_confirm(
    world: DeviceWorld,
) -> None:
    started = await world.start()

    page = await world.http.get(started["verification_uri_complete"])

    assert page.status_code == 200
    assert f'value="{started["user_code"]}"' in page.text
    assert page.headers["cache-control"] == "no-store"


async def test_a_typed_code_opens_the_shared_consent_screen(world: DeviceWorld) -> None:
    started = await world.start(scope=f"{SCOPE} translations:publish")
    typed = started["user_code"].lower().replace("-", " ")  # as a person might type it

    page = await world.enter_code(typed)

    assert page.status_code == 200
    assert "wants to access your organizations" in page.text
    assert f'name="user_code" value="{started["user_code"]}"' in page.text
    assert 'action="/device/consent"' in page.text
    assert "Returns you to" not in page.text
    assert checkboxes(page.text, "organization") == {
        world.people.acme: False,
        world.people.globex: False,
    }
    assert checkboxes(page.text, "scope") == {
        "org:read": True,
        "keys:read": True,
        "keys:write": True,
        "translations:publish": False,
    }
    assert "check--destructive" in page.text


async def test_approval_shows_connection_complete_without_a_redirect(world: DeviceWorld) -> None:
    started = await world.start()

    done = await world.answer(started["user_code"])

    assert done.status_code == 200
    assert "location" not in done.headers
    assert "Connection complete" in done.text
    assert "It can now work with Acme." in done.text
    assert "Continue to your app" not in done.text


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("BCDF-GHJ0", "That is not a code from this site"),
        ("BCDF-GHJK", "No device is waiting with this code."),
    ],
)
async def test_a_wrong_code_asks_again(world: DeviceWorld, typed: str, message: str) -> None:
    page = await world.enter_code(typed)

    assert page.status_code == 400
    assert message in page.text
    assert 'action="/device"' in page.text


async def test_a_used_or_expired_code_is_refused(world: DeviceWorld, clock: FrozenClock) -> None:
    used = await world.start()
    await world.answer(used["user_code"])
    expired = await world.start()

    page = await world.enter_code(used["user_code"])
    clock.advance(seconds=601)
    late = await world.enter_code(expired["user_code"])

    assert page.status_code == 400
    assert "This code was already used." in page.text
    assert late.status_code == 400
    assert "This code has expired" in late.text


async def test_forms_without_the_sessions_csrf_token_are_refused(world: DeviceWorld) -> None:
    started = await world.start()

    entered = await world.enter_code(started["user_code"], csrf="forged")
    answered = await world.http.post(
        "/device/consent",
        data={
            "csrf_token": "forged",
            "user_code": started["user_code"],
            "action": "authorize",
            "organization": world.people.acme,
            "scope": "org:read",
        },
    )

    assert entered.status_code == 403
    assert answered.status_code == 403
    assert "This form has expired" in answered.text
    assert error_code(await world.poll(started["device_code"])) == "authorization_pending"


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"])


async def _answer_form(world: DeviceWorld, user_code: str, **fields: object) -> httpx.Response:
    page = await world.enter_code(user_code)
    data = {"csrf_token": csrf_from(page.text), "user_code": user_code, **fields}
    return await world.http.post("/device/consent", data=data)


async def test_tampered_answers_create_nothing(world: DeviceWorld, clock: FrozenClock) -> None:
    started = await world.start()
    clock.advance(seconds=60 - clock.now().second)  # each answer tries the code twice: 4 a window

    foreign_org = await _answer_form(
        world,
        started["user_code"],
        action="authorize",
        organization=world.people.umbrella,
        scope="org:read",
    )
    clock.advance(seconds=60)
    foreign_scope = await _answer_form(
        world,
        started["user_code"],
        action="authorize",
        organization=world.people.acme,
        scope="keys:delete",
    )
    clock.advance(seconds=60)
    no_action = await _answer_form(world, started["user_code"])
    clock.advance(seconds=60)
    incomplete = await _answer_form(
        world, started["user_code"], action="authorize", scope="org:read"
    )

    assert foreign_org.status_code == 400
    assert "You can only connect organizations that you own or administer." in foreign_org.text
    assert foreign_scope.status_code == 400
    assert "You can only give the permissions that the app asked for." in foreign_scope.text
    assert no_action.status_code == 400
    assert incomplete.status_code == 422
    assert "Choose at least one organization." in incomplete.text
    assert error_code(await world.poll(started["device_code"])) == "authorization_pending"


async def test_a_replayed_answer_changes_nothing(world: DeviceWorld) -> None:
    started = await world.start()
    page = await world.enter_code(started["user_code"])
    form = {
        "csrf_token": csrf_from(page.text),
        "user_code": started["user_code"],
        "action": "authorize",
        "organization": world.people.acme,
        "scope": "org:read",
    }
    first = await world.http.post("/device/consent", data=form)

    replayed = await world.http.post("/device/consent", data={**form, "action": "deny"})

    assert first.status_code == 200
    assert replayed.status_code == 400
    assert "This code was already used." in replayed.text
    assert (await world.poll(started["device_code"])).status_code == 200


async def test_guesses_are_limited_per_code(world: DeviceWorld) -> None:
    started = await world.start()
    csrf = csrf_from((await world.http.get("/device")).text)

    for _ in range(CODE_TRIES_PER_MINUTE):
        assert (await world.enter_code(started["user_code"], csrf=csrf)).status_code == 200
    limited = await world.enter_code(started["user_code"], csrf=csrf)

    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert "Too many codes were tried just now." in limited.text


async def test_guesses_are_limited_per_address(world: DeviceWorld, clock: FrozenClock) -> None:
    csrf = csrf_from((await world.http.get("/device")).text)
    alphabet = "BCDFGHJKLMNPQRSTVWXZ"

    for n in range(ADDRESS_TRIES_PER_MINUTE):
        guess = f"BCDF-GHJ{alphabet[n]}"
        assert (await world.enter_code(guess, csrf=csrf)).status_code == 400
    started = await world.start()
    limited = await world.enter_code(started["user_code"], csrf=csrf)

    assert limited.status_code == 429
    clock.advance(seconds=60)
    assert (await world.enter_code(started["user_code"], csrf=csrf)).status_code == 200


async def test_the_device_screen_applies_the_organizations_policy(
    world: DeviceWorld, clock: FrozenClock
) -> None:
    """A blocked app is shown disabled with the reason (no "Ask an owner": that names a browser
    request); a block made after the screen was shown refuses the answer, nothing granted."""
    people, services = world.people, services_of(world.http)
    started = await world.start()
    clock.advance(seconds=60 - clock.now().second)
    page = await world.enter_code(started["user_code"])
    async with services.db.transaction() as conn:
        await policies.change_list(
            conn,
            organization_id=people.acme,
            list_name="blocked",
            client_id=world.public_id,
            listed=True,
            actor=people.alice,
            now=clock.now(),
        )
    refused = await world.http.post(
        "/device/consent",
        data={
            "csrf_token": csrf_from(page.text),
            "user_code": started["user_code"],
            "action": "authorize",
            "organization": people.acme,
            "scope": "org:read",
        },
    )
    clock.advance(seconds=60)
    blocked = await world.enter_code(started["user_code"])

    assert refused.status_code == 400
    assert "Acme has blocked this app." in refused.text
    assert error_code(await world.poll(started["device_code"])) == "authorization_pending"
    assert blocked.status_code == 200
    assert people.acme not in checkboxes(blocked.text, "organization")
    assert "Acme has blocked this app." in blocked.text
    assert "consent/ask" not in blocked.text
    async with services.db.transaction(readonly=True) as conn:
        assert await grants.list_grants(conn, client_id=world.public_id) == []


async def test_the_device_screen_records_the_chosen_projects(world: DeviceWorld) -> None:
    people, services = world.people, services_of(world.http)
    async with services.db.transaction() as conn:
        web, _ = [
            await create_project(
                conn,
                organization_id=people.acme,
                name=slug,
                slug=slug,
                source_language="en",
                now=services.clock.now(),
            )
            for slug in ("web", "app")
        ]
    started = await world.start()
    page = await world.enter_code(started["user_code"])
    form = {
        "csrf_token": csrf_from(page.text),
        "user_code": started["user_code"],
        "action": "authorize",
        "organization": people.acme,
        "scope": "org:read",
        mode_field(people.acme): "some",
        "project": web.id,
    }

    done = await world.http.post("/device/consent", data=form)
    tokens = await world.poll(started["device_code"])

    assert done.status_code == 200
    assert "Connection complete" in done.text
    assert tokens.status_code == 200
    assert [grant["projects"] for grant in tokens.json()["grants"]] == [[web.id]]
