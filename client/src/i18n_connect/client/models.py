"""What the token endpoint and the installation-token mint return (partner guide, "5. Tokens and
lifetimes").

Parsed into small frozen dataclasses; ``expires_at`` is computed from
``expires_in`` on the caller's clock, which keeps skew between the partner's
and the server's clocks out of expiry decisions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from i18n_connect.client.errors import I18nConnectError

__all__ = ["GrantTokens", "InstallationToken", "TokenSet"]


def _str(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise I18nConnectError(f"The response has no {name}.", error="unexpected_response")
    return value


def _int(data: Mapping[str, Any], name: str) -> int:
    value = data.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise I18nConnectError(f"The response has no {name}.", error="unexpected_response")
    return value


@dataclass(frozen=True, slots=True)
class GrantTokens:
    """One organization's grant from a token response, with its own refresh token."""

    grant_id: str
    organization_id: str
    refresh_token: str = field(repr=False)
    scope: tuple[str, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GrantTokens:
        return cls(
            grant_id=_str(data, "grant_id"),
            organization_id=_str(data, "organization_id"),
            refresh_token=_str(data, "refresh_token"),
            scope=tuple(str(data.get("scope") or "").split()),
        )


@dataclass(frozen=True, slots=True)
class TokenSet:
    """A token-endpoint response: an access token covering every grant in ``grants``.

    After a code exchange ``grants`` has one entry per chosen organization
    (the first is the top-level grant); after a refresh it has exactly one.
    """

    access_token: str = field(repr=False)
    token_type: str
    expires_in: int
    expires_at: datetime
    refresh_token: str = field(repr=False)
    grant_id: str
    organization_id: str
    scope: tuple[str, ...]
    grants: tuple[GrantTokens, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, now: datetime) -> TokenSet:
        top = GrantTokens.from_json(data)
        listed = data.get("grants")
        grants = (
            tuple(GrantTokens.from_json(item) for item in listed if isinstance(item, Mapping))
            if isinstance(listed, list) and listed
            else (top,)
        )
        expires_in = _int(data, "expires_in")
        return cls(
            access_token=_str(data, "access_token"),
            token_type=_str(data, "token_type"),
            expires_in=expires_in,
            expires_at=now + timedelta(seconds=expires_in),
            refresh_token=top.refresh_token,
            grant_id=top.grant_id,
            organization_id=top.organization_id,
            scope=top.scope,
            grants=grants,
        )


@dataclass(frozen=True, slots=True)
class InstallationToken:
    """A ``bi_oat_`` token for one organization's partner-API and MCP calls (1 hour)."""

    token: str = field(repr=False)
    expires_at: datetime
    expires_in: int
    organization_id: str
    project_ids: tuple[str, ...]
    scopes: tuple[str, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, now: datetime) -> InstallationToken:
        expires_in = _int(data, "expires_in")
        return cls(
            token=_str(data, "installation_token"),
            expires_at=now + timedelta(seconds=expires_in),
            expires_in=expires_in,
            organization_id=_str(data, "organization_id"),
            project_ids=tuple(str(p) for p in data.get("project_ids") or ()),
            scopes=tuple(str(s) for s in data.get("scopes") or ()),
        )
