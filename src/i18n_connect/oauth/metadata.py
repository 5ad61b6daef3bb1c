"""Authorization server metadata (RFC 8414 §2), served at
``/.well-known/oauth-authorization-server``."""

from __future__ import annotations

from typing import Any

from i18n_connect.oauth.clients import AUTH_METHODS
from i18n_connect.oauth.token import GRANT_TYPES
from i18n_connect.scopes import CATALOG, IGNORED_SCOPES
from i18n_connect.settings import Settings

__all__ = ["ENDPOINTS", "authorization_server_metadata"]

ENDPOINTS = {
    "authorization_endpoint": "/api/auth/mcp/authorize",
    "token_endpoint": "/api/auth/mcp/token",
    "jwks_uri": "/api/auth/mcp/jwks",
    "registration_endpoint": "/api/auth/mcp/register",
    "revocation_endpoint": "/api/auth/mcp/revoke",
    "introspection_endpoint": "/api/auth/mcp/introspect",
    "device_authorization_endpoint": "/api/auth/mcp/device_authorization",  # RFC 8628 §4
}
_SECRET_METHODS = [method for method in AUTH_METHODS if method != "none"]


def authorization_server_metadata(settings: Settings) -> dict[str, Any]:
    """The metadata document; ``registration_endpoint`` only while registration is enabled."""
    issuer = settings.issuer
    endpoints = {
        name: issuer + path
        for name, path in ENDPOINTS.items()
        if name != "registration_endpoint" or settings.registration_enabled
    }
    return {
        "issuer": issuer,
        **endpoints,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "introspection_endpoint_auth_methods_supported": _SECRET_METHODS,
        "scopes_supported": [*CATALOG, *sorted(IGNORED_SCOPES)],
        "authorization_response_iss_parameter_supported": True,
        "client_id_metadata_document_supported": True,
        "service_documentation": f"{issuer}/docs",
    }
