"""The token endpoint's protocol logic (RFC 6749 §3.2, §4.1.3, §5, §6; RFC 7636 §4.5, §4.6;
RFC 8707 §2.2; SPEC §3 "POST /api/auth/mcp/token").

``authorization_code``: one conditional update consumes the code only if the
client, PKCE, redirect URI and expiry all match; resource and live grants are
checked next, and any refusal rolls the consumption back — so a wrong
verifier or a revoked grant does not burn the code. A second redemption by the
same client with the right verifier (RFC 6749 §10.5) fails and revokes the
code's grants, and with them every token issued from it; a replay that fails
client authentication or PKCE changes nothing. The response carries one
refresh token per grant and one access token covering all of them.

Each code exchange starts a new refresh chain per grant (one per device that
connected, `oauth.chains`); the grant's other chains stay. The access token
names its chain per grant, so ending a chain stops its access tokens too.

``refresh_token``: rotation with reuse detection, in `oauth.refresh`.

``urn:ietf:params:oauth:grant-type:device_code`` (RFC 8628 §3.4-§3.5): the polling
answers in `oauth.device`; an approved request is consumed like a code and answered
exactly as a code exchange is (a new refresh chain per grant).

A refusal whose side effects must persist (code replay, refresh reuse, lost
membership) is returned instead of raised: the edge commits, then answers
with it. Everything raised rolls the transaction back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import audit, grants
from i18n_connect.errors import (
    InvalidGrant,
    InvalidRequest,
    InvalidTarget,
    ProtocolError,
    UnsupportedGrantType,
)
from i18n_connect.oauth import device, refresh
from i18n_connect.oauth.client_auth import (
    authenticate_client,
    client_credentials,
    stamp_last_used,
)
from i18n_connect.oauth.clients import Client
from i18n_connect.oauth.codes import AuthorizationCode, find_code, redeem_code
from i18n_connect.oauth.pkce import s256_challenge, validate_verifier, verifier_matches
from i18n_connect.resources import serves
from i18n_connect.scopes import CATALOG, format_scope
from i18n_connect.services import Services

__all__ = ["GRANT_TYPES", "GrantTokens", "TokenResponse", "token_request"]

GRANT_TYPES = ("authorization_code", "refresh_token", device.DEVICE_CODE_GRANT)


@dataclass(frozen=True, slots=True)
class GrantTokens:
    grant_id: str
    organization_id: str
    refresh_token: str
    scope: str
    project_ids: tuple[str, ...] | None  # None: every project, including future ones

    def body(self) -> dict[str, Any]:
        return {
            "grant_id": self.grant_id,
            "organization_id": self.organization_id,
            "refresh_token": self.refresh_token,
            "scope": self.scope,
            "projects": grants.published_projects(self.project_ids),
        }


@dataclass(frozen=True, slots=True)
class TokenResponse:
    access_token: str
    expires_in: int
    scope: str  # of the access token
    grants: tuple[GrantTokens, ...]  # the first one is the top-level grant

    def body(self) -> dict[str, Any]:
        first = self.grants[0]
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": first.refresh_token,
            "grant_id": first.grant_id,
            "organization_id": first.organization_id,
            "scope": self.scope,
            "grants": [grant.body() for grant in self.grants],
        }


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if value is None:
        raise InvalidRequest(f"The {name} parameter is required.")
    return value


def _resource(services: Services, params: Mapping[str, str], bound: str | None) -> str:
    """The access token's audience: the requested resource, consistent with the binding."""
    requested = params.get("resource")
    if requested is not None and not serves(services.settings, requested):
        raise InvalidTarget("The resource is not served by this authorization server.")
    if requested is not None and bound is not None and requested != bound:
        raise InvalidTarget("The resource differs from the one the authorization was for.")
    return requested or bound or services.settings.api_resource


async def token_request(
    conn: AsyncConnection,
    services: Services,
    *,
    params: Mapping[str, str],
    authorization: str | None,
) -> TokenResponse | ProtocolError:
    """Answer one token request (parameters already parsed, none repeated)."""
    grant_type = _required(params, "grant_type")
    if grant_type not in GRANT_TYPES:
        raise UnsupportedGrantType()
    now = services.clock.now()
    client = await authenticate_client(
        conn,
        client_credentials(authorization, params),
        hasher=services.hasher,
        now=now,
        services=services,
        stamp=False,  # only a success writes it: a flood of bad tokens writes nothing
    )
    if grant_type == "authorization_code":
        outcome = await _authorization_code(conn, services, client, params)
    elif grant_type == device.DEVICE_CODE_GRANT:
        outcome = await _device_code(conn, services, client, params)
    else:
        outcome = await _refresh_token(conn, services, client, params)
    if not isinstance(outcome, ProtocolError):
        await stamp_last_used(conn, client, now=now)
    return outcome


async def _authorization_code(
    conn: AsyncConnection, services: Services, client: Client, params: Mapping[str, str]
) -> TokenResponse | ProtocolError:
    code_value = _required(params, "code")
    redirect_uri = _required(params, "redirect_uri")
    verifier = validate_verifier(_required(params, "code_verifier"))
    now = services.clock.now()
    code = await redeem_code(
        conn,
        code_value,
        client_id=client.id,
        redirect_uri=redirect_uri,
        code_challenge=s256_challenge(verifier),
        now=now,
        hasher=services.hasher,
    )
    if code is None:
        return await _refused_code(conn, services, client, code_value, verifier, redirect_uri)
    # consumed: a refusal from here on is raised, and rolling back un-consumes the code
    return await _exchange(
        conn,
        services,
        client,
        params,
        consumed_id=code.id,
        user_id=code.user_id,
        grant_ids=code.grant_ids,
        scope=set(code.scope.split()),
        resource=code.resource,
    )


async def _device_code(
    conn: AsyncConnection, services: Services, client: Client, params: Mapping[str, str]
) -> TokenResponse | ProtocolError:
    claimed = await device.claim_device_code(conn, services, client, params)
    if isinstance(claimed, ProtocolError):
        return claimed
    assert claimed.user_id is not None  # an approved request names its user
    return await _exchange(
        conn,
        services,
        client,
        params,
        consumed_id=claimed.id,
        user_id=claimed.user_id,
        grant_ids=claimed.grant_ids,
        scope=set(claimed.scope),
        resource=claimed.resource,
    )


async def _exchange(
    conn: AsyncConnection,
    services: Services,
    client: Client,
    params: Mapping[str, str],
    *,
    consumed_id: str,
    user_id: str,
    grant_ids: tuple[str, ...],
    scope: set[str],
    resource: str | None,
) -> TokenResponse:
    """The tokens for a consumed code or device authorization: a new refresh chain per live
    grant, and one access token covering them all."""
    now = services.clock.now()
    audience = _resource(services, params, resource)
    live = await refresh.claim_live_grants(
        conn, grant_ids, client_id=client.id, user_id=user_id, now=now
    )
    if live is None:
        raise InvalidGrant("A grant of this authorization was revoked.")
    issued = []
    chains: dict[str, str] = {}
    for grant in live:
        granted = format_scope(scope.intersection(grant.scope))
        chains[grant.id], token = await refresh.start_chain(
            conn,
            grant,
            scope=granted,
            resource=audience,
            code_id=consumed_id,
            chains_per_grant=services.settings.refresh_chains_per_grant,
            now=now,
            hasher=services.hasher,
        )
        issued.append(
            GrantTokens(grant.id, grant.organization_id, token, granted, grant.project_ids)
        )
    covered = {name for entry in issued for name in entry.scope.split()}
    access = await services.tokens.issue(
        user_id=user_id,
        client_id=client.id,
        scope=[name for name in CATALOG if name in covered],
        grant_ids=[entry.grant_id for entry in issued],
        audience=audience,
        chains=chains,
    )
    return TokenResponse(access.token, access.expires_in, format_scope(covered), tuple(issued))


async def _refused_code(
    conn: AsyncConnection,
    services: Services,
    client: Client,
    code_value: str,
    verifier: str,
    redirect_uri: str,
) -> ProtocolError:
    """Why the code could not be redeemed; a replay by its client with its verifier revokes."""
    code = await find_code(conn, code_value, services.hasher)
    if code is None or code.client_id != client.id:
        raise InvalidGrant("The authorization code is unknown or was issued to another client.")
    if not verifier_matches(verifier, code.code_challenge):
        raise InvalidGrant("The code_verifier does not match the code_challenge.")
    if code.consumed_at is not None:
        return await _replayed(conn, services, client, code)
    if redirect_uri != code.redirect_uri:
        raise InvalidGrant("redirect_uri differs from the one of the authorization request.")
    raise InvalidGrant("The authorization code has expired.")


async def _replayed(
    conn: AsyncConnection, services: Services, client: Client, code: AuthorizationCode
) -> InvalidGrant:
    """RFC 6749 §10.5: revoke what the code produced, record it, refuse."""
    now = services.clock.now()
    revoked = [
        grant_id
        for grant_id in code.grant_ids
        if await grants.revoke_grant(conn, grant_id, actor=client.id, now=now, reason="code_replay")
    ]
    await audit.record(
        conn,
        action="token.code_replay",
        actor=client.id,
        now=now,
        user_id=code.user_id,
        client_id=client.id,
        detail={"code_id": code.id, "grant_ids": list(code.grant_ids), "revoked": revoked},
    )
    return InvalidGrant(
        "The authorization code was already used; the tokens issued from it are revoked."
    )


async def _refresh_token(
    conn: AsyncConnection, services: Services, client: Client, params: Mapping[str, str]
) -> TokenResponse | ProtocolError:
    presented = _required(params, "refresh_token")
    rotated = await refresh.rotate(
        conn,
        client_id=client.id,
        refresh_token=presented,
        requested_scope=params.get("scope"),
        now=services.clock.now(),
        grace=timedelta(seconds=services.settings.refresh_grace_seconds),
        successors=services.successors,
        hasher=services.hasher,
    )
    if isinstance(rotated, ProtocolError):
        return rotated
    audience = _resource(services, params, rotated.resource)
    access = await services.tokens.issue(
        user_id=rotated.grant.user_id,
        client_id=client.id,
        scope=rotated.scope,
        grant_ids=[rotated.grant.id],
        audience=audience,
        chains={rotated.grant.id: rotated.chain_id},
    )
    entry = GrantTokens(
        rotated.grant.id,
        rotated.grant.organization_id,
        rotated.refresh_token,
        rotated.refresh_scope,
        rotated.grant.project_ids,
    )
    return TokenResponse(access.token, access.expires_in, format_scope(rotated.scope), (entry,))
