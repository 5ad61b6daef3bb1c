"""The schema of users, organizations, the translation platform, audit and browser sessions.

OAuth tables (clients, requests, codes, grants, tokens, keys) live in
`oauth_tables`; both share one `MetaData`, migrated by Alembic.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from i18n_connect.storage.types import UtcDateTime

__all__ = [
    "audit_events",
    "browser_sessions",
    "connection_requests",
    "content_entries",
    "content_models",
    "glossary_terms",
    "idempotency_keys",
    "memberships",
    "metadata",
    "organization_app_lists",
    "organization_policies",
    "organizations",
    "project_languages",
    "projects",
    "rate_counters",
    "translation_keys",
    "translations",
    "users",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(40)

users = Table(
    "users",
    metadata,
    Column("id", ID, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

organizations = Table(
    "organizations",
    metadata,
    Column("id", ID, primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

memberships = Table(
    "memberships",
    metadata,
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(16), nullable=False),  # owner | admin | member
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "user_id"),
)

# Who may connect apps to an organization, and which apps (SPEC §6 "Organization policy");
# an organization without a row has the defaults: owners and admins, any app.
organization_policies = Table(
    "organization_policies",
    metadata,
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("connect_roles", String(16), nullable=False),  # owners_admins | owners
    Column("allowed_apps", String(16), nullable=False),  # any | verified | approved
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", ID, nullable=False),
)

# The organization's approved and blocked apps (a client id is on each list at most once).
organization_app_lists = Table(
    "organization_app_lists",
    metadata,
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("list", String(16), primary_key=True),  # approved | blocked
    Column("client_id", String(512), primary_key=True),
    Column("added_at", UtcDateTime, nullable=False),
    Column("added_by", ID, nullable=False),
)

# A member's request that the organization let them connect one app (SPEC §6 "Requests").
connection_requests = Table(
    "connection_requests",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("client_id", String(512), nullable=False),
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("note", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending | approved | declined | used
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("decided_by", ID, nullable=True),
    Index(None, "organization_id", "status"),
    Index(None, "user_id"),
)

projects = Table(
    "projects",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("slug", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("source_language", String(35), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("organization_id", "slug"),
)

project_languages = Table(
    "project_languages",
    metadata,
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("code", String(35), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
)

translation_keys = Table(
    "translation_keys",
    metadata,
    Column("id", ID, primary_key=True),
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(500), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # a name is unique in its project, whatever its namespace (docs/decisions.md)
    Column("namespace", String(64), nullable=False, server_default="common"),
    UniqueConstraint("project_id", "name"),
    Index(None, "project_id", "namespace"),
)

translations = Table(
    "translations",
    metadata,
    Column("key_id", ID, ForeignKey("translation_keys.id", ondelete="CASCADE"), primary_key=True),
    Column("language", String(35), primary_key=True),
    Column("draft", Text, nullable=True),
    Column("published", Text, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime, nullable=True),
)

glossary_terms = Table(
    "glossary_terms",
    metadata,
    Column("id", ID, primary_key=True),
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("term", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("translations", JSON, nullable=False, default=dict),  # {language: text}
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("project_id", "term"),
)

content_models = Table(
    "content_models",
    metadata,
    Column("id", ID, primary_key=True),
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("slug", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("fields", JSON, nullable=False, default=list),  # [{"name", "type", "localized"}]
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("project_id", "slug"),
)

content_entries = Table(
    "content_entries",
    metadata,
    Column("id", ID, primary_key=True),
    Column("model_id", ID, ForeignKey("content_models.id", ondelete="CASCADE"), nullable=False),
    Column("slug", String(200), nullable=False),
    Column("draft", JSON, nullable=False, default=dict),
    Column("published", JSON, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime, nullable=True),
    UniqueConstraint("model_id", "slug"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("action", String(64), nullable=False),  # e.g. grant.consented, token.refresh_reuse
    Column("actor", String(300), nullable=False),  # user id, client id, or "system"
    Column("user_id", ID, nullable=True),
    Column("client_id", String(300), nullable=True),
    Column("organization_id", ID, nullable=True),
    Column("grant_id", ID, nullable=True),
    Column("detail", JSON, nullable=False, default=dict),
    Index(None, "grant_id"),
    Index(None, "organization_id"),
    Index(None, "occurred_at"),
)

browser_sessions = Table(
    "browser_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # keyed hash of the cookie's session id
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index(None, "expires_at"),
)

rate_counters = Table(
    "rate_counters",
    metadata,
    Column("key", String(200), primary_key=True),  # purpose:subject, e.g. login:ip:127.0.0.1
    Column("window_start", UtcDateTime, nullable=False),
    Column("count", Integer, nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("caller", String(600), primary_key=True),  # grant:<grant id> or client:<client_id>
    Column("key", String(255), primary_key=True),  # the request's Idempotency-Key
    Column("request_hash", String(64), nullable=False),  # SHA-256 of method, path and body
    Column("status", Integer, nullable=True),  # None while the first request runs
    Column("headers", JSON, nullable=True),  # content-type, location, etag, cache-control
    Column("body", LargeBinary, nullable=True),  # the response body, encrypted (AES-256-GCM)
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index(None, "expires_at"),
)
