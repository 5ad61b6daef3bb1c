"""The client configuration endpoint of self-registered clients (RFC 7592 §2).

Every request carries the client's registration access token as a Bearer token. A missing or
wrong token, a token of another client, and an unknown or deleted client are all the same 401
``invalid_token`` (§2.1: no way to learn which client ids exist); the token is kept only as a
hash and compared in constant time. GET returns the client information response (§3) with the
presented token; PUT replaces the metadata (§2.2); DELETE deletes the client and revokes every
grant it holds (§2.3). Problems with a PUT body are RFC 7591 §3.2.2 errors:
``invalid_redirect_uri`` for a redirect URI, ``invalid_client_metadata`` for the rest — also a
``client_id`` other than the URL's, a ``client_secret`` other than the current one (a client
cannot choose its own secret), and a read-only field (``registration_access_token``,
``registration_client_uri``, ``client_secret_expires_at``, ``client_id_issued_at``) holding
anything but the value the server gave it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.errors import InvalidClientMetadata, InvalidToken
from i18n_connect.ids import SecretHasher
from i18n_connect.oauth import client_lifecycle
from i18n_connect.oauth.clients import AuthMethod, Client, get_client
from i18n_connect.oauth.registration import (
    SECRET_EXPIRES_AT,
    client_information,
    configuration_uri,
    parse_client_metadata,
)

__all__ = ["authenticated", "delete", "read", "replace"]

_NOT_VALID = "The registration access token is not valid for this client."


async def authenticated(
    conn: AsyncConnection, client_id: str, token: str, *, hasher: SecretHasher
) -> Client:
    """The client whose registration access token ``token`` is (empty: none was presented);
    `InvalidToken` otherwise."""
    client = await get_client(conn, client_id)
    stored = client.registration_token_hash if client is not None else None
    matches = hasher.matches(token, stored)  # the same work every time
    if client is None or stored is None or not token or not matches:
        raise InvalidToken(_NOT_VALID)
    return client


async def read(
    conn: AsyncConnection, client_id: str, token: str, *, hasher: SecretHasher, issuer: str
) -> dict[str, Any]:
    """The client information response (§2.1); the registration access token is not rotated."""
    client = await authenticated(conn, client_id, token, hasher=hasher)
    return client_information(client, issuer=issuer, registration_token=token)


def _check_read_only_fields(
    raw: Mapping[str, Any], client: Client, token: str, *, hasher: SecretHasher, issuer: str
) -> None:
    """§2.2: the request MUST NOT include the server's fields; a client that sends back what
    it read unchanged is tolerated, any other value is refused."""
    if raw.get("client_id") != client.id:
        raise InvalidClientMetadata("client_id is required and must be this client's id.")
    expected = {
        "registration_client_uri": configuration_uri(issuer, client.id),
        "client_secret_expires_at": SECRET_EXPIRES_AT,
        "client_id_issued_at": int(client.created_at.timestamp()),
    }
    for name, value in expected.items():
        if name in raw and (raw[name] != value or isinstance(raw[name], bool)):
            raise InvalidClientMetadata(f"{name} is set by the server and cannot be changed.")
    presented = raw.get("registration_access_token", token)
    if not isinstance(presented, str) or not hasher.matches(presented, hasher.hash(token)):
        raise InvalidClientMetadata(
            "registration_access_token is set by the server and cannot be changed."
        )
    secret = raw.get("client_secret")
    if secret is not None and not (
        isinstance(secret, str)
        and client.secret_hash is not None
        and hasher.matches(secret, client.secret_hash)
    ):
        raise InvalidClientMetadata(
            "client_secret must be the current secret; a client cannot choose its own."
        )


async def replace(
    conn: AsyncConnection,
    client: Client,
    token: str,
    raw: Any,
    *,
    hasher: SecretHasher,
    issuer: str,
    now: datetime,
) -> dict[str, Any]:
    """Replace the client's metadata with ``raw`` (§2.2); the client information response.

    Omitted fields are cleared (defaults apply), but an omitted ``token_endpoint_auth_method``
    keeps the current one. The client secret is kept. ``client`` comes from `authenticated`.
    """
    if not isinstance(raw, Mapping):
        raise InvalidClientMetadata("The client metadata must be a JSON object.")
    _check_read_only_fields(raw, client, token, hasher=hasher, issuer=issuer)
    metadata = parse_client_metadata(raw, default_auth_method=client.token_endpoint_auth_method)
    updated = await client_lifecycle.update_client(
        conn,
        client,
        name=metadata.client_name,
        redirect_uris=metadata.redirect_uris,
        scope=metadata.scope,
        token_endpoint_auth_method=cast(AuthMethod, metadata.token_endpoint_auth_method),
        client_uri=metadata.client_uri,
        logo_uri=metadata.logo_uri,
        grant_types=metadata.grant_types,
        actor=client.id,
        now=now,
    )
    return client_information(updated, issuer=issuer, registration_token=token)


async def delete(
    conn: AsyncConnection, client_id: str, token: str, *, hasher: SecretHasher, now: datetime
) -> None:
    """Delete the client and revoke its grants (§2.3); its token then stops working."""
    client = await authenticated(conn, client_id, token, hasher=hasher)
    await client_lifecycle.delete_client(
        conn, client, actor=client.id, now=now, reason="client_deleted"
    )
