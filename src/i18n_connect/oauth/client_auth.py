"""Client authentication at the token endpoint (RFC 6749 §2.3.1, §3.2.1; RFC 7591 §2).

Three methods: ``client_secret_basic`` (HTTP Basic whose user and password are
the form-urlencoded client id and secret), ``client_secret_post`` (both in the
body) and ``none`` (a public client names itself with ``client_id``). A request
that uses more than one method is malformed. A confidential client may use
either secret method; it must use one. Every failure to authenticate — unknown
or deleted client, wrong secret, missing secret, a secret sent by a public
client — is ``invalid_client``. Secrets are compared in constant time. Basic with
an empty password names a public client (method ``none``). After a rotation the
previous secret is accepted until its grace deadline (`oauth.client_lifecycle`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import unquote_plus

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.errors import InvalidClient, InvalidRequest
from i18n_connect.ids import SecretHasher
from i18n_connect.oauth.clients import AuthMethod, Client, get_client
from i18n_connect.oauth.metadata_documents import resolve_client
from i18n_connect.services import Services
from i18n_connect.storage import clients as clients_storage

__all__ = [
    "ClientCredentials",
    "authenticate_client",
    "client_credentials",
    "stamp_last_used",
    "uses_basic",
]

_LAST_USED_RESOLUTION = timedelta(minutes=1)  # spares a write on every request of a busy client


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    client_id: str
    secret: str | None
    method: AuthMethod


def uses_basic(authorization: str | None) -> bool:
    """Whether an ``Authorization`` header carries HTTP Basic credentials."""
    return authorization is not None and authorization[:6].lower() == "basic "


def _basic(authorization: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClient("The Basic credentials are not valid base64.") from exc
    user, sep, password = decoded.partition(":")
    if not sep or not user:
        raise InvalidClient("The Basic credentials must be client_id:client_secret.")
    return unquote_plus(user), unquote_plus(password)


def client_credentials(authorization: str | None, params: Mapping[str, str]) -> ClientCredentials:
    """Which client the request claims to be and how it proves it (nothing checked yet)."""
    body_id = params.get("client_id")
    body_secret = params.get("client_secret")
    if authorization is not None:
        if not uses_basic(authorization):
            raise InvalidClient("The token endpoint accepts only HTTP Basic client authentication.")
        if body_secret is not None:
            raise InvalidRequest("Use one client authentication method, not Basic and the body.")
        client_id, secret = _basic(authorization)
        if body_id is not None and body_id != client_id:
            raise InvalidRequest("client_id differs from the authenticated client.")
        if not secret:  # "client_id:" — how some libraries name a public client in Basic
            return ClientCredentials(client_id, None, "none")
        return ClientCredentials(client_id, secret, "client_secret_basic")
    if body_id is None:
        raise InvalidClient("The request names no client: send client_id.")
    if body_secret is not None:
        return ClientCredentials(body_id, body_secret, "client_secret_post")
    return ClientCredentials(body_id, None, "none")


async def authenticate_client(
    conn: AsyncConnection,
    credentials: ClientCredentials,
    *,
    hasher: SecretHasher,
    now: datetime,
    services: Services | None = None,
    stamp: bool = True,
) -> Client:
    """The authenticated client; `InvalidClient` when the credentials do not prove it.

    ``stamp=False`` leaves ``last_used_at`` to the caller (`stamp_last_used`), e.g. to
    write it only when the request succeeds.

    With ``services``, an https ``client_id`` is resolved as a client ID metadata
    document (fetched again once its cached copy is stale).
    """
    client = (
        await resolve_client(conn, credentials.client_id, services=services)
        if services is not None
        else await get_client(conn, credentials.client_id)
    )
    if client is None:
        if credentials.secret is not None:  # the same work as a real comparison
            hasher.matches(credentials.secret, None)
        raise InvalidClient("Unknown client; register again.")
    if client.is_confidential:
        if credentials.secret is None or client.secret_hash is None:
            raise InvalidClient("This client must authenticate with its client secret.")
        if not _secret_matches(client, credentials.secret, hasher=hasher, now=now):
            raise InvalidClient("Client authentication failed.")
    elif credentials.secret is not None:
        raise InvalidClient("This public client has no secret; authenticate with client_id only.")
    if stamp:
        await stamp_last_used(conn, client, now=now)
    return client


def _secret_matches(client: Client, secret: str, *, hasher: SecretHasher, now: datetime) -> bool:
    """The current secret, or the one rotated out while its grace lasts; both are compared
    every time, in constant time, so timing tells neither apart."""
    current = hasher.matches(secret, client.secret_hash)
    previous = hasher.matches(secret, client.previous_secret_hash)
    return current or (previous and client.previous_secret_accepted(now))


async def stamp_last_used(conn: AsyncConnection, client: Client, *, now: datetime) -> None:
    """Record that the client was just used (at most one write a minute)."""
    if client.last_used_at is None or client.last_used_at < now - _LAST_USED_RESOLUTION:
        await clients_storage.stamp_last_used(conn, client.id, now=now)
