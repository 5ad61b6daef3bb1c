"""Access tokens: JWTs per RFC 9068 (``typ: at+jwt``), signed ES256 with a published ``kid``.

Claims: ``iss``, ``sub`` (the user), ``aud`` (the partner API or, when the
client asked for it with ``resource``, the MCP server — RFC 8707), ``client_id``,
``scope``, ``iat``, ``exp`` (30 minutes), ``jti``, ``grant_ids`` (every grant
the token covers) and ``chains`` (grant id → the refresh chain it was issued
from: every database check of the token refuses a grant whose chain has ended).

Verification (RFC 9068 §4, RFC 8725 §3) accepts exactly one shape: a compact
JWS of at most 8 KB whose protected header has only ``alg: ES256``, the
``at+jwt`` type and a ``kid`` naming a published key. Anything else — ``alg:
none``, HMAC, embedded or remote keys (``jwk``, ``jku``, ``x5u``, ``x5c``),
``crit`` — is refused before any signature check. joserfc does the JOSE work
at the JWS level (RFC 7515 §7.1): its ES256 algorithm signs and verifies, while
the compact form around it, the header policy and the claims are handled here
(joserfc's generic JWT and compact layers cost as much again as the signature).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.util import urlsafe_b64decode, urlsafe_b64encode

from i18n_connect.clock import Clock
from i18n_connect.errors import InvalidToken
from i18n_connect.ids import new_id
from i18n_connect.oauth.keys import ALGORITHM, KeyRing

__all__ = [
    "ACCESS_TOKEN_LIFETIME",
    "MAX_TOKEN_BYTES",
    "AccessTokenClaims",
    "AccessTokens",
    "IssuedAccessToken",
]

ACCESS_TOKEN_LIFETIME = timedelta(minutes=30)
MAX_TOKEN_BYTES = 8192
TOKEN_TYPE = "at+jwt"  # noqa: S105 (a media type, not a secret)
_ACCEPTED_TYPES = frozenset({"at+jwt", "application/at+jwt"})
_ALLOWED_HEADER = frozenset({"alg", "typ", "kid"})
_LEEWAY_SECONDS = 30  # tolerated clock skew for iat between processes
_VERIFIED_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class AccessTokenClaims:
    sub: str  # the user id
    client_id: str
    scope: tuple[str, ...]
    grant_ids: tuple[str, ...]
    aud: str
    iat: int
    exp: int
    jti: str
    chains: Mapping[str, str] = field(default_factory=dict)  # grant id -> refresh chain id


@dataclass(frozen=True, slots=True)
class IssuedAccessToken:
    token: str
    claims: AccessTokenClaims

    @property
    def expires_in(self) -> int:
        return self.claims.exp - self.claims.iat


def _string(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidToken(log_detail=f"claim {name} missing or not a string")
    return value


def _integer(claims: dict[str, Any], name: str) -> int:
    value = claims.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidToken(log_detail=f"claim {name} missing or not an integer")
    return value


class AccessTokens:
    """Issues and verifies access tokens with the keys of a `KeyRing`."""

    def __init__(
        self,
        keys: KeyRing,
        *,
        issuer: str,
        clock: Clock,
        lifetime: timedelta = ACCESS_TOKEN_LIFETIME,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._clock = clock
        self._lifetime = int(lifetime.total_seconds())
        self._registry = jws.JWSRegistry(algorithms=[ALGORITHM])
        self._es256 = self._registry.get_alg(ALGORITHM)
        self._verified: OrderedDict[str, AccessTokenClaims] = OrderedDict()
        self._headers: dict[str, bytes] = {}  # kid -> encoded protected header

    async def issue(
        self,
        *,
        user_id: str,
        client_id: str,
        scope: Sequence[str],
        grant_ids: Sequence[str],
        audience: str,
        chains: Mapping[str, str] | None = None,
    ) -> IssuedAccessToken:
        """Sign a token for the user, the client and the grants it covers."""
        key = await self._keys.signing_key()
        assert key.private is not None
        now = int(self._clock.now().timestamp())
        claims = AccessTokenClaims(
            sub=user_id,
            client_id=client_id,
            scope=tuple(scope),
            grant_ids=tuple(grant_ids),
            aud=audience,
            iat=now,
            exp=now + self._lifetime,
            jti=new_id("atk"),
            chains=dict(chains or {}),
        )
        payload: dict[str, Any] = {
            "iss": self._issuer,
            "sub": claims.sub,
            "aud": claims.aud,
            "client_id": claims.client_id,
            "scope": " ".join(claims.scope),
            "iat": claims.iat,
            "exp": claims.exp,
            "jti": claims.jti,
            "grant_ids": list(claims.grant_ids),
        }
        if claims.chains:
            payload["chains"] = dict(claims.chains)
        body = json.dumps(payload, separators=(",", ":")).encode()
        signing_input = self._header_segment(key.kid) + b"." + urlsafe_b64encode(body)
        signature = urlsafe_b64encode(self._es256.sign(signing_input, key.private))
        token = (signing_input + b"." + signature).decode("ascii")
        return IssuedAccessToken(token=token, claims=claims)

    def _header_segment(self, kid: str) -> bytes:
        """The encoded protected header of tokens signed with ``kid`` (RFC 7515 §7.1): the
        same for every token of a key, so encoded once per key."""
        segment = self._headers.get(kid)
        if segment is None:
            header = {"alg": ALGORITHM, "typ": TOKEN_TYPE, "kid": kid}
            segment = urlsafe_b64encode(json.dumps(header, separators=(",", ":")).encode())
            self._headers[kid] = segment
        return segment

    async def verify(self, token: str, *, audience: str) -> AccessTokenClaims:
        """The claims of a valid token for ``audience``; `InvalidToken` for anything else.

        A token whose signature and shape were verified once is remembered (a
        bounded LRU keyed by the whole token string); audience and time are
        checked on every call.
        """
        claims = await self._signed(token)
        if claims.aud != audience:
            raise InvalidToken("The access token is not meant for this resource.")
        return self._current(claims)

    async def verify_served(
        self, token: str, *, serves: Callable[[str], bool]
    ) -> AccessTokenClaims:
        """The claims of a valid token whose audience ``serves`` accepts — any of this
        server's resources, for introspection; `InvalidToken` for anything else."""
        claims = await self._signed(token)
        if not serves(claims.aud):
            raise InvalidToken("The access token is not meant for this server.")
        return self._current(claims)

    async def _signed(self, token: str) -> AccessTokenClaims:
        """The claims of a token with a valid signature and shape, remembered once checked."""
        claims = self._verified.get(token) if isinstance(token, str) else None
        if claims is None:
            claims = await self._verified_claims(token)
            self._verified[token] = claims
            if len(self._verified) > _VERIFIED_CACHE_SIZE:
                self._verified.popitem(last=False)
        else:
            self._verified.move_to_end(token)
        return claims

    def _current(self, claims: AccessTokenClaims) -> AccessTokenClaims:
        """``claims`` unless expired or issued in the future."""
        now = int(self._clock.now().timestamp())
        if claims.exp <= now:
            raise InvalidToken("The access token has expired.")
        if claims.iat > now + _LEEWAY_SECONDS:
            raise InvalidToken(log_detail="issued in the future")
        return claims

    async def _verified_claims(self, token: str) -> AccessTokenClaims:
        """Header policy, key, signature, issuer and claim types: what never changes."""
        if not isinstance(token, str) or len(token) > MAX_TOKEN_BYTES or token.count(".") != 2:
            raise InvalidToken(log_detail="not a compact JWS of acceptable size")
        try:
            compact = jws.extract_compact(token.encode("ascii"), registry=self._registry)
            header = compact.headers()
        except (JoseError, UnicodeError, ValueError) as exc:
            raise InvalidToken(log_detail="malformed JWS") from exc
        kid = header.get("kid")
        typ = header.get("typ")
        if (
            header.get("alg") != ALGORITHM
            or not header.keys() <= _ALLOWED_HEADER
            or not isinstance(typ, str)
            or typ.lower() not in _ACCEPTED_TYPES
            or not isinstance(kid, str)
        ):
            raise InvalidToken(log_detail=f"refused header {sorted(header)}")
        key = await self._keys.verification_key(kid)
        if key is None:
            raise InvalidToken(log_detail="unknown or expired kid")
        # The header was checked above, so only the signature is left: joserfc's ES256
        # algorithm verifies it directly (validate_compact would re-check the header and
        # the key's use on every call).
        segments = compact.segments
        try:
            valid = self._es256.verify(
                segments["header"] + b"." + segments["payload"],
                urlsafe_b64decode(segments["signature"]),
                key.public,
            )
        except (JoseError, ValueError) as exc:
            raise InvalidToken(log_detail="signature check failed") from exc
        if not valid:
            raise InvalidToken(log_detail="bad signature")
        return self._claims(compact.payload)

    def _claims(self, payload: bytes) -> AccessTokenClaims:
        try:
            claims = json.loads(payload)
        except ValueError as exc:
            raise InvalidToken(log_detail="payload is not JSON") from exc
        if not isinstance(claims, dict):
            raise InvalidToken(log_detail="payload is not an object")
        if claims.get("iss") != self._issuer:
            raise InvalidToken(log_detail="wrong issuer")
        scope = claims.get("scope")
        grant_ids = claims.get("grant_ids")
        if not isinstance(scope, str) or not isinstance(grant_ids, list) or not grant_ids:
            raise InvalidToken(log_detail="scope or grant_ids malformed")
        if not all(isinstance(grant_id, str) for grant_id in grant_ids):
            raise InvalidToken(log_detail="grant_ids malformed")
        chains = claims.get("chains", {})
        if not isinstance(chains, dict) or not all(
            grant_id in grant_ids and isinstance(chain_id, str)
            for grant_id, chain_id in chains.items()
        ):
            raise InvalidToken(log_detail="chains malformed")
        return AccessTokenClaims(
            sub=_string(claims, "sub"),
            client_id=_string(claims, "client_id"),
            scope=tuple(scope.split()),
            grant_ids=tuple(grant_ids),
            aud=_string(claims, "aud"),
            iat=_integer(claims, "iat"),
            exp=_integer(claims, "exp"),
            jti=_string(claims, "jti"),
            chains=chains,
        )
