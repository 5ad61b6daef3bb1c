"""Installation tokens and grants over the partner API (SPEC §4): mint, revoke, ``/me``.

These routes take the OAuth access token (audience: the partner API), never
an installation token. A grant the access token does not cover is
indistinguishable from an unknown one (404 ``grant_not_found``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Path, Request, Response
from starlette.routing import Route

from i18n_connect import grants, installations
from i18n_connect.api.auth import AccessToken, access_token_of
from i18n_connect.api.json_route import JsonBodyRoute
from i18n_connect.api.metrics import grant_metrics
from i18n_connect.api.models import (
    ErrorBody,
    MeClient,
    MeGrant,
    MeOut,
    MeUser,
    MintRequest,
    MintResponse,
    OrganizationOut,
)
from i18n_connect.errors import GrantNotFound, InvalidToken
from i18n_connect.oauth import chains
from i18n_connect.oauth.access_tokens import AccessTokenClaims
from i18n_connect.oauth.clients import get_client
from i18n_connect.platform.accounts import get_user
from i18n_connect.storage.organizations import organizations_by_id
from i18n_connect.unicode_text import json_loads
from i18n_connect.web.errors import NO_STORE
from i18n_connect.web.hot_routes import Declined
from i18n_connect.web.sessions import services_of

__all__ = ["mint_route", "router"]

router = APIRouter(prefix="/api/oauth-client", tags=["installations"], route_class=JsonBodyRoute)

_ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody} for status in (400, 401, 404, 410, 429)
}
GrantId = Annotated[str, Path(max_length=64)]


@router.post(
    "/installations/{grant_id}/tokens",
    status_code=201,
    response_model=MintResponse,
    responses=_ERRORS,
    summary="Mint an installation token for a grant (access token)",
)
async def mint_installation_token(
    request: Request,
    grant_id: GrantId,
    claims: AccessToken,
    response: Response,
    body: Annotated[MintRequest | None, Body()] = None,
) -> MintResponse:
    """The token is a credential: never stored by a cache (as RFC 6749 §5.1 asks of tokens)."""
    response.headers.update(NO_STORE)
    return await _minted(request, grant_id, claims, body or MintRequest())


async def _minted(
    request: Request, grant_id: str, claims: AccessTokenClaims, body: MintRequest
) -> MintResponse:
    services = services_of(request)
    now = services.clock.now()
    async with services.db.transaction() as conn:
        minted = await installations.mint(
            conn,
            claims=claims,
            grant_id=grant_id,
            project_ids=body.project_ids,
            scopes=body.scopes,
            now=now,
            hasher=services.hasher,
            mints_per_minute=services.settings.mint_rate_per_minute,
        )
    grant_metrics(request).tokens_minted.inc()
    return MintResponse(
        installation_token=minted.token,
        expires_at=minted.expires_at,
        expires_in=int(installations.TOKEN_LIFETIME.total_seconds()),
        organization_id=minted.organization_id,
        project_ids=list(minted.project_ids),
        scopes=list(minted.scopes),
    )


async def _hot_mint(request: Request) -> Response:
    """`mint_installation_token` as a plain Starlette route (`web.hot_routes`): the same
    answers, in the same order (the body is read before the access token is checked)."""
    body = await _plain_body(request)
    claims = await access_token_of(request)
    minted = await _minted(request, request.path_params["grant_id"], claims, body)
    answer = Response(
        minted.model_dump_json(by_alias=True), status_code=201, media_type="application/json"
    )
    answer.headers.update(NO_STORE)  # after the content headers, as FastAPI adds them
    return answer


async def _plain_body(request: Request) -> MintRequest:
    """The body as FastAPI reads it: empty, or JSON (``application/json``) that is a valid
    `MintRequest` without an unpaired surrogate (`unicode_text`); anything else is `Declined`,
    for the FastAPI route to answer (a 400 that names the first problem). A body that cannot
    be read is FastAPI's 400 too."""
    try:
        raw = await request.body()
    except Exception as exc:  # a client gone, or a chunked body over the limit
        raise HTTPException(400, "There was an error parsing the body") from exc
    if not raw:
        return MintRequest()
    content_type = request.headers.get("content-type", "")
    if content_type.partition(";")[0].strip().lower() != "application/json":
        raise Declined(raw)
    try:
        return MintRequest.model_validate(json_loads(raw))
    except (ValueError, RecursionError):  # JSON, text or validation errors (ValidationError)
        raise Declined(raw) from None


# A plain Starlette route: one of the app's hot routes (`web.hot_routes`).
mint_route = Route(router.prefix + "/installations/{grant_id}/tokens", _hot_mint, methods=["POST"])


@router.delete(
    "/installations/{grant_id}",
    status_code=204,
    response_class=Response,
    responses={status: {"model": ErrorBody} for status in (400, 401, 404)},
    summary="Revoke a grant and every token issued under it (access token; idempotent)",
)
async def revoke_installation(request: Request, grant_id: GrantId, claims: AccessToken) -> Response:
    if grant_id not in claims.grant_ids:
        raise GrantNotFound()
    services = services_of(request)
    async with services.db.transaction() as conn:
        grant = await grants.get_grant(conn, grant_id)
        if grant is None or grant.client_id != claims.client_id or grant.user_id != claims.sub:
            raise GrantNotFound()
        if grant_id in await chains.ended_grants(conn, claims):
            raise InvalidToken(installations.ENDED_CHAIN)
        revoked = await grants.revoke_grant(
            conn, grant_id, actor=claims.client_id, now=services.clock.now(), reason="partner_api"
        )
    if revoked:
        grant_metrics(request).grants_revoked.labels(via="partner_api").inc()
    return Response(status_code=204)


@router.get(
    "/me",
    response_model=MeOut,
    responses={401: {"model": ErrorBody}},
    summary="The user, the client and the live grants of the access token",
)
async def me(request: Request, claims: AccessToken) -> MeOut:
    services = services_of(request)
    async with services.db.transaction(readonly=True) as conn:
        user = await get_user(conn, claims.sub)
        client = await get_client(conn, claims.client_id)
        if user is None or client is None:
            raise InvalidToken("The user or client of this access token no longer exists.")
        mine = {
            grant.id: grant
            for grant in await grants.list_grants(conn, user_id=user.id, client_id=client.id)
        }
        ended = await chains.ended_grants(conn, claims)
        live = [
            mine[grant_id]
            for grant_id in claims.grant_ids
            if grant_id in mine and grant_id not in ended
        ]
        found = await organizations_by_id(
            conn, organization_ids=[grant.organization_id for grant in live]
        )
        orgs = {
            org.id: OrganizationOut(id=org.id, slug=org.slug, name=org.name)
            for org in found.values()
        }
    return MeOut(
        user=MeUser(id=user.id, email=user.email, name=user.name),
        client=MeClient(client_id=client.id, name=client.name),
        grants=[
            MeGrant(
                grant_id=grant.id,
                organization=orgs[grant.organization_id],
                scopes=list(grant.scope),
                projects=grants.published_projects(grant.project_ids),
                created_at=grant.created_at,
                last_used_at=grant.last_used_at,
            )
            for grant in live
        ],
    )
