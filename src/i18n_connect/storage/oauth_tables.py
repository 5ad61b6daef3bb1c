"""The schema of the authorization server: clients, pending authorization requests,
codes, device authorizations, grants, refresh and installation tokens, and signing keys."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    text,
)

from i18n_connect.storage.tables import ID, metadata
from i18n_connect.storage.types import UtcDateTime

__all__ = [
    "authorization_codes",
    "authorization_requests",
    "client_logos",
    "client_profiles",
    "device_authorizations",
    "grants",
    "installation_tokens",
    "oauth_clients",
    "refresh_chains",
    "refresh_tokens",
    "signing_keys",
    "webhook_deliveries",
    "webhook_endpoints",
    "webhook_events",
]

CLIENT_ID = String(512)  # a generated id, or an https URL for client metadata documents
HASH = String(64)

oauth_clients = Table(
    "oauth_clients",
    metadata,
    Column("id", CLIENT_ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("secret_hash", HASH, nullable=True),  # None for public clients
    Column("token_endpoint_auth_method", String(32), nullable=False),
    Column("redirect_uris", JSON, nullable=False),
    Column("scope", Text, nullable=True),  # registered scopes; None = default-on scopes
    Column("client_uri", Text, nullable=True),
    Column("logo_uri", Text, nullable=True),
    Column("origin", String(32), nullable=False),  # cli | registration | metadata_document
    Column("verified", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime, nullable=True),
    Column("metadata_expires_at", UtcDateTime, nullable=True),  # metadata documents: cache
    # RFC 7592: the hash of the registration access token (self-registered clients only).
    Column("registration_token_hash", HASH, nullable=True),
    # A rotated secret still accepted until previous_secret_expires_at (the rotation grace).
    Column("previous_secret_hash", HASH, nullable=True),
    Column("previous_secret_expires_at", UtcDateTime, nullable=True),
    # Deleted: unknown everywhere, its grants revoked; the row stays so their tokens answer 410.
    Column("deleted_at", UtcDateTime, nullable=True),
    # RFC 7591 §2 grant_types; None = authorization_code and refresh_token.
    Column("grant_types", JSON, nullable=True),
)

authorization_requests = Table(
    "authorization_requests",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("session_hash", HASH, nullable=False),  # the browser session that started it
    Column(
        "client_id", CLIENT_ID, ForeignKey("oauth_clients.id", ondelete="CASCADE"), nullable=False
    ),
    Column("redirect_uri", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("state", Text, nullable=True),
    Column("code_challenge", String(128), nullable=False),
    Column("resource", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("completed_at", UtcDateTime, nullable=True),
    # After consent: the encrypted "Continue to your app" URL (it holds the code), shown only
    # to the session that consented, until expires_at.
    Column("completion", Text, nullable=True),
    Index(None, "expires_at"),
)

grants = Table(
    "grants",
    metadata,
    Column("id", ID, primary_key=True),
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column(
        "client_id", CLIENT_ID, ForeignKey("oauth_clients.id", ondelete="CASCADE"), nullable=False
    ),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("scope", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("revoked_by", String(300), nullable=True),
    # The projects the grant covers; None = every project, including future ones.
    Column("project_ids", JSON, nullable=True),
    # The approved connection request that let a member give this grant (SPEC §6 "Requests").
    Column("request_id", ID, nullable=True),
    Index(
        "uq_grants_live_user_client_org",
        "user_id",
        "client_id",
        "organization_id",
        unique=True,
        sqlite_where=text("revoked_at IS NULL"),
        postgresql_where=text("revoked_at IS NULL"),
    ),
    Index(None, "organization_id"),
    Index(None, "client_id"),
)

authorization_codes = Table(
    "authorization_codes",
    metadata,
    Column("id", ID, primary_key=True),
    Column("code_hash", HASH, nullable=False, unique=True),
    Column(
        "client_id", CLIENT_ID, ForeignKey("oauth_clients.id", ondelete="CASCADE"), nullable=False
    ),
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("code_challenge", String(128), nullable=False),
    Column("scope", Text, nullable=False),
    Column("resource", Text, nullable=True),
    Column("grant_ids", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("consumed_at", UtcDateTime, nullable=True),
    Index(None, "expires_at"),
)

# RFC 8628: one per device authorization request, until gc deletes it after expires_at.
device_authorizations = Table(
    "device_authorizations",
    metadata,
    Column("id", ID, primary_key=True),
    Column("device_code_hash", HASH, nullable=False, unique=True),
    Column("user_code_hash", HASH, nullable=False, unique=True),
    Column(
        "client_id", CLIENT_ID, ForeignKey("oauth_clients.id", ondelete="CASCADE"), nullable=False
    ),
    Column("scope", Text, nullable=False),  # requested; after approval, the consented scope
    Column("resource", Text, nullable=True),
    Column("interval", Integer, nullable=False),  # seconds between polls (RFC 8628 §3.5)
    Column("next_poll_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),  # pending | approved | denied
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    Column("grant_ids", JSON, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("answered_at", UtcDateTime, nullable=True),
    Column("consumed_at", UtcDateTime, nullable=True),
    Index(None, "expires_at"),
)

# One per code exchange and grant: a device's rotation chain, ended on its own.
refresh_chains = Table(
    "refresh_chains",
    metadata,
    Column("id", ID, primary_key=True),
    Column("grant_id", ID, ForeignKey("grants.id", ondelete="CASCADE"), nullable=False),
    Column("code_id", ID, nullable=True),  # the code exchange that started it
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("revoked_reason", String(16), nullable=True),  # reuse | revoked | limit
    Index(None, "grant_id", "revoked_at"),  # live chains of a grant
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", ID, primary_key=True),
    Column("token_hash", HASH, nullable=False, unique=True),
    Column("grant_id", ID, ForeignKey("grants.id", ondelete="CASCADE"), nullable=False),
    Column("chain_id", ID, ForeignKey("refresh_chains.id", ondelete="CASCADE"), nullable=False),
    Column("code_id", ID, nullable=True),  # the code it was issued from, for replay revocation
    Column("parent_id", ID, nullable=True),  # the token it rotated from
    Column("scope", Text, nullable=False),
    Column("resource", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    Index(None, "grant_id"),
    Index(None, "code_id"),
    Index(None, "chain_id"),
)

installation_tokens = Table(
    "installation_tokens",
    metadata,
    Column("id", ID, primary_key=True),
    Column("token_hash", HASH, nullable=False, unique=True),
    Column("grant_id", ID, ForeignKey("grants.id", ondelete="CASCADE"), nullable=False),
    Column("organization_id", ID, nullable=False),
    Column("chain_id", ID, nullable=True),  # of the access token it was minted with
    Column("project_ids", JSON, nullable=False),  # [] = every project
    Column("scope", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Index(None, "grant_id"),
    Index(None, "expires_at"),
    Index(None, "chain_id"),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("algorithm", String(16), nullable=False),
    Column("private_key", LargeBinary, nullable=False),  # PEM, encrypted with the server secret
    Column("public_jwk", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("retired_at", UtcDateTime, nullable=True),  # no longer signs; still published
    Column("expires_at", UtcDateTime, nullable=True),  # no longer published after this
)

# Apps created in the developer console: the publishing organization and what the publisher
# declared beyond RFC 7591's client metadata (which stays in oauth_clients).
client_profiles = Table(
    "client_profiles",
    metadata,
    Column(
        "client_id", CLIENT_ID, ForeignKey("oauth_clients.id", ondelete="CASCADE"), primary_key=True
    ),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("description", Text, nullable=False),
    Column("policy_uri", Text, nullable=True),
    Column("tos_uri", Text, nullable=True),
    Column("created_by", ID, nullable=False),  # the user who created the app
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "organization_id"),
)

# A console app's logo, stored and served by this site (never hot-linked): uploaded, or fetched
# once from the https URL the publisher gave (source_url).
client_logos = Table(
    "client_logos",
    metadata,
    Column(
        "client_id", CLIENT_ID, ForeignKey("oauth_clients.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("content_type", String(32), nullable=False),  # image/png | image/jpeg | image/webp
    Column("image", LargeBinary, nullable=False),
    Column("digest", HASH, nullable=False),  # SHA-256 of image: the served URL's version
    Column("source_url", Text, nullable=True),
    Column("stored_at", UtcDateTime, nullable=False),
)

# Webhooks (Standard Webhooks): a client's endpoints, the transactional outbox of events, and one
# delivery per (event, endpoint) that the workers of `webhooks.worker` claim and retry.
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "client_id", CLIENT_ID, ForeignKey("oauth_clients.id", ondelete="CASCADE"), nullable=False
    ),
    Column("url", Text, nullable=False),
    Column("event_types", JSON, nullable=False),
    Column("secret_ciphertext", LargeBinary, nullable=False),  # AES-GCM, key from the server secret
    Column("previous_secret_ciphertext", LargeBinary, nullable=True),  # rotated out, still signing
    Column("previous_secret_expires_at", UtcDateTime, nullable=True),
    Column("status", String(16), nullable=False),  # active | failing | disabled
    Column("failing_since", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "client_id"),
)

webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", ID, primary_key=True),  # the webhook-id header
    Column(
        "client_id", CLIENT_ID, ForeignKey("oauth_clients.id", ondelete="CASCADE"), nullable=False
    ),
    Column("type", String(64), nullable=False),
    Column("payload", Text, nullable=False),  # the JSON body, exactly as signed
    Column("created_at", UtcDateTime, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),  # the order of the outbox
    Column("id", ID, nullable=False, unique=True),
    Column("event_id", ID, ForeignKey("webhook_events.id", ondelete="CASCADE"), nullable=False),
    Column(
        "endpoint_id",
        ID,
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("ordering_key", String(128), nullable=False),  # the grant, or the organization
    Column("status", String(16), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("lease_token", String(64), nullable=True),  # the worker holding the attempt
    Column("lease_expires_at", UtcDateTime, nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_latency_ms", Integer, nullable=True),
    Column("last_response", Text, nullable=True),  # a bounded excerpt, or the error
    Column("last_attempt_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=True),
    Index(None, "status", "next_attempt_at"),
    Index(None, "endpoint_id", "ordering_key", "status", "seq"),
)
