"""Proof Key for Code Exchange with S256 only (RFC 7636 §4.1, §4.2, §4.6)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from i18n_connect.errors import InvalidRequest

__all__ = ["s256_challenge", "validate_challenge", "validate_verifier", "verifier_matches"]

_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 §4.1: unreserved characters
_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")  # BASE64URL(SHA-256) without padding


def validate_verifier(verifier: str) -> str:
    """The verifier unchanged; `InvalidRequest` unless it is 43 to 128 unreserved characters."""
    if not _VERIFIER.fullmatch(verifier):
        raise InvalidRequest("code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~].")
    return verifier


def validate_challenge(challenge: str) -> str:
    """The challenge unchanged; `InvalidRequest` unless it is a base64url SHA-256 digest."""
    if not _CHALLENGE.fullmatch(challenge):
        raise InvalidRequest("code_challenge must be the base64url SHA-256 of the verifier.")
    return challenge


def s256_challenge(verifier: str) -> str:
    """BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) — RFC 7636 §4.2."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verifier_matches(verifier: str, challenge: str) -> bool:
    """RFC 7636 §4.6, compared in constant time."""
    return hmac.compare_digest(s256_challenge(verifier), challenge)
