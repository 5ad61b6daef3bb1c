"""The partner's half of the authorization code flow with PKCE (RFC 6749 §4.1, RFC 7636).

``AuthorizationSession`` is one pending authorization: the URL to send the
user to, its fresh ``state`` and S256 verifier. Its ``code_from_callback``
checks the redirect back: the ``state`` (RFC 6749 §10.12), the ``iss``
parameter (RFC 9207 §2.4, mix-up defence), and an ``error`` (RFC 6749
§4.1.2.1), in that order, before handing out the code.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

from i18n_connect.client.errors import (
    InvalidCallback,
    IssuerMismatch,
    StateMismatch,
    error_from_code,
)
from i18n_connect.client.pkce import code_challenge, new_code_verifier, new_state

__all__ = ["AUTHORIZE_PATH", "AuthorizationSession", "callback_params"]

AUTHORIZE_PATH = "/api/auth/mcp/authorize"


def callback_params(callback: str | Mapping[str, str]) -> dict[str, str]:
    """The query parameters of a callback given as a full URL, a query string or a mapping."""
    if isinstance(callback, Mapping):
        return dict(callback)
    query = urlsplit(callback).query if "?" in callback or "://" in callback else callback
    return dict(parse_qsl(query, keep_blank_values=True))


@dataclass(frozen=True, slots=True)
class AuthorizationSession:
    """One pending authorization: keep ``state`` and ``code_verifier`` server-side, ≤ 10 min."""

    issuer: str
    client_id: str
    redirect_uri: str
    scope: tuple[str, ...]
    state: str
    code_verifier: str = field(repr=False)
    resource: str | None = None

    @classmethod
    def start(
        cls,
        issuer: str,
        client_id: str,
        redirect_uri: str,
        scope: tuple[str, ...] | list[str] | str = (),
        *,
        resource: str | None = None,
    ) -> AuthorizationSession:
        """A new authorization with a fresh 256-bit ``state`` and PKCE verifier."""
        scopes = tuple(scope.split()) if isinstance(scope, str) else tuple(scope)
        return cls(
            issuer=issuer.rstrip("/"),
            client_id=client_id,
            redirect_uri=redirect_uri,
            scope=scopes,
            state=new_state(),
            code_verifier=new_code_verifier(),
            resource=resource,
        )

    @property
    def url(self) -> str:
        """The authorize URL to redirect the user's browser to."""
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "state": self.state,
            "code_challenge": code_challenge(self.code_verifier),
            "code_challenge_method": "S256",
        }
        if self.scope:
            params["scope"] = " ".join(self.scope)
        if self.resource is not None:
            params["resource"] = self.resource
        return f"{self.issuer}{AUTHORIZE_PATH}?{urlencode(params)}"

    def code_from_callback(
        self, callback: str | Mapping[str, str], *, require_iss: bool = False
    ) -> str:
        """The authorization code of a valid callback; a typed error otherwise.

        Raises ``StateMismatch``, ``IssuerMismatch`` (``iss`` differs, or is absent
        while ``require_iss``), the error the server sent (``AccessDenied``, …),
        or ``InvalidCallback`` when there is no code.
        """
        params = callback_params(callback)
        state = params.get("state", "")
        if not hmac.compare_digest(state.encode(), self.state.encode()):
            raise StateMismatch("The callback's state is not the one this authorization sent.")
        iss = params.get("iss")
        if iss is None and require_iss:
            raise IssuerMismatch("The callback has no iss parameter.")
        if iss is not None and iss != self.issuer:
            raise IssuerMismatch(f"The callback comes from {iss!r}, not {self.issuer!r}.")
        if "error" in params:
            raise error_from_code(params["error"], params.get("error_description", ""))
        code = params.get("code")
        if not code:
            raise InvalidCallback("The callback has neither a code nor an error.")
        return code
