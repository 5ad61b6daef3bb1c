"""Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document; MCP
authorization 2025-11-25): a client whose ``client_id`` is an https URL publishes its
metadata at that URL, and needs no registration.

Authorize and the token endpoint fetch before their transaction (a slow
document server must not hold the database): `may_fetch` and `is_cached` say
whether to, `fetch_client` goes to the network and touches no database, and
`store_client` keeps the result in a transaction the edge opens afterwards
(`web/client_documents.py`); `resolve_client` runs inside the request's
transaction. A registered client comes from the database; an https ``client_id`` is
fetched, checked like a registration (`oauth.registration.parse_client_metadata`:
the same redirect URI policy and metadata rules), and cached in
``oauth_clients`` (``origin="metadata_document"``, unverified) until its HTTP
caching headers say it is stale (``max-age``/``Expires``, at most a day, an
hour when the server says nothing; ``no-store``, ``no-cache`` or an expired
date keep it one minute, so that the request that fetched it can use it). A
refused document is not fetched again for five minutes (`RefusalCache`). The
document's ``client_id`` must equal the URL exactly, and the client is public
(``token_endpoint_auth_method: none``).

The fetch is hardened against server-side request forgery: every address the
host resolves to must be public (`i18n_connect.addresses`, shared with webhook
deliveries), and the connection goes to the address that was checked, with TLS
verified against the host name. Redirects are refused, and so is a compressed
body (``Content-Encoding``): the body is limited to 5 KB as sent, the whole
fetch to 3 seconds. ``cimd_allow_loopback`` (tests only)
admits loopback addresses.
"""

from __future__ import annotations

import email.utils
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.addresses import UnsafeAddress, checked_address
from i18n_connect.errors import InvalidClient, InvalidClientMetadata, ProtocolError
from i18n_connect.oauth.clients import Client, get_client
from i18n_connect.oauth.registration import ClientMetadata, parse_client_metadata
from i18n_connect.services import Services
from i18n_connect.storage.oauth_tables import oauth_clients
from i18n_connect.unicode_text import UnpairedSurrogate, json_loads

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "FetchedClient",
    "FetchedDocument",
    "PublicResource",
    "fetch_client",
    "fetch_document",
    "fetch_public",
    "is_cached",
    "is_metadata_document_url",
    "load_metadata_document",
    "may_fetch",
    "resolve_client",
    "store_client",
]

log = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 5 * 1024
FETCH_TIMEOUT_SECONDS = 3.0
_CONNECT_TIMEOUT_SECONDS = 2.0
_DEFAULT_LIFETIME = timedelta(hours=1)
_MIN_LIFETIME = timedelta(minutes=1)  # enough for the request that fetched it
_MAX_LIFETIME = timedelta(days=1)
_MAX_URL_LENGTH = 512
_DOT_SEGMENT = re.compile(r"(^|/)\.{1,2}(/|$)")
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)


def is_metadata_document_url(client_id: str) -> bool:
    """Whether ``client_id`` names a metadata document (an https URL) rather than a registration."""
    return client_id.startswith("https://")


def _check_url(url: str) -> tuple[str, int]:
    """``(host, port)`` of an acceptable document URL; `InvalidClient` otherwise."""
    if len(url) > _MAX_URL_LENGTH or any(ord(ch) <= 0x20 or ord(ch) >= 0x7F for ch in url):
        raise InvalidClient("A client_id URL must be at most 512 printable ASCII characters.")
    try:
        parts = urlsplit(url)
        port = parts.port or 443
    except ValueError as exc:
        raise InvalidClient("The client_id URL has an invalid host or port.") from exc
    if (
        parts.scheme != "https"
        or not parts.hostname
        or "@" in parts.netloc
        or "#" in url
        or parts.path in ("", "/")
        or _DOT_SEGMENT.search(parts.path)
    ):
        raise InvalidClient(
            "A client_id URL must be https with a host and a path, "
            "without user information, fragment or dot segments."
        )
    return parts.hostname, port


async def _checked_address(host: str, port: int, *, allow_loopback: bool, what: str) -> str:
    """The checked address of ``host`` (`addresses.checked_address`); `InvalidClient` otherwise."""
    try:
        return await checked_address(host, port, allow_loopback=allow_loopback)
    except UnsafeAddress as exc:
        if not exc.resolved:
            raise InvalidClient(f"The {what} host {host} does not resolve.") from exc
        raise InvalidClient(
            f"The {what} host resolves to a private, loopback or otherwise non-public address."
        ) from exc


def _lifetime(headers: httpx.Headers, now: datetime) -> timedelta:
    return max(_MIN_LIFETIME, _header_lifetime(headers, now))


def _header_lifetime(headers: httpx.Headers, now: datetime) -> timedelta:
    cache_control = headers.get("cache-control", "")
    directives = {part.strip().split("=", 1)[0].lower() for part in cache_control.split(",")}
    if directives & {"no-store", "no-cache"}:
        return timedelta(0)
    max_age = _MAX_AGE.search(cache_control)
    if max_age is not None:
        return min(timedelta(seconds=int(max_age.group(1))), _MAX_LIFETIME)
    expires = headers.get("expires")
    if expires is not None:
        try:
            moment = email.utils.parsedate_to_datetime(expires)
        except (TypeError, ValueError):
            return timedelta(0)  # an invalid Expires means "already expired" (RFC 9111 §5.3)
        if moment.tzinfo is None:
            return timedelta(0)
        return max(timedelta(0), min(moment - now, _MAX_LIFETIME))
    return _DEFAULT_LIFETIME


class FetchedDocument:
    """A document's parsed JSON and how long it may be cached."""

    def __init__(self, body: Any, lifetime: timedelta) -> None:
        self.body = body
        self.lifetime = lifetime


@dataclass(frozen=True, slots=True)
class PublicResource:
    """What `fetch_public` read: the body as sent and the response's headers."""

    body: bytes
    headers: httpx.Headers


async def _read(response: httpx.Response, *, what: str, max_bytes: int) -> bytes:
    """The body as sent, at most ``max_bytes``. A compressed body is refused unread: decoding
    it first would let a few kilobytes expand to megabytes before the limit applies."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding != "identity":
        raise InvalidClient(
            f"The {what} must be served without Content-Encoding (it came as {encoding[:20]})."
        )
    too_large = InvalidClient(f"The {what} is larger than {max_bytes // 1024} KB.")
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    body = b""
    async for chunk in response.aiter_raw():
        body += chunk
        if len(body) > max_bytes:
            raise too_large
    return body


async def fetch_public(
    url: str,
    host: str,
    port: int,
    *,
    what: str,
    url_what: str,
    accept: str,
    max_bytes: int,
    allow_loopback: bool,
) -> PublicResource:
    """GET ``url`` (already checked to be https on ``host``:``port``) under the rules above:
    public addresses only, pinned to the checked one, no redirects, no compression, at most
    ``max_bytes`` within `FETCH_TIMEOUT_SECONDS`. `InvalidClient` names the ``what`` that
    failed (the ``url_what`` for the host's address)."""
    parts = urlsplit(url)
    try:
        with anyio.fail_after(FETCH_TIMEOUT_SECONDS):
            address = await _checked_address(
                host, port, allow_loopback=allow_loopback, what=url_what
            )
            literal = f"[{address}]" if ":" in address else address
            pinned = parts._replace(netloc=f"{literal}:{port}").geturl()
            async with (
                httpx.AsyncClient(
                    verify=httpx.create_ssl_context(),
                    trust_env=False,  # no proxies: the checked address is the one connected to
                    follow_redirects=False,
                    timeout=httpx.Timeout(FETCH_TIMEOUT_SECONDS, connect=_CONNECT_TIMEOUT_SECONDS),
                ) as client,
                client.stream(
                    "GET",
                    pinned,
                    headers={
                        "Host": parts.netloc,
                        "Accept": accept,
                        "Accept-Encoding": "identity",
                    },
                    extensions={"sni_hostname": host},
                ) as response,
            ):
                if response.is_redirect:
                    raise InvalidClient(f"The {what} URL redirects.")
                if response.status_code != 200:
                    raise InvalidClient(f"The {what} answered HTTP {response.status_code}.")
                body = await _read(response, what=what, max_bytes=max_bytes)
                return PublicResource(body, response.headers)
    except TimeoutError as exc:
        raise InvalidClient(f"The {what} took too long to fetch.") from exc
    except httpx.HTTPError as exc:
        raise InvalidClient(f"The {what} could not be fetched.") from exc


async def fetch_document(url: str, *, allow_loopback: bool, now: datetime) -> FetchedDocument:
    """GET the document at ``url`` under the rules above; `InvalidClient` when that fails."""
    host, port = _check_url(url)
    fetched = await fetch_public(
        url,
        host,
        port,
        what="client metadata document",
        url_what="client_id",
        accept="application/json",
        max_bytes=MAX_DOCUMENT_BYTES,
        allow_loopback=allow_loopback,
    )
    try:
        return FetchedDocument(json_loads(fetched.body), _lifetime(fetched.headers, now))
    except UnpairedSurrogate:
        raise InvalidClientMetadata(
            "The client metadata document holds text that is not valid Unicode "
            "(an unpaired surrogate)."
        ) from None
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidClientMetadata("The client metadata document is not JSON.") from exc


def _validated(url: str, document: Any) -> ClientMetadata:
    if not isinstance(document, dict):
        raise InvalidClientMetadata("The client metadata document must be a JSON object.")
    if document.get("client_id") != url:
        raise InvalidClientMetadata(
            "The document's client_id must equal the URL it is served from, exactly."
        )
    if "client_secret" in document or "client_secret_expires_at" in document:
        raise InvalidClientMetadata("A client metadata document may not carry a client secret.")
    metadata = parse_client_metadata(document, default_auth_method="none")
    if metadata.confidential:
        raise InvalidClientMetadata(
            "A metadata document client is public: token_endpoint_auth_method must be none."
        )
    return metadata


async def load_metadata_document(
    url: str, *, allow_loopback: bool, now: datetime
) -> tuple[ClientMetadata, datetime]:
    """The checked metadata at ``url`` and when to fetch it again.

    Raises `InvalidClient` when the document cannot be fetched and
    `InvalidClientMetadata`/`InvalidRedirectUri` when its content is refused.
    """
    fetched = await fetch_document(url, allow_loopback=allow_loopback, now=now)
    return _validated(url, fetched.body), now + fetched.lifetime


@dataclass(frozen=True, slots=True)
class FetchedClient:
    """A checked metadata document, to be stored as the client ``url``."""

    url: str
    metadata: ClientMetadata
    expires_at: datetime


async def store_client(conn: AsyncConnection, fetched: FetchedClient, *, now: datetime) -> None:
    """Keep a fetched document as its client, replacing a stale copy."""
    url, metadata, expires_at = fetched.url, fetched.metadata, fetched.expires_at
    values = {
        "name": metadata.client_name,
        "secret_hash": None,
        "token_endpoint_auth_method": "none",
        "redirect_uris": list(metadata.redirect_uris),
        "scope": metadata.scope,
        "client_uri": metadata.client_uri,
        "logo_uri": metadata.logo_uri,
        "grant_types": list(metadata.grant_types),
        "metadata_expires_at": expires_at,
        "deleted_at": None,  # a deleted document client comes back as a new one when used
    }
    insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = insert(oauth_clients).values(
        id=url, origin="metadata_document", verified=False, created_at=now, **values
    )
    await conn.execute(
        statement.on_conflict_do_update(index_elements=[oauth_clients.c.id], set_=values)
    )


async def _fresh(conn: AsyncConnection, client_id: str, now: datetime) -> bool | None:
    """Whether the stored client is usable without a fetch; ``None`` when there is none."""
    row = (
        await conn.execute(
            select(oauth_clients.c.origin, oauth_clients.c.metadata_expires_at).where(
                oauth_clients.c.id == client_id
            )
        )
    ).first()
    if row is None:
        return None
    return row.origin != "metadata_document" or (
        row.metadata_expires_at is not None and row.metadata_expires_at > now
    )


def may_fetch(client_id: str, *, services: Services, now: datetime) -> bool:
    """Whether ``client_id`` is a metadata document URL not refused in the last five minutes
    (`RefusalCache`, per process)."""
    return is_metadata_document_url(client_id) and not services.document_refusals.refused(
        client_id, now
    )


async def is_cached(conn: AsyncConnection, client_id: str, *, now: datetime) -> bool:
    """Whether the stored client is usable without a fetch."""
    return bool(await _fresh(conn, client_id, now))


async def fetch_client(
    client_id: str, *, services: Services, now: datetime
) -> FetchedClient | None:
    """Fetch and check the document of ``client_id``; ``None`` when it is refused, which is
    logged and remembered for five minutes: until then the URL is not fetched again.

    Network only, no database: call it outside any transaction, since the fetch may take
    seconds and must not hold the database (SQLite's write lock) meanwhile.
    """
    try:
        metadata, expires_at = await load_metadata_document(
            client_id, allow_loopback=services.settings.cimd_allow_loopback, now=now
        )
    except ProtocolError as exc:
        services.document_refusals.remember(client_id, now)
        log.warning(
            "client metadata document refused",
            extra={"client_id": client_id[:_MAX_URL_LENGTH], "reason": exc.description},
        )
        return None
    return FetchedClient(client_id, metadata, expires_at)


async def resolve_client(
    conn: AsyncConnection, client_id: str, *, services: Services
) -> Client | None:
    """The client named ``client_id``, or ``None`` when it is unknown — including a metadata
    document client whose cached document is missing or stale (fetch first).

    Call this instead of `get_client` wherever a client arrives from outside
    (authorize, the token endpoint). It never touches the network.
    """
    if is_metadata_document_url(client_id) and not await _fresh(
        conn, client_id, services.clock.now()
    ):
        return None
    return await get_client(conn, client_id)
