"""POST /api/auth/mcp/token is limited per client: ``token_rate_per_minute`` requests a minute
counted by the ``client_id`` a request names (in the body or HTTP Basic), before any database
work; over it, 429 ``rate_limited`` with ``Retry-After`` and nothing changes in the store."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa
from oauth_token_world import TokenWorld, basic, make_token_world

from i18n_connect.clock import FrozenClock
from i18n_connect.storage.oauth_tables import authorization_codes, oauth_clients, refresh_tokens

JUNK_REFRESH = {"grant_type": "refresh_token", "refresh_token": "rt_unknown"}


@pytest.fixture
async def world(app_client: httpx.AsyncClient, clock: FrozenClock) -> TokenWorld:
    clock.advance(seconds=60 - clock.now().second + 50)  # 10 s before a window ends
    built = await make_token_world(app_client)
    built.services.settings.token_rate_per_minute = 2
    return built


def assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.json() == {
        "error": "rate_limited",
        "error_description": (
            "Too many requests for this client at the token endpoint; retry after 10 s."
        ),
        "budget": "token_endpoint",
    }
    assert response.headers["retry-after"] == "10"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["access-control-allow-origin"] == "*"


async def test_a_client_over_its_limit_is_refused_before_its_code_is_redeemed(
    world: TokenWorld, clock: FrozenClock
) -> None:
    code = await world.code()
    for _ in range(2):
        refused = await world.post({**JUNK_REFRESH, "client_id": world.public_id})
        assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")

    assert_limited(await world.post(code.form()))

    assert (
        await world.count(authorization_codes, authorization_codes.c.consumed_at.is_not(None)) == 0
    )
    assert await world.count(refresh_tokens) == 0
    other = await world.post({**JUNK_REFRESH, "client_id": world.other_public_id})
    assert (other.status_code, other.json()["error"]) == (400, "invalid_grant")
    clock.advance(seconds=10)
    body = await world.tokens(code)  # the code was never touched: it still works
    assert body["token_type"] == "Bearer"


async def test_basic_and_body_credentials_of_one_client_share_its_limit(
    world: TokenWorld,
) -> None:
    client_id, secret = world.confidential_id, world.confidential_secret
    stamped = sa.select(oauth_clients.c.last_used_at).where(oauth_clients.c.id == client_id)
    before = await world.scalar(stamped)
    as_basic = await world.post(JUNK_REFRESH, headers={"Authorization": basic(client_id, secret)})
    as_body = await world.post({**JUNK_REFRESH, "client_id": client_id, "client_secret": secret})
    assert [as_basic.status_code, as_body.status_code] == [400, 400]

    assert_limited(
        await world.post(JUNK_REFRESH, headers={"Authorization": basic(client_id, "wrong")})
    )
    assert_limited(await world.post({**JUNK_REFRESH, "client_id": client_id}))
    assert await world.scalar(stamped) == before


async def test_unknown_client_ids_are_limited_too(world: TokenWorld) -> None:
    form = {**JUNK_REFRESH, "client_id": "cli_unknown_" + "x" * 5000}
    statuses = [(await world.post(form)).status_code for _ in range(2)]
    assert statuses == [401, 401]
    assert_limited(await world.post(form))
