"""Configuration from ``I18N_CONNECT_*`` environment variables (pydantic-settings).

Secrets may also come from files: ``I18N_CONNECT_SECRET_KEY_FILE`` names a
file whose content is the secret. The embedded SQLite store needs no
configuration at all: its server secret is generated once and kept beside the
database file (mode 0600). A PostgreSQL deployment must set the secret, so that
every process of it agrees.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import secrets
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

__all__ = ["ConfigurationError", "Settings"]

_SECRET_MIN_LENGTH = 32
_METRICS_TOKEN_MIN_LENGTH = 16


class ConfigurationError(Exception):
    """The configuration cannot work; the message says what to set."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="I18N_CONNECT_", extra="ignore")

    database_url: str = "sqlite:///i18n-connect.db"
    issuer: str = "http://127.0.0.1:8000"
    secret_key: SecretStr | None = None
    secret_key_file: Path | None = None
    redis_url: str | None = None
    registration_enabled: bool = True
    registration_rate_per_hour: Annotated[int, Field(ge=1)] = 30
    api_rate_per_minute: Annotated[int, Field(ge=1)] = 1000  # per installation or access token
    api_grant_rate_per_minute: Annotated[int, Field(ge=1)] = 1000  # every token of one grant
    api_client_rate_per_minute: Annotated[int, Field(ge=1)] = 10_000  # every grant of one client
    token_rate_per_minute: Annotated[int, Field(ge=1)] = 600  # token endpoint, per client_id
    mint_rate_per_minute: Annotated[int, Field(ge=1)] = 60
    authorize_rate_per_minute: Annotated[int, Field(ge=1)] = 60  # GET /authorize, per address
    device_poll_interval_seconds: Annotated[int, Field(ge=1, le=60)] = 5  # RFC 8628 §3.2
    refresh_grace_seconds: Annotated[int, Field(ge=0)] = 30  # concurrent holders converge; 0: off
    refresh_chains_per_grant: Annotated[int, Field(ge=1)] = 10  # devices; the oldest is dropped
    login_failures_per_window: Annotated[int, Field(ge=1)] = 5  # per (account, address)
    login_failure_window_seconds: Annotated[int, Field(ge=1)] = 300
    login_address_failures_per_window: Annotated[int, Field(ge=1)] = 20  # any account
    login_account_failures_before_delay: Annotated[int, Field(ge=1)] = 10  # from any address
    login_account_delay_seconds: Annotated[float, Field(ge=0, le=10)] = 2.0
    max_body_bytes: Annotated[int, Field(ge=1024)] = 1024 * 1024
    max_import_bytes: Annotated[int, Field(ge=1024)] = 10 * 1024 * 1024  # POST …/import
    body_timeout_seconds: Annotated[float, Field(gt=0)] = 30.0  # to receive a whole body
    gc_interval_seconds: Annotated[int, Field(ge=0)] = 600  # serve's garbage collection; 0: off
    log_level: str = "info"
    cimd_allow_loopback: bool = False
    # webhooks (`i18n_connect.webhooks`): loopback endpoints, http allowed, for development only
    webhook_allow_loopback: bool = False
    webhook_poll_seconds: Annotated[float, Field(ge=0)] = 1.0  # serve's delivery worker; 0: off
    webhook_timeout_seconds: Annotated[float, Field(gt=0, le=30)] = 10.0  # one attempt
    webhook_retry_base_seconds: Annotated[float, Field(gt=0)] = 10.0  # the first backoff
    webhook_retry_hours: Annotated[float, Field(gt=0)] = 24.0  # then the endpoint is failing
    metrics_token: SecretStr | None = None  # when set, GET /metrics needs it as a Bearer token
    trusted_proxies: str = ""  # addresses or networks whose X-Forwarded-For/-Proto are believed
    bench: bool = False  # mounts POST /bench/form, the baseline of bench/ (never in production)

    @field_validator("issuer")
    @classmethod
    def _issuer_without_trailing_slash(cls, value: str) -> str:
        value = value.rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("the issuer must be an http(s) URL such as http://127.0.0.1:8000")
        return value

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token_is_not_guessable(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < _METRICS_TOKEN_MIN_LENGTH:
            raise ValueError(
                f"the metrics token must be at least {_METRICS_TOKEN_MIN_LENGTH} characters long"
            )
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses_or_networks(cls, value: str) -> str:
        """``10.0.0.5, 10.1.0.0/16``, normalized; ``*`` is refused: with it every client
        could name its own address and slip past the per-address limits."""
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        try:
            return ",".join(str(ipaddress.ip_network(entry, strict=False)) for entry in entries)
        except ValueError as exc:
            raise ValueError(
                "trusted proxies must be IP addresses or networks, separated by commas, "
                "such as 10.0.0.5,10.1.0.0/16"
            ) from exc

    @property
    def is_sqlite(self) -> bool:
        return make_url(self.database_url).get_backend_name() == "sqlite"

    @property
    def api_resource(self) -> str:
        """The partner API's resource identifier (RFC 8707): the default access-token audience."""
        return f"{self.issuer}/api/oauth-client"

    @property
    def mcp_resource(self) -> str:
        """The MCP server's resource identifier (RFC 8707, RFC 9728)."""
        return f"{self.issuer}/mcp"

    @property
    def resources(self) -> tuple[str, str]:
        return (self.api_resource, self.mcp_resource)

    @property
    def secure_cookies(self) -> bool:
        return self.issuer.startswith("https://")

    def server_secret(self) -> bytes:
        """The server secret, from the environment, a file, or (SQLite only) generated once."""
        if self.secret_key is not None:
            value = self.secret_key.get_secret_value()
        elif self.secret_key_file is not None:
            try:
                value = self.secret_key_file.read_text().strip()
            except OSError as exc:
                raise ConfigurationError(
                    f"cannot read I18N_CONNECT_SECRET_KEY_FILE {self.secret_key_file}: "
                    f"{exc.strerror}"
                ) from exc
        elif self.is_sqlite:
            value = self._sqlite_sidecar_secret()
        else:
            raise ConfigurationError(
                "I18N_CONNECT_SECRET_KEY (or I18N_CONNECT_SECRET_KEY_FILE) must be set when the "
                "database is not the embedded SQLite store: every process must share it"
            )
        if len(value) < _SECRET_MIN_LENGTH:
            raise ConfigurationError(
                f"the server secret must be at least {_SECRET_MIN_LENGTH} characters long"
            )
        return value.encode()

    def derived_key(self, purpose: str) -> bytes:
        """A key for one purpose (sessions, hashing, key encryption) from the server secret."""
        return hashlib.sha256(
            b"i18n-connect\x00" + purpose.encode() + b"\x00" + self.server_secret()
        ).digest()

    def _sqlite_sidecar_secret(self) -> str:
        database = make_url(self.database_url).database
        if not database or database == ":memory:":
            raise ConfigurationError(
                "an in-memory SQLite database needs I18N_CONNECT_SECRET_KEY to be set"
            )
        path = Path(database + ".secret")
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process wrote it first
                return path.read_text().strip()
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip()
