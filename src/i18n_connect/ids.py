"""Prefixed identifiers and secrets, and the keyed hash under which secrets are stored.

Every secret carries at least 256 bits from `secrets`; only
HMAC-SHA-256(server secret, value) is kept at rest, and hashes are compared
in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["SecretHasher", "new_id", "new_secret"]

_SECRET_BYTES = 32  # 256 bits
_ID_BYTES = 12


def new_id(prefix: str) -> str:
    """A public identifier such as ``grt_…`` or ``org_…`` (96 random bits)."""
    return f"{prefix}_{secrets.token_hex(_ID_BYTES)}"


def new_secret(prefix: str) -> str:
    """A bearer secret such as ``rt_…`` or ``bi_oat_…`` with 256 random bits."""
    return f"{prefix}{secrets.token_urlsafe(_SECRET_BYTES)}"


_NO_HASH = "0" * 64  # compared when nothing is stored, so a miss costs what a match does


class SecretHasher:
    """Keyed hashing of secrets at rest (the HMAC strategy of prefixed tokens)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the server secret must be at least 32 bytes")
        derived = hashlib.sha256(b"i18n-connect/secret-hash\x00" + key).digest()
        # Keyed once: each hash copies this state instead of keying HMAC again (RFC 2104 §2).
        self._keyed = hmac.new(derived, digestmod=hashlib.sha256)

    def hash(self, secret: str) -> str:
        keyed = self._keyed.copy()
        keyed.update(secret.encode())
        return keyed.hexdigest()

    def matches(self, secret: str, stored_hash: str | None) -> bool:
        """Whether ``secret`` hashes to ``stored_hash``, in constant time; with no stored hash,
        the same work is done against a placeholder and the answer is ``False``."""
        same = hmac.compare_digest(self.hash(secret), stored_hash or _NO_HASH)
        return same and stored_hash is not None
