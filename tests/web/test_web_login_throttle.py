"""Sign-in throttling: failures lock one address out of one account, spraying locks the
address out of every account, and guessing from many addresses only slows the account down —
nobody can lock an owner out of their account (OWASP Authentication Cheat Sheet)."""

from __future__ import annotations

import httpx
import pytest
from web_helpers import (
    PASSWORD,
    Seeded,
    app_services,
    client_from,
    counters_of,
    sign_in_attempt,
)

from i18n_connect.clock import FrozenClock
from i18n_connect.web import pages
from i18n_connect.web.login_throttle import LoginThrottle

ATTACKER = "198.51.100.1"
OWNER = "198.51.100.2"


@pytest.fixture
def delays(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The slow-down pauses of sign-ins, recorded instead of waited out."""
    paused: list[float] = []

    async def pause(seconds: float) -> None:
        paused.append(seconds)

    monkeypatch.setattr(pages, "sleep", pause)
    return paused


def _keys(client: httpx.AsyncClient, email: str, address: str) -> LoginThrottle:
    return LoginThrottle.of(app_services(client), email=email, address=address)


async def test_failures_from_one_address_never_lock_the_owner_out_from_another(
    app_client: httpx.AsyncClient, seeded: Seeded, delays: list[float]
) -> None:
    app = app_client.app  # type: ignore[attr-defined]
    async with client_from(app, ATTACKER) as attacker:
        statuses = [
            (await sign_in_attempt(attacker, "ada@example.com", "guess")).status_code
            for _ in range(5)
        ]
        assert statuses == [401] * 5
        refused = await sign_in_attempt(attacker, "ada@example.com", PASSWORD)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "300"
        assert "Too many sign-in attempts" in refused.text
        # The attacker's own failures on Ada do not cost its address other accounts.
        assert (await sign_in_attempt(attacker, "bob@example.com", PASSWORD)).status_code == 303
    async with client_from(app, OWNER) as owner:
        assert (await sign_in_attempt(owner, "ada@example.com", PASSWORD)).status_code == 303
    attacked, signed_in = (
        _keys(app_client, "ada@example.com", ATTACKER),
        _keys(app_client, "ada@example.com", OWNER),
    )
    counters = await counters_of(app_client)
    assert counters[attacked.pair_key] == 6  # the refused attempt counts too
    assert signed_in.pair_key not in counters  # forgotten on success
    assert counters[attacked.address_key] == 6  # Bob's success was taken back
    assert counters[signed_in.address_key] == 0
    assert counters[attacked.account_key] == 5  # failures only, the refused one not checked
    assert delays == []


async def test_one_guess_a_minute_never_keeps_the_owner_out(
    app_client: httpx.AsyncClient, seeded: Seeded, clock: FrozenClock, delays: list[float]
) -> None:
    app = app_client.app  # type: ignore[attr-defined]
    async with client_from(app, ATTACKER) as attacker, client_from(app, OWNER) as owner:
        for minute in range(30):
            assert (await sign_in_attempt(attacker, "ada@example.com", "guess")).status_code in (
                401,
                429,
            )
            if minute % 10 == 9:
                owner.cookies.clear()
                response = await sign_in_attempt(owner, "ada@example.com", PASSWORD)
                assert response.status_code == 303
                assert response.headers["location"] == "/"
            clock.advance(seconds=60)


async def test_spraying_from_one_address_locks_that_address_out_of_every_account(
    app_client: httpx.AsyncClient, seeded: Seeded, clock: FrozenClock
) -> None:
    app = app_client.app  # type: ignore[attr-defined]
    async with client_from(app, ATTACKER) as attacker:
        for number in range(20):
            response = await sign_in_attempt(attacker, f"user{number}@example.com", "guess")
            assert response.status_code == 401
        clock.advance(seconds=100)
        refused = await sign_in_attempt(attacker, "bob@example.com", PASSWORD)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "200"
        clock.advance(seconds=200)  # a new window
        assert (await sign_in_attempt(attacker, "bob@example.com", PASSWORD)).status_code == 303
    async with client_from(app, OWNER) as elsewhere:
        assert (await sign_in_attempt(elsewhere, "ada@example.com", PASSWORD)).status_code == 303


async def test_guessing_from_many_addresses_slows_the_account_down_but_never_refuses_it(
    app_client: httpx.AsyncClient, seeded: Seeded, delays: list[float]
) -> None:
    app = app_client.app  # type: ignore[attr-defined]
    statuses = []
    for number in range(12):
        async with client_from(app, f"203.0.113.{number}") as bot:
            statuses.append(
                (await sign_in_attempt(bot, "ada@example.com", f"guess {number}")).status_code
            )
    assert statuses == [401] * 12  # no address failed more than once
    assert delays == [2.0, 2.0]  # the 11th and 12th failures on the account
    async with client_from(app, OWNER) as owner:
        response = await sign_in_attempt(owner, "ada@example.com", PASSWORD)
    assert response.status_code == 303  # slowed down, but signed in
    assert delays == [2.0, 2.0, 2.0]
    async with client_from(app, OWNER) as colleague:
        assert (await sign_in_attempt(colleague, "bob@example.com", PASSWORD)).status_code == 303
    assert len(delays) == 3  # other accounts are not slowed down
    counters = await counters_of(app_client)
    assert counters[_keys(app_client, "ada@example.com", OWNER).account_key] == 12


async def test_rate_counter_keys_do_not_hold_the_email(
    app_client: httpx.AsyncClient, seeded: Seeded
) -> None:
    app = app_client.app  # type: ignore[attr-defined]
    async with client_from(app, ATTACKER) as attacker:
        await sign_in_attempt(attacker, "ada@example.com", "guess")
    keys = sorted(await counters_of(app_client))
    assert len(keys) == 3
    assert not any("ada" in key for key in keys)
    assert [key for key in keys if ATTACKER in key] == [f"login:ip:{ATTACKER}"]
