"""PKCE (RFC 7636 §4.1 and §4.2, S256 only) and the ``state`` value (RFC 6749 §10.12).

Both are 256 bits from :mod:`secrets`, base64url without padding.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

__all__ = ["code_challenge", "new_code_verifier", "new_state"]


def new_code_verifier() -> str:
    """A fresh verifier: 32 random bytes as 43 base64url characters."""
    return secrets.token_urlsafe(32)


def new_state() -> str:
    """A fresh, unguessable ``state`` bound to one authorization."""
    return secrets.token_urlsafe(32)


def code_challenge(verifier: str) -> str:
    """``BASE64URL(SHA256(ASCII(verifier)))`` without padding (the S256 method)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
