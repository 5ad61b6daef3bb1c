"""Everything a request handler needs, built once from `Settings` by `app.create_app`."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from i18n_connect.clock import Clock, SystemClock
from i18n_connect.ids import SecretHasher
from i18n_connect.oauth.access_tokens import AccessTokens
from i18n_connect.oauth.keys import KeyRing
from i18n_connect.oauth.refresh import Successors
from i18n_connect.oauth.refusal_cache import RefusalCache
from i18n_connect.ratelimit import LocalRateLimiter, RateLimiter, build_rate_limiter
from i18n_connect.settings import Settings
from i18n_connect.storage import Database
from i18n_connect.webhooks.secrets import SecretBox

__all__ = ["Services"]


@dataclass(slots=True)
class Services:
    settings: Settings
    db: Database
    hasher: SecretHasher
    session_key: bytes
    keys: KeyRing
    tokens: AccessTokens
    successors: Successors
    webhook_secrets: SecretBox  # webhook signing secrets, encrypted at rest
    clock: Clock = field(default_factory=SystemClock)
    metrics: CollectorRegistry = field(default_factory=CollectorRegistry)  # this app's /metrics
    api_limiter: RateLimiter = field(default_factory=LocalRateLimiter)  # every request budget
    document_refusals: RefusalCache = field(default_factory=RefusalCache)  # refused client ids

    @classmethod
    def build(cls, settings: Settings, *, clock: Clock | None = None) -> Services:
        clock = clock or SystemClock()
        db = Database(settings.database_url)
        keys = KeyRing(db, clock, settings.derived_key("signing-key"))
        return cls(
            settings=settings,
            db=db,
            hasher=SecretHasher(settings.derived_key("secret-hash")),
            session_key=settings.derived_key("browser-session"),
            keys=keys,
            tokens=AccessTokens(keys, issuer=settings.issuer, clock=clock),
            successors=Successors(settings.derived_key("refresh-successor")),
            clock=clock,
            api_limiter=build_rate_limiter(settings.redis_url),
            webhook_secrets=SecretBox(settings.derived_key("webhook-secret")),
        )
