"""OAuth clients: registration records, redirect URI policy and matching.

Redirect URIs follow RFC 6749 §3.1.2 and RFC 8252 §7 (native apps): ``https``
with a host; ``http`` only on a loopback host (``127.0.0.1``, ``[::1]``,
``localhost``); or a private-use scheme such as ``cursor://callback`` or
``com.example.app:/cb``. Fragments, wildcards, userinfo, dot segments,
whitespace, control and non-ASCII characters, and script-like schemes are
refused. Matching is byte-exact, except that a registered loopback ``http``
URI matches the same URI on any port (RFC 8252 §7.3).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.errors import InvalidClientMetadata, InvalidRedirectUri
from i18n_connect.ids import SecretHasher, new_id, new_secret
from i18n_connect.scopes import format_scope, parse_scope
from i18n_connect.storage import clients as storage
from i18n_connect.storage.clients import DEFAULT_GRANT_TYPES, AuthMethod, Client

__all__ = [
    "AUTH_METHODS",
    "AuthMethod",
    "Client",
    "checked_metadata",
    "create_client",
    "get_client",
    "redirect_uri_matches",
    "refuse_disguising_characters",
    "validate_client_name",
    "validate_redirect_uri",
]

AUTH_METHODS: tuple[AuthMethod, ...] = ("none", "client_secret_basic", "client_secret_post")

_MAX_URI_LENGTH = 2000
_MAX_REDIRECT_URIS = 20
_MAX_NAME_LENGTH = 200
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "[::1]", "localhost"})
_FORBIDDEN_SCHEMES = frozenset(
    {"javascript", "data", "file", "vbscript", "about", "blob", "filesystem", "view-source"}
)
_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*")
_PORT = re.compile(r"[0-9]{1,5}")
_DOT_SEGMENT = re.compile(r"(^|/)\.{1,2}(/|$)")
# Controls, line and paragraph separators, surrogates, and format characters — among them the
# bidirectional overrides, embeddings, isolates and marks (U+202A-U+202E, U+2066-U+2069,
# U+200E, U+200F, U+061C) that make a name render as something else.
_UNPRINTABLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_JOINERS = frozenset({"\u200c", "\u200d"})  # needed by Persian, Indic scripts and emoji


def validate_client_name(name: str) -> str:
    """The name without surrounding whitespace; `InvalidClientMetadata` (RFC 7591 §3.2.2) when
    it is empty, too long, or holds a character that could disguise it (see above)."""
    name = name.strip()
    if not name or len(name) > _MAX_NAME_LENGTH:
        raise InvalidClientMetadata("The client name must be 1 to 200 characters long.")
    refuse_disguising_characters(name, "client name")
    return name


def refuse_disguising_characters(
    text: str, label: str, *, also_allowed: frozenset[str] = frozenset()
) -> None:
    """`InvalidClientMetadata` naming the first character of ``text`` that could disguise it
    (see above), unless it is one of ``also_allowed`` (e.g. line breaks in a description)."""
    for char in text:
        if (
            unicodedata.category(char) in _UNPRINTABLE_CATEGORIES
            and char not in _JOINERS
            and char not in also_allowed
        ):
            raise InvalidClientMetadata(
                f"The {label} may not contain control or bidirectional formatting characters "
                f"(U+{ord(char):04X})."
            )


def validate_redirect_uri(uri: str) -> str:
    """The URI unchanged when the policy above accepts it; `InvalidRedirectUri` otherwise."""
    if not uri or len(uri) > _MAX_URI_LENGTH:
        raise InvalidRedirectUri("A redirect URI must be 1 to 2000 characters long.")
    if any(ord(ch) <= 0x20 or ord(ch) >= 0x7F for ch in uri):
        raise InvalidRedirectUri(
            "A redirect URI may not contain whitespace, control or non-ASCII characters "
            "(percent-encode them)."
        )
    if "#" in uri:
        raise InvalidRedirectUri("A redirect URI may not contain a fragment.")
    if "*" in uri:
        raise InvalidRedirectUri("A redirect URI may not contain a wildcard.")
    if "\\" in uri:
        raise InvalidRedirectUri("A redirect URI may not contain a backslash.")
    scheme, sep, rest = uri.partition(":")
    if not sep or not _SCHEME.fullmatch(scheme.lower()) or not rest:
        raise InvalidRedirectUri("A redirect URI must be an absolute URI with a scheme.")
    lowered = scheme.lower()
    if lowered in _FORBIDDEN_SCHEMES:
        raise InvalidRedirectUri(f"The scheme {lowered}: is not allowed in a redirect URI.")
    if scheme != lowered:
        raise InvalidRedirectUri("The scheme of a redirect URI must be lower case.")
    try:
        parts = urlsplit(uri)
    except ValueError as exc:  # e.g. an unclosed "[" in the host
        raise InvalidRedirectUri("A redirect URI has a malformed host.") from exc
    if "@" in parts.netloc:
        raise InvalidRedirectUri("A redirect URI may not contain user information.")
    if _DOT_SEGMENT.search(parts.path):
        raise InvalidRedirectUri("A redirect URI may not contain '.' or '..' path segments.")
    if parts.netloc:
        _check_authority(parts.netloc)
    if lowered == "https":
        if not parts.hostname or not rest.startswith("//"):
            raise InvalidRedirectUri("An https redirect URI needs a host.")
    elif lowered == "http":
        if _split_authority(parts.netloc)[0] not in _LOOPBACK_HOSTS:
            raise InvalidRedirectUri(
                "An http redirect URI is only allowed on 127.0.0.1, [::1] or localhost; use https."
            )
    elif len(lowered) < 2:  # "c:/path" is a Windows drive, not a scheme
        raise InvalidRedirectUri("A private-use scheme must be longer than one letter.")
    return uri


def _split_authority(netloc: str) -> tuple[str, str | None]:
    """``(host, port)`` of an authority without userinfo; the host keeps its brackets."""
    if netloc.startswith("["):
        host, _, after = netloc.partition("]")
        host += "]"
        if after and not after.startswith(":"):
            raise InvalidRedirectUri("A redirect URI has a malformed host.")
        return host, after[1:] if after else None
    host, sep, port = netloc.partition(":")
    return host, port if sep else None


def _check_authority(netloc: str) -> None:
    host, port = _split_authority(netloc)
    if not host:
        raise InvalidRedirectUri("A redirect URI has an empty host.")
    if port is not None and (not _PORT.fullmatch(port) or not 0 < int(port) < 65536):
        raise InvalidRedirectUri("A redirect URI has an invalid port.")


def _loopback_parts(uri: str) -> tuple[str, str] | None:
    """``(host, rest)`` of an ``http`` loopback URI — rest is everything after the authority."""
    if not uri.startswith("http://"):
        return None
    after = uri[len("http://") :]
    end = len(after)
    for delimiter in "/?#":
        index = after.find(delimiter)
        if index != -1:
            end = min(end, index)
    netloc, rest = after[:end], after[end:]
    try:
        host, port = _split_authority(netloc)
    except InvalidRedirectUri:
        return None
    if host not in _LOOPBACK_HOSTS:
        return None
    if port is not None and (not _PORT.fullmatch(port) or not 0 < int(port) < 65536):
        return None
    return host, rest


def redirect_uri_matches(registered: Sequence[str], presented: str) -> bool:
    """Whether ``presented`` is one of ``registered``: exact, or a loopback URI on another port."""
    if presented in registered:
        return True
    presented_parts = _loopback_parts(presented)
    if presented_parts is None:
        return False
    return any(_loopback_parts(uri) == presented_parts for uri in registered)


async def get_client(conn: AsyncConnection, client_id: str) -> Client | None:
    """The registered client, or ``None`` when the id is unknown or was deleted."""
    if not client_id or len(client_id) > 512:
        return None
    return await storage.get_client(conn, client_id)


def _auth_method(confidential: bool, requested: str | None) -> AuthMethod:
    if requested is None:
        return "client_secret_basic" if confidential else "none"
    if requested not in AUTH_METHODS:
        raise InvalidClientMetadata(f"Unsupported token_endpoint_auth_method {requested!r}.")
    method: AuthMethod = requested
    if (method != "none") != confidential:
        raise InvalidClientMetadata(
            "token_endpoint_auth_method none is for public clients only, "
            "and confidential clients must use a client secret."
        )
    return method


def checked_metadata(
    name: str, redirect_uris: Sequence[str], scope: str | None
) -> tuple[str, tuple[str, ...], str | None]:
    """The name, redirect URIs (duplicates dropped) and scope (``None``: the default-on scopes)
    of a client, checked as registration checks them (RFC 7591 §2, §3.2.2)."""
    name = validate_client_name(name)
    if not redirect_uris or len(redirect_uris) > _MAX_REDIRECT_URIS:
        raise InvalidRedirectUri("A client needs 1 to 20 redirect URIs.")
    uris = tuple(dict.fromkeys(validate_redirect_uri(uri) for uri in redirect_uris))
    stored_scope = (format_scope(parse_scope(scope)) or None) if scope is not None else None
    return name, uris, stored_scope


async def create_client(
    conn: AsyncConnection,
    *,
    name: str,
    redirect_uris: Sequence[str],
    confidential: bool,
    now: datetime,
    hasher: SecretHasher,
    origin: str = "cli",
    scope: str | None = None,
    token_endpoint_auth_method: str | None = None,
    client_id: str | None = None,
    client_uri: str | None = None,
    logo_uri: str | None = None,
    registration_token_hash: str | None = None,
    grant_types: Sequence[str] = DEFAULT_GRANT_TYPES,
) -> tuple[Client, str | None]:
    """Register a client; returns it and its secret (shown once; only the hash is kept).

    Only an operator's client (``origin="cli"``) starts verified; ``clients verify`` changes it.
    """
    name, uris, stored_scope = checked_metadata(name, redirect_uris, scope)
    method = _auth_method(confidential, token_endpoint_auth_method)
    secret = new_secret("cs_") if confidential else None
    client = Client(
        id=client_id or new_id("cli"),
        name=name,
        redirect_uris=uris,
        token_endpoint_auth_method=method,
        scope=stored_scope,
        origin=origin,
        verified=origin == "cli",
        created_at=now,
        secret_hash=hasher.hash(secret) if secret is not None else None,
        client_uri=client_uri,
        logo_uri=logo_uri,
        registration_token_hash=registration_token_hash,
        grant_types=tuple(grant_types),
    )
    await storage.insert_client(conn, client)
    return client, secret
