"""Dynamic client registration (RFC 7591 §2, §3) and the client-metadata rules it shares
with client ID metadata documents.

`parse_client_metadata` checks a metadata object: redirect URIs follow the
policy of `oauth.clients.validate_redirect_uri` (→ ``invalid_redirect_uri``);
everything else that is wrong — grant types other than ``authorization_code``,
``refresh_token`` and the device code grant (RFC 8628 §7.2), or without
``authorization_code``; response types other than ``code``; an unknown scope; a
non-https ``client_uri``/``logo_uri``/``tos_uri``/``policy_uri``; an oversized or
non-string name — is ``invalid_client_metadata`` (§3.2.2). Unknown fields are
ignored (§2). `register` stores a client with ``origin="registration"``,
unverified, and answers with the §3.2.1 body, which always states the
``token_endpoint_auth_method`` in force and, per RFC 7592 §3, the client's
``registration_client_uri`` and ``registration_access_token``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.errors import InvalidClientMetadata, InvalidRedirectUri, InvalidScope
from i18n_connect.ids import SecretHasher, new_secret
from i18n_connect.oauth.clients import (
    AUTH_METHODS,
    Client,
    create_client,
    validate_client_name,
    validate_redirect_uri,
)
from i18n_connect.scopes import DEFAULT_SCOPES, format_scope, parse_scope
from i18n_connect.storage.clients import DEFAULT_GRANT_TYPES

__all__ = [
    "DEVICE_CODE_GRANT",
    "GRANT_TYPES",
    "REGISTRATION_PATH",
    "RESPONSE_TYPES",
    "ClientMetadata",
    "client_information",
    "configuration_uri",
    "parse_client_metadata",
    "register",
]

REGISTRATION_PATH = "/api/auth/mcp/register"
REGISTRATION_TOKEN_PREFIX = "rat_"  # noqa: S105 (a prefix)
SECRET_EXPIRES_AT = 0  # client secrets do not expire (RFC 7591 §3.2.1)

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"  # RFC 8628 §7.2
GRANT_TYPES = (*DEFAULT_GRANT_TYPES, DEVICE_CODE_GRANT)
RESPONSE_TYPES = ("code",)
_MAX_URI_LENGTH = 2000
_MAX_REDIRECT_URIS = 20
_DEFAULT_NAME = "Unnamed app"
_LINK_FIELDS = ("client_uri", "logo_uri", "tos_uri", "policy_uri")


@dataclass(frozen=True, slots=True)
class ClientMetadata:
    """The parts of RFC 7591 metadata this server uses, checked."""

    client_name: str
    redirect_uris: tuple[str, ...]
    token_endpoint_auth_method: str
    scope: str | None  # None: the default-on scopes
    client_uri: str | None
    logo_uri: str | None
    grant_types: tuple[str, ...] = DEFAULT_GRANT_TYPES  # refresh_token is always allowed

    @property
    def confidential(self) -> bool:
        return self.token_endpoint_auth_method != "none"  # noqa: S105 (a method name)


def _string_list(raw: Mapping[str, Any], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = raw.get(name)
    if value is None:
        return default
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidClientMetadata(f"{name} must be an array of strings.")
    return tuple(value)


def _optional_string(raw: Mapping[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidClientMetadata(f"{name} must be a string.")
    return value


def _https_link(raw: Mapping[str, Any], name: str) -> str | None:
    value = _optional_string(raw, name)
    if value is None:
        return None
    try:
        parts = urlsplit(value) if len(value) <= _MAX_URI_LENGTH else None
    except ValueError:  # e.g. an unclosed "[" in the host
        parts = None
    if (
        parts is None
        or parts.scheme != "https"
        or not parts.hostname
        or "@" in parts.netloc
        or any(ord(ch) <= 0x20 or ord(ch) >= 0x7F for ch in value)
    ):
        raise InvalidClientMetadata(f"{name} must be an https URL of at most 2000 characters.")
    return value


def _redirect_uris(raw: Mapping[str, Any]) -> tuple[str, ...]:
    value = raw.get("redirect_uris")
    if not isinstance(value, list) or not value:
        raise InvalidRedirectUri("redirect_uris must be a non-empty array of URIs.")
    if len(value) > _MAX_REDIRECT_URIS:
        raise InvalidRedirectUri(f"At most {_MAX_REDIRECT_URIS} redirect URIs are allowed.")
    if not all(isinstance(uri, str) for uri in value):
        raise InvalidRedirectUri("Every redirect URI must be a string.")
    return tuple(dict.fromkeys(validate_redirect_uri(uri) for uri in value))


def _auth_method(raw: Mapping[str, Any], default: str) -> str:
    method = _optional_string(raw, "token_endpoint_auth_method") or default
    if method not in AUTH_METHODS:
        raise InvalidClientMetadata(
            f"token_endpoint_auth_method must be one of {', '.join(AUTH_METHODS)}."
        )
    return method


def _check_flows(raw: Mapping[str, Any]) -> tuple[str, ...]:
    """The grant types the client may use: the code flow's, and the device code grant if named."""
    grant_types = _string_list(raw, "grant_types", ("authorization_code",))
    unsupported = sorted(set(grant_types) - set(GRANT_TYPES))
    if unsupported:
        raise InvalidClientMetadata(f"Unsupported grant_types: {' '.join(unsupported)}.")
    response_types = _string_list(raw, "response_types", RESPONSE_TYPES)
    if set(response_types) != set(RESPONSE_TYPES):
        raise InvalidClientMetadata('response_types must be ["code"].')
    if "authorization_code" not in grant_types:
        raise InvalidClientMetadata("grant_types must include authorization_code.")
    return DEFAULT_GRANT_TYPES + ((DEVICE_CODE_GRANT,) if DEVICE_CODE_GRANT in grant_types else ())


def _scope(raw: Mapping[str, Any]) -> str | None:
    value = _optional_string(raw, "scope")
    if value is None:
        return None
    try:
        return format_scope(parse_scope(value)) or None
    except InvalidScope as exc:
        raise InvalidClientMetadata(exc.description) from exc


def parse_client_metadata(
    raw: Any, *, default_auth_method: str = "client_secret_basic"
) -> ClientMetadata:
    """Check a client metadata object; the first problem found is raised."""
    if not isinstance(raw, Mapping):
        raise InvalidClientMetadata("The client metadata must be a JSON object.")
    redirect_uris = _redirect_uris(raw)
    grant_types = _check_flows(raw)
    name = _optional_string(raw, "client_name")
    if name is not None:
        name = validate_client_name(name)
    links = {field: _https_link(raw, field) for field in _LINK_FIELDS}
    return ClientMetadata(
        client_name=name or _DEFAULT_NAME,
        redirect_uris=redirect_uris,
        token_endpoint_auth_method=_auth_method(raw, default_auth_method),
        scope=_scope(raw),
        client_uri=links["client_uri"],
        logo_uri=links["logo_uri"],
        grant_types=grant_types,
    )


def client_information(
    client: Client, *, issuer: str, registration_token: str, secret: str | None = None
) -> dict[str, Any]:
    """The client information response (RFC 7591 §3.2.1, RFC 7592 §3): the metadata in force,
    ``registration_client_uri`` and ``registration_access_token``, and ``client_secret`` when
    one was just issued (only its hash is kept, so it is never shown again)."""
    body: dict[str, Any] = {
        "client_id": client.id,
        "client_id_issued_at": int(client.created_at.timestamp()),
        "client_name": client.name,
        "redirect_uris": list(client.redirect_uris),
        "grant_types": list(client.grant_types),
        "response_types": list(RESPONSE_TYPES),
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "scope": client.scope or format_scope(DEFAULT_SCOPES),
    }
    if secret is not None:
        body["client_secret"] = secret
    body["client_secret_expires_at"] = SECRET_EXPIRES_AT
    for field, value in (("client_uri", client.client_uri), ("logo_uri", client.logo_uri)):
        if value is not None:
            body[field] = value
    body["registration_client_uri"] = configuration_uri(issuer, client.id)
    body["registration_access_token"] = registration_token
    return body


def configuration_uri(issuer: str, client_id: str) -> str:
    """The client configuration endpoint of one client (RFC 7592 §2)."""
    return f"{issuer}{REGISTRATION_PATH}/{quote(client_id, safe='')}"


async def register(
    conn: AsyncConnection, raw: Any, *, now: datetime, hasher: SecretHasher, issuer: str
) -> dict[str, Any]:
    """Register the client described by ``raw``; the client information response.

    As RFC 7591 §2 says, a client that names no ``token_endpoint_auth_method``
    is registered for ``client_secret_basic`` and gets a secret. The registration
    access token (RFC 7592 §3) is shown once; only its hash is kept.
    """
    metadata = parse_client_metadata(raw)
    registration_token = new_secret(REGISTRATION_TOKEN_PREFIX)
    client, secret = await create_client(
        conn,
        name=metadata.client_name,
        redirect_uris=metadata.redirect_uris,
        confidential=metadata.confidential,
        now=now,
        hasher=hasher,
        origin="registration",
        scope=metadata.scope,
        token_endpoint_auth_method=metadata.token_endpoint_auth_method,
        client_uri=metadata.client_uri,
        logo_uri=metadata.logo_uri,
        registration_token_hash=hasher.hash(registration_token),
        grant_types=metadata.grant_types,
    )
    return client_information(
        client, issuer=issuer, registration_token=registration_token, secret=secret
    )
