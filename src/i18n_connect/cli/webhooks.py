"""``i18n-connect webhooks``: an app's webhook endpoints and deliveries, for the operator."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import typer

from i18n_connect.cli.output import JsonOption, emit, iso
from i18n_connect.cli.runner import run_async
from i18n_connect.oauth.client_lifecycle import existing_client
from i18n_connect.services import Services
from i18n_connect.storage.webhooks import Delivery, Endpoint
from i18n_connect.webhooks import endpoints, log

__all__ = ["group"]

group = typer.Typer(help="Webhooks: an app's endpoints and deliveries.", no_args_is_help=True)

ClientArg = Annotated[str, typer.Argument(help="The app's client_id.")]
EndpointArg = Annotated[str, typer.Argument(help="The endpoint's id (whe_...).")]


def _endpoint_json(endpoint: Endpoint, secret: str | None = None) -> dict[str, Any]:
    shown = {
        "id": endpoint.id,
        "url": endpoint.url,
        "event_types": list(endpoint.event_types),
        "status": endpoint.status,
        "failing_since": iso(endpoint.failing_since) if endpoint.failing_since else None,
        "created_at": iso(endpoint.created_at),
    }
    return shown | ({"secret": secret} if secret else {})


def _delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "endpoint_id": delivery.endpoint_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_status_code": delivery.last_status_code,
        "last_latency_ms": delivery.last_latency_ms,
        "last_response": delivery.last_response,
        "created_at": iso(delivery.created_at),
    }


def _endpoint_line(row: dict[str, Any]) -> str:
    return f"{row['id']:<28} {row['status']:<9} {row['url']}  [{', '.join(row['event_types'])}]"


@group.command("list")
def webhooks_list(client_id: ClientArg, as_json: JsonOption = False) -> None:
    """List the app's endpoints.

    Example: i18n-connect webhooks list cli_0123 --json
    """

    async def work(services: Services) -> list[dict[str, Any]]:
        async with services.db.transaction(readonly=True) as conn:
            await existing_client(conn, client_id)
            return [
                _endpoint_json(e) for e in await endpoints.list_endpoints(conn, client_id=client_id)
            ]

    rows = run_async(work)
    text = "\n".join(_endpoint_line(row) for row in rows) if rows else "no endpoints"
    emit({"endpoints": rows}, as_json, text)


@group.command("add")
def webhooks_add(
    client_id: ClientArg,
    url: Annotated[str, typer.Argument(help="An https URL.")],
    event: Annotated[list[str], typer.Option("--event", help="An event type; repeat for several.")],
    as_json: JsonOption = False,
) -> None:
    """Add an endpoint; its signing secret is printed this once.

    Example: i18n-connect webhooks add cli_0123 https://app.example/hooks --event grant.revoked
    """

    async def work(services: Services) -> dict[str, Any]:
        async with services.db.transaction() as conn:
            await existing_client(conn, client_id)
            created = await endpoints.create_endpoint(
                conn,
                services,
                client_id=client_id,
                url=url,
                event_types=event,
                now=services.clock.now(),
            )
        return _endpoint_json(created.endpoint, created.secret)

    row = run_async(work)
    emit(row, as_json, f"{_endpoint_line(row)}\nsigning secret (shown once): {row['secret']}")


@group.command("rotate-secret")
def webhooks_rotate(
    client_id: ClientArg,
    endpoint_id: EndpointArg,
    overlap_hours: Annotated[
        float, typer.Option(help="How long the old secret keeps signing (at most 168).")
    ] = 24,
    as_json: JsonOption = False,
) -> None:
    """Rotate an endpoint's signing secret; the new one is printed this once.

    Example: i18n-connect webhooks rotate-secret cli_0123 whe_0123 --overlap-hours 48
    """

    async def work(services: Services) -> dict[str, Any]:
        async with services.db.transaction() as conn:
            rotated = await endpoints.rotate_secret(
                conn,
                services,
                client_id=client_id,
                endpoint_id=endpoint_id,
                overlap=timedelta(hours=overlap_hours),
                now=services.clock.now(),
            )
        return _endpoint_json(rotated.endpoint, rotated.secret)

    row = run_async(work)
    emit(row, as_json, f"signing secret (shown once): {row['secret']}")


def _set_enabled(client_id: str, endpoint_id: str, enabled: bool, as_json: bool) -> None:
    async def work(services: Services) -> dict[str, Any]:
        async with services.db.transaction() as conn:
            endpoint = await endpoints.enable_endpoint(
                conn,
                client_id=client_id,
                endpoint_id=endpoint_id,
                enabled=enabled,
                now=services.clock.now(),
            )
        return _endpoint_json(endpoint)

    row = run_async(work)
    emit(row, as_json, _endpoint_line(row))


@group.command("enable")
def webhooks_enable(
    client_id: ClientArg, endpoint_id: EndpointArg, as_json: JsonOption = False
) -> None:
    """Enable an endpoint (also a failing one: its pending deliveries resume).

    Example: i18n-connect webhooks enable cli_0123 whe_0123
    """
    _set_enabled(client_id, endpoint_id, True, as_json)


@group.command("disable")
def webhooks_disable(
    client_id: ClientArg, endpoint_id: EndpointArg, as_json: JsonOption = False
) -> None:
    """Disable an endpoint: no new deliveries are queued for it.

    Example: i18n-connect webhooks disable cli_0123 whe_0123
    """
    _set_enabled(client_id, endpoint_id, False, as_json)


@group.command("delete")
def webhooks_delete(
    client_id: ClientArg, endpoint_id: EndpointArg, as_json: JsonOption = False
) -> None:
    """Delete an endpoint and its deliveries.

    Example: i18n-connect webhooks delete cli_0123 whe_0123
    """

    async def work(services: Services) -> None:
        async with services.db.transaction() as conn:
            await endpoints.delete_endpoint(conn, client_id=client_id, endpoint_id=endpoint_id)

    run_async(work)
    emit({"deleted": endpoint_id}, as_json, f"deleted {endpoint_id}")


@group.command("deliveries")
def webhooks_deliveries(
    client_id: ClientArg,
    endpoint: Annotated[str | None, typer.Option(help="Only this endpoint.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The app's newest deliveries (100), newest first.

    Example: i18n-connect webhooks deliveries cli_0123 --endpoint whe_0123
    """

    async def work(services: Services) -> list[dict[str, Any]]:
        async with services.db.transaction(readonly=True) as conn:
            await existing_client(conn, client_id)
            found = await log.deliveries(conn, client_id=client_id, endpoint_id=endpoint)
            return [_delivery_json(delivery) for delivery in found]

    rows = run_async(work)
    lines = [
        f"{r['id']:<28} {r['event_type']:<28} {r['status']:<10} "
        f"{r['last_status_code'] or '-':<4} {r['attempts']} attempt(s)"
        for r in rows
    ]
    emit({"deliveries": rows}, as_json, "\n".join(lines) if rows else "no deliveries")


@group.command("redeliver")
def webhooks_redeliver(
    client_id: ClientArg,
    delivery_id: Annotated[str, typer.Argument(help="The delivery's id (whd_...).")],
    as_json: JsonOption = False,
) -> None:
    """Send a delivery's event to its endpoint again (the same webhook-id).

    Example: i18n-connect webhooks redeliver cli_0123 whd_0123
    """

    async def work(services: Services) -> dict[str, Any]:
        async with services.db.transaction() as conn:
            again = await log.redeliver(
                conn, client_id=client_id, delivery_id=delivery_id, now=services.clock.now()
            )
        return _delivery_json(again)

    row = run_async(work)
    emit(row, as_json, f"queued {row['id']} ({row['event_type']})")
