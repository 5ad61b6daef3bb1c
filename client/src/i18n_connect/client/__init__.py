"""The partner SDK of i18n-connect: OAuth 2.0 authorization code flow with PKCE (RFC 6749,
RFC 7636), issuer identification (RFC 9207), refresh-token rotation, token revocation
(RFC 7009), installation tokens, the partner REST API and webhook verification (Standard
Webhooks), as the partner guide (docs/partner-guide.md) describes them.

The distribution ``i18n-connect-client`` (the repository's ``client/`` directory) needs only httpx,
standardwebhooks (pure Python, no dependencies of its own) and the standard library; the server
is not installed with it.
"""

from i18n_connect.client.api import (
    ContentEntry,
    ContentModel,
    GlossaryTerm,
    KeyInput,
    KeyUpdate,
    Organization,
    PartnerAPI,
    Project,
    TermInput,
    TokenSource,
    TranslationKey,
    Translations,
    TranslationValue,
    Written,
)
from i18n_connect.client.authorization import AuthorizationSession, callback_params
from i18n_connect.client.cache import InstallationTokenCache
from i18n_connect.client.connect import ConnectClient, PersistCallback
from i18n_connect.client.errors import (
    AccessDenied,
    Conflict,
    GrantNotFound,
    GrantRevoked,
    I18nConnectError,
    InsufficientScope,
    InvalidCallback,
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    InvalidTarget,
    InvalidToken,
    IssuerMismatch,
    MissingScope,
    NotFound,
    RateLimited,
    ServerError,
    StateMismatch,
    TemporarilyUnavailable,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    WrongOrganization,
    WrongProject,
)
from i18n_connect.client.models import GrantTokens, InstallationToken, TokenSet
from i18n_connect.client.pkce import code_challenge, new_code_verifier, new_state
from i18n_connect.client.sync import SyncConnectClient, SyncPartnerAPI
from i18n_connect.client.transport import RetryPolicy
from i18n_connect.client.webhooks import InvalidWebhook, verify_webhook

__all__ = [
    "AccessDenied",
    "AuthorizationSession",
    "Conflict",
    "ConnectClient",
    "ContentEntry",
    "ContentModel",
    "GlossaryTerm",
    "GrantNotFound",
    "GrantRevoked",
    "GrantTokens",
    "I18nConnectError",
    "InstallationToken",
    "InstallationTokenCache",
    "InsufficientScope",
    "InvalidCallback",
    "InvalidClient",
    "InvalidGrant",
    "InvalidRequest",
    "InvalidScope",
    "InvalidTarget",
    "InvalidToken",
    "InvalidWebhook",
    "IssuerMismatch",
    "KeyInput",
    "KeyUpdate",
    "MissingScope",
    "NotFound",
    "Organization",
    "PartnerAPI",
    "PersistCallback",
    "Project",
    "RateLimited",
    "RetryPolicy",
    "ServerError",
    "StateMismatch",
    "SyncConnectClient",
    "SyncPartnerAPI",
    "TemporarilyUnavailable",
    "TermInput",
    "TokenSet",
    "TokenSource",
    "TranslationKey",
    "TranslationValue",
    "Translations",
    "UnauthorizedClient",
    "UnsupportedGrantType",
    "UnsupportedResponseType",
    "Written",
    "WrongOrganization",
    "WrongProject",
    "callback_params",
    "code_challenge",
    "new_code_verifier",
    "new_state",
    "verify_webhook",
]
