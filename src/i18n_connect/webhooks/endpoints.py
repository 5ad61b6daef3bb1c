"""A client's webhook endpoints: create, change, rotate the signing secret, enable, delete.

An endpoint is an https URL with the event types it wants (`events.EVENT_TYPES`). Its signing
secret is returned once, when it is made or rotated; afterwards only the encrypted copy exists
(`secrets.SecretBox`). A rotation keeps the previous secret signing beside the new one for an
overlap the caller chooses (at most 7 days), so a receiver can switch without losing a
delivery. A literal address must pass the same filter as deliveries (`addresses`); a host name
is checked when each delivery resolves it. ``webhook_allow_loopback`` (development) admits
loopback hosts, over http as well.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.addresses import address_allowed
from i18n_connect.errors import InvalidRequest, NotFound
from i18n_connect.ids import new_id
from i18n_connect.services import Services
from i18n_connect.storage import webhooks as stored
from i18n_connect.storage.webhooks import Endpoint
from i18n_connect.webhooks.events import EVENT_TYPES
from i18n_connect.webhooks.secrets import new_signing_secret

__all__ = [
    "MAX_ENDPOINTS",
    "MAX_OVERLAP",
    "Created",
    "create_endpoint",
    "delete_endpoint",
    "enable_endpoint",
    "endpoint_of",
    "list_endpoints",
    "rotate_secret",
    "signing_secrets",
    "update_endpoint",
]

MAX_ENDPOINTS = 10
MAX_OVERLAP = timedelta(days=7)
_MAX_URL_LENGTH = 2048
_LOOPBACK_NAMES = ("localhost",)


@dataclass(frozen=True, slots=True)
class Created:
    """An endpoint with its signing secret, shown this once."""

    endpoint: Endpoint
    secret: str


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, allow_loopback: bool) -> str:
    """The endpoint URL if acceptable; `InvalidRequest` saying why not."""
    if (
        not url
        or len(url) > _MAX_URL_LENGTH
        or any(ord(ch) <= 0x20 or ord(ch) >= 0x7F for ch in url)
    ):
        raise InvalidRequest("url must be at most 2048 printable ASCII characters.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on an invalid port)
    except ValueError as exc:
        raise InvalidRequest("url has an invalid host or port.") from exc
    host = parts.hostname or ""
    loopback = _is_loopback(host)
    if loopback and not allow_loopback:
        raise InvalidRequest("url must not point to a loopback address.")
    if parts.scheme != "https" and not (loopback and parts.scheme == "http"):
        raise InvalidRequest("url must be an https URL.")
    if not host or "@" in parts.netloc or parts.fragment or "#" in url:
        raise InvalidRequest("url must have a host and no user information or fragment.")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return url
    if not address_allowed(str(literal), allow_loopback=allow_loopback):
        raise InvalidRequest("url must not point to a private or otherwise non-public address.")
    return url


def check_event_types(event_types: Sequence[str]) -> list[str]:
    """The event types, each known and listed once, in catalog order."""
    if isinstance(event_types, str) or not event_types:
        raise InvalidRequest("event_types must list at least one event type.")
    unknown = [name for name in event_types if name not in EVENT_TYPES]
    if unknown:
        raise InvalidRequest(
            f"Unknown event type: {', '.join(map(str, unknown[:5]))}. "
            f"Known: {', '.join(EVENT_TYPES)}."
        )
    return [name for name in EVENT_TYPES if name in event_types]


async def list_endpoints(
    conn: AsyncConnection,
    *,
    client_id: str,
    after: tuple[datetime, str] | None = None,
    limit: int | None = None,
) -> list[Endpoint]:
    """The client's endpoints by (created_at, id): those after ``after`` only and at most
    ``limit``, if given."""
    return await stored.list_endpoints(conn, client_id=client_id, after=after, limit=limit)


async def endpoint_of(conn: AsyncConnection, client_id: str, endpoint_id: str) -> Endpoint:
    """The client's endpoint; `NotFound` for another client's or an unknown one."""
    endpoint = await stored.get_endpoint(conn, endpoint_id=endpoint_id, client_id=client_id)
    if endpoint is None:
        raise NotFound("No such webhook endpoint.")
    return endpoint


async def create_endpoint(
    conn: AsyncConnection,
    services: Services,
    *,
    client_id: str,
    url: str,
    event_types: Sequence[str],
    now: datetime,
) -> Created:
    url = check_url(url, allow_loopback=services.settings.webhook_allow_loopback)
    types = check_event_types(event_types)
    if len(await stored.list_endpoints(conn, client_id=client_id)) >= MAX_ENDPOINTS:
        raise InvalidRequest(f"An app has at most {MAX_ENDPOINTS} webhook endpoints.")
    endpoint_id = new_id("whe")
    secret = new_signing_secret()
    await stored.insert_endpoint(
        conn,
        endpoint_id=endpoint_id,
        client_id=client_id,
        url=url,
        event_types=types,
        secret_ciphertext=services.webhook_secrets.seal(secret, endpoint_id=endpoint_id),
        now=now,
    )
    return Created(await endpoint_of(conn, client_id, endpoint_id), secret)


async def update_endpoint(
    conn: AsyncConnection,
    services: Services,
    *,
    client_id: str,
    endpoint_id: str,
    url: str | None,
    event_types: Sequence[str] | None,
    now: datetime,
) -> Endpoint:
    endpoint = await endpoint_of(conn, client_id, endpoint_id)
    await stored.update_endpoint(
        conn,
        endpoint_id=endpoint.id,
        url=endpoint.url
        if url is None
        else check_url(url, allow_loopback=services.settings.webhook_allow_loopback),
        event_types=endpoint.event_types if event_types is None else check_event_types(event_types),
        now=now,
    )
    return await endpoint_of(conn, client_id, endpoint_id)


async def rotate_secret(
    conn: AsyncConnection,
    services: Services,
    *,
    client_id: str,
    endpoint_id: str,
    overlap: timedelta,
    now: datetime,
) -> Created:
    """A new secret; the current one keeps signing for ``overlap`` (0 to 7 days)."""
    if overlap < timedelta(0) or overlap > MAX_OVERLAP:
        raise InvalidRequest("The overlap must be between 0 and 7 days.")
    endpoint = await endpoint_of(conn, client_id, endpoint_id)
    secret = new_signing_secret()
    await stored.rotate_endpoint_secret(
        conn,
        endpoint_id=endpoint.id,
        secret_ciphertext=services.webhook_secrets.seal(secret, endpoint_id=endpoint.id),
        previous_ciphertext=endpoint.secret_ciphertext if overlap else None,
        previous_expires_at=now + overlap if overlap else None,
        now=now,
    )
    return Created(await endpoint_of(conn, client_id, endpoint_id), secret)


async def enable_endpoint(
    conn: AsyncConnection, *, client_id: str, endpoint_id: str, enabled: bool, now: datetime
) -> Endpoint:
    """Enable (also a failing endpoint: its pending deliveries resume) or disable."""
    endpoint = await endpoint_of(conn, client_id, endpoint_id)
    await stored.mark_endpoint(
        conn,
        endpoint_id=endpoint.id,
        status="active" if enabled else "disabled",
        now=now,
        only_from=None,
    )
    return await endpoint_of(conn, client_id, endpoint_id)


async def delete_endpoint(conn: AsyncConnection, *, client_id: str, endpoint_id: str) -> None:
    endpoint = await endpoint_of(conn, client_id, endpoint_id)
    await stored.delete_endpoint(conn, endpoint_id=endpoint.id)


def signing_secrets(endpoint: Endpoint, services: Services, *, now: datetime) -> list[str]:
    """The secrets that sign for the endpoint now: the current one, and the previous one while
    its overlap lasts."""
    box = services.webhook_secrets
    found = [box.open(endpoint.secret_ciphertext, endpoint_id=endpoint.id)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_ciphertext is not None and expires is not None and now < expires:
        found.append(box.open(endpoint.previous_secret_ciphertext, endpoint_id=endpoint.id))
    return found
