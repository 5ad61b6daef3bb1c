"""The partner app's configuration, from ``PARTNER_*`` environment variables."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DEFAULT_SCOPES", "Config"]

DEFAULT_SCOPES = ("org:read", "projects:read", "keys:read", "keys:write", "translations:write")


@dataclass(frozen=True, slots=True)
class Config:
    """Where the issuer is, who this app is to it, and where the app itself lives."""

    client_id: str
    issuer: str = "http://127.0.0.1:8000"
    client_secret: str | None = field(default=None, repr=False)
    public_url: str = "http://127.0.0.1:8001"
    database: Path = Path("partner-app.db")
    session_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    webhook_secret: str | None = field(default=None, repr=False)  # whsec_…: POST /webhooks

    @property
    def redirect_uri(self) -> str:
        return f"{self.public_url}/connect/callback"

    @property
    def port(self) -> int:
        tail = self.public_url.rsplit(":", 1)[-1].split("/")[0]
        return int(tail) if tail.isdigit() else 8001

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Config:
        """From ``PARTNER_CLIENT_ID`` (required), ``PARTNER_ISSUER``,
        ``PARTNER_CLIENT_SECRET``, ``PARTNER_PUBLIC_URL``, ``PARTNER_DATABASE``,
        ``PARTNER_SESSION_SECRET``, ``PARTNER_SCOPES`` and ``PARTNER_WEBHOOK_SECRET`` (the
        signing secret of an endpoint at ``<public url>/webhooks``)."""
        values = os.environ if env is None else env
        client_id = values.get("PARTNER_CLIENT_ID")
        if not client_id:
            raise SystemExit(
                "Set PARTNER_CLIENT_ID to the client id printed by "
                "`i18n-connect clients create --name 'Example Partner App' "
                "--redirect-uri http://127.0.0.1:8001/connect/callback`."
            )
        options: dict[str, object] = {"client_id": client_id}
        if "PARTNER_ISSUER" in values:
            options["issuer"] = values["PARTNER_ISSUER"].rstrip("/")
        if values.get("PARTNER_CLIENT_SECRET"):
            options["client_secret"] = values["PARTNER_CLIENT_SECRET"]
        if "PARTNER_PUBLIC_URL" in values:
            options["public_url"] = values["PARTNER_PUBLIC_URL"].rstrip("/")
        if "PARTNER_DATABASE" in values:
            options["database"] = Path(values["PARTNER_DATABASE"])
        if "PARTNER_SESSION_SECRET" in values:
            options["session_secret"] = values["PARTNER_SESSION_SECRET"]
        if values.get("PARTNER_WEBHOOK_SECRET"):
            options["webhook_secret"] = values["PARTNER_WEBHOOK_SECRET"]
        if "PARTNER_SCOPES" in values:
            options["scopes"] = tuple(values["PARTNER_SCOPES"].split())
        return cls(**options)  # type: ignore[arg-type]
