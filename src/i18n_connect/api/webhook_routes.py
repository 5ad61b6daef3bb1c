"""Webhooks over the partner API for the app's publisher (``/api/oauth-client/webhooks``):
endpoints, the delivery log and redelivery.

These routes authenticate the app itself with its client credentials — HTTP Basic
``client_id:client_secret`` as at the token endpoint (RFC 6749 §2.3.1), the secret in its
rotation grace included — not a user's token: webhooks belong to the app, not to a grant.
A public client has no secret and manages its webhooks in the developer console. Another
app's endpoint or delivery is 404 ``not_found``, as an unknown one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.api.cursors import DEFAULT_LIMIT, CursorQuery, LimitQuery, cursors_of
from i18n_connect.api.json_route import JsonBodyRoute
from i18n_connect.api.models import NEXT_CURSOR, ErrorBody
from i18n_connect.errors import InvalidClient
from i18n_connect.oauth.client_auth import authenticate_client, client_credentials
from i18n_connect.oauth.clients import Client
from i18n_connect.storage.webhooks import Delivery, Endpoint
from i18n_connect.web.errors import NO_STORE
from i18n_connect.web.sessions import services_of
from i18n_connect.webhooks import endpoints, log

__all__ = ["router"]

router = APIRouter(
    prefix="/api/oauth-client/webhooks", tags=["webhooks"], route_class=JsonBodyRoute
)

_ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody} for status in (400, 401, 404)
}
EndpointId = Annotated[str, Path(max_length=64)]
_STRICT = ConfigDict(extra="forbid")


class EndpointIn(BaseModel):
    model_config = _STRICT
    url: str = Field(max_length=2048)
    event_types: list[str] = Field(max_length=20)


class EndpointChange(BaseModel):
    model_config = _STRICT
    url: str | None = Field(None, max_length=2048)
    event_types: list[str] | None = Field(None, max_length=20)
    enabled: bool | None = None


class RotateIn(BaseModel):
    model_config = _STRICT
    overlap_hours: float = Field(24, ge=0, le=168, description="How long the old secret signs.")


class EndpointOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    status: str = Field(description="active, failing (deliveries gave up) or disabled")
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None
    created_at: datetime
    secret: str | None = Field(None, description="Only when created or rotated: keep it now.")

    @classmethod
    def of(cls, endpoint: Endpoint, secret: str | None = None) -> EndpointOut:
        return cls(
            id=endpoint.id,
            url=endpoint.url,
            event_types=list(endpoint.event_types),
            status=endpoint.status,
            failing_since=endpoint.failing_since,
            previous_secret_expires_at=endpoint.previous_secret_expires_at,
            created_at=endpoint.created_at,
            secret=secret,
        )


class EndpointsOut(BaseModel):
    endpoints: list[EndpointOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR)


class DeliveryOut(BaseModel):
    id: str
    event_id: str = Field(description="The webhook-id header the receiver saw.")
    event_type: str
    endpoint_id: str
    status: str = Field(description="pending, delivered or failed")
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_latency_ms: int | None
    last_response: str | None = Field(description="The first 1 KB of the answer, or the error.")
    last_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        return cls.model_validate(delivery, from_attributes=True)


class DeliveriesOut(BaseModel):
    deliveries: list[DeliveryOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR)


@asynccontextmanager
async def _as_client(request: Request) -> AsyncIterator[tuple[AsyncConnection, Client, datetime]]:
    """A write transaction, the app authenticated in it with its client secret, and now."""
    services = services_of(request)
    now = services.clock.now()
    credentials = client_credentials(request.headers.get("authorization"), {})
    if credentials.secret is None:
        raise InvalidClient("Authenticate with the app's client_id and client_secret (HTTP Basic).")
    async with services.db.transaction() as conn:
        client = await authenticate_client(conn, credentials, hasher=services.hasher, now=now)
        yield conn, client, now


@router.get(
    "/endpoints",
    response_model=EndpointsOut,
    responses=_ERRORS,
    summary="List endpoints, oldest first",
)
async def list_endpoints(
    request: Request, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> EndpointsOut:
    async with _as_client(request) as (conn, client, _now):
        cursors, listing = cursors_of(services_of(request)), f"webhook-endpoints:{client.id}"
        after = cursors.decode(listing, cursor, (str, str))
        found = await endpoints.list_endpoints(
            conn,
            client_id=client.id,
            after=(datetime.fromisoformat(str(after[0])), str(after[1])) if after else None,
            limit=limit + 1,
        )
    page, next_cursor = cursors.page(
        listing, found, limit, lambda endpoint: (endpoint.created_at.isoformat(), endpoint.id)
    )
    return EndpointsOut(
        endpoints=[EndpointOut.of(endpoint) for endpoint in page], next_cursor=next_cursor
    )


@router.post(
    "/endpoints",
    status_code=201,
    response_model=EndpointOut,
    responses=_ERRORS,
    summary="Create an endpoint; its signing secret is in this answer only",
)
async def create_endpoint(request: Request, body: EndpointIn, response: Response) -> EndpointOut:
    async with _as_client(request) as (conn, client, now):
        created = await endpoints.create_endpoint(
            conn,
            services_of(request),
            client_id=client.id,
            url=body.url,
            event_types=body.event_types,
            now=now,
        )
    response.headers.update(NO_STORE)
    return EndpointOut.of(created.endpoint, created.secret)


@router.patch(
    "/endpoints/{endpoint_id}",
    response_model=EndpointOut,
    responses=_ERRORS,
    summary="Change an endpoint's URL or event types, or enable (also a failing one) or disable it",
)
async def change_endpoint(
    request: Request, endpoint_id: EndpointId, body: EndpointChange
) -> EndpointOut:
    async with _as_client(request) as (conn, client, now):
        endpoint = await endpoints.update_endpoint(
            conn,
            services_of(request),
            client_id=client.id,
            endpoint_id=endpoint_id,
            url=body.url,
            event_types=body.event_types,
            now=now,
        )
        if body.enabled is not None:
            endpoint = await endpoints.enable_endpoint(
                conn, client_id=client.id, endpoint_id=endpoint.id, enabled=body.enabled, now=now
            )
    return EndpointOut.of(endpoint)


@router.delete(
    "/endpoints/{endpoint_id}", status_code=204, responses=_ERRORS, summary="Delete an endpoint"
)
async def delete_endpoint(request: Request, endpoint_id: EndpointId) -> Response:
    async with _as_client(request) as (conn, client, _now):
        await endpoints.delete_endpoint(conn, client_id=client.id, endpoint_id=endpoint_id)
    return Response(status_code=204)


@router.post(
    "/endpoints/{endpoint_id}/rotate-secret",
    response_model=EndpointOut,
    responses=_ERRORS,
    summary="Rotate the signing secret; the old one keeps signing for the overlap",
)
async def rotate_secret(
    request: Request, endpoint_id: EndpointId, body: RotateIn, response: Response
) -> EndpointOut:
    async with _as_client(request) as (conn, client, now):
        rotated = await endpoints.rotate_secret(
            conn,
            services_of(request),
            client_id=client.id,
            endpoint_id=endpoint_id,
            overlap=timedelta(hours=body.overlap_hours),
            now=now,
        )
    response.headers.update(NO_STORE)
    return EndpointOut.of(rotated.endpoint, rotated.secret)


@router.get(
    "/deliveries",
    response_model=DeliveriesOut,
    responses=_ERRORS,
    summary="The deliveries, newest first (100 a page unless limit says otherwise)",
)
async def list_deliveries(
    request: Request,
    endpoint_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: LimitQuery = log.MAX_LISTED,
    cursor: CursorQuery = None,
) -> DeliveriesOut:
    async with _as_client(request) as (conn, client, _now):
        cursors, listing = cursors_of(services_of(request)), f"webhook-deliveries:{client.id}"
        after = cursors.decode(listing, cursor, (int,))
        found = await log.deliveries(
            conn,
            client_id=client.id,
            endpoint_id=endpoint_id,
            limit=limit + 1,
            before=int(after[0]) if after else None,
        )
    page, next_cursor = cursors.page(listing, found, limit, lambda delivery: (delivery.seq,))
    return DeliveriesOut(
        deliveries=[DeliveryOut.of(delivery) for delivery in page], next_cursor=next_cursor
    )


@router.post(
    "/deliveries/{delivery_id}/redeliver",
    status_code=201,
    response_model=DeliveryOut,
    responses=_ERRORS,
    summary="Send a delivery's event to its endpoint again (the same webhook-id)",
)
async def redeliver(
    request: Request, delivery_id: Annotated[str, Path(max_length=64)]
) -> DeliveryOut:
    async with _as_client(request) as (conn, client, now):
        again = await log.redeliver(conn, client_id=client.id, delivery_id=delivery_id, now=now)
    return DeliveryOut.of(again)
