"""Access tokens (RFC 9068) and their signing keys: forgeries refused, rotation without breaking
issued tokens, several processes agreeing, keys encrypted at rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from i18n_connect.clock import FrozenClock
from i18n_connect.errors import InvalidToken
from i18n_connect.oauth.access_tokens import ACCESS_TOKEN_LIFETIME, AccessTokens
from i18n_connect.oauth.keys import KEY_MARGIN, rotate_keys
from i18n_connect.services import Services
from i18n_connect.settings import ConfigurationError, Settings
from i18n_connect.storage.oauth_tables import signing_keys


def b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def issue(services: Services, **overrides: Any) -> str:
    arguments: dict[str, Any] = {
        "user_id": "usr_1",
        "client_id": "cli_1",
        "scope": ["org:read", "keys:read"],
        "grant_ids": ["grt_1", "grt_2"],
        "audience": services.settings.api_resource,
        **overrides,
    }
    return (await services.tokens.issue(**arguments)).token


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    decode = lambda s: json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))  # noqa: E731
    return decode(header), decode(payload), signature


async def sign_with_our_key(
    services: Services, header: dict[str, Any], claims: dict[str, Any]
) -> str:
    """A genuine ES256 signature over whatever header and claims, built by hand like an
    insider would (joserfc refuses to build several of these)."""
    key = await services.keys.signing_key()
    assert key.private is not None
    signing_input = f"{b64({'kid': key.kid, **header})}.{b64(claims)}"
    der = key.private.private_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = utils.decode_dss_signature(der)
    return f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


async def test_issued_token_has_the_rfc_9068_shape_and_verifies(services: Services) -> None:
    token = await issue(services)

    header, claims, _ = parts(token)
    key = await services.keys.signing_key()
    assert header == {"alg": "ES256", "typ": "at+jwt", "kid": key.kid}
    now = int(services.clock.now().timestamp())
    assert claims == {
        "iss": "http://testserver",
        "sub": "usr_1",
        "aud": "http://testserver/api/oauth-client",
        "client_id": "cli_1",
        "scope": "org:read keys:read",
        "iat": now,
        "exp": now + 1800,
        "jti": claims["jti"],
        "grant_ids": ["grt_1", "grt_2"],
    }
    verified = await services.tokens.verify(token, audience=services.settings.api_resource)
    assert verified.grant_ids == ("grt_1", "grt_2") and verified.scope == ("org:read", "keys:read")
    assert verified.sub == "usr_1" and verified.exp == now + 1800


Forgery = Callable[[Services, str], Awaitable[str]]


async def alg_none(services: Services, token: str) -> str:
    header, claims, _ = parts(token)
    return f"{b64({**header, 'alg': 'none'})}.{b64(claims)}."


async def hs256_with_our_public_key(services: Services, token: str) -> str:
    header, claims, _ = parts(token)
    public = (await services.keys.signing_key()).public
    signing_input = f"{b64({**header, 'alg': 'HS256'})}.{b64(claims)}"
    mac = hmac.new(public.as_pem(private=False), signing_input.encode(), hashlib.sha256)
    return f"{signing_input}.{b64(mac.digest())}"  # by hand: joserfc refuses to build it


async def embedded_jwk(services: Services, token: str) -> str:
    header, claims, _ = parts(token)
    attacker = ECKey.generate_key("P-256")
    forged_header = {**header, "jwk": attacker.as_dict(private=False)}
    return jwt.encode(forged_header, claims, attacker, algorithms=["ES256"])


def remote_key(name: str) -> Forgery:
    async def forge(services: Services, token: str) -> str:
        header, claims, _ = parts(token)
        attacker = ECKey.generate_key("P-256")
        forged_header = {**header, name: "https://evil.example/keys"}
        return jwt.encode(forged_header, claims, attacker, algorithms=["ES256"])

    return forge


async def unknown_crit(services: Services, token: str) -> str:
    header, claims, _ = parts(token)
    return await sign_with_our_key(services, {**header, "crit": ["x-ext"], "x-ext": 1}, claims)


async def typ_jwt(services: Services, token: str) -> str:
    header, claims, _ = parts(token)
    return await sign_with_our_key(services, {**header, "typ": "JWT"}, claims)


async def no_typ(services: Services, token: str) -> str:
    _, claims, _ = parts(token)
    return await sign_with_our_key(services, {"alg": "ES256"}, claims)


async def attacker_key_our_kid(services: Services, token: str) -> str:
    header, claims, _ = parts(token)
    return jwt.encode(header, claims, ECKey.generate_key("P-256"), algorithms=["ES256"])


async def attacker_key_unknown_kid(services: Services, token: str) -> str:
    header, claims, _ = parts(token)
    return jwt.encode(
        {**header, "kid": "attacker"}, claims, ECKey.generate_key("P-256"), algorithms=["ES256"]
    )


async def rs256(services: Services, token: str) -> str:
    header, claims, _ = parts(token)
    return jwt.encode(
        {**header, "alg": "RS256"}, claims, RSAKey.generate_key(2048), algorithms=["RS256"]
    )


async def tampered_payload(services: Services, token: str) -> str:
    header, _, signature = token.split(".")
    _, decoded, _ = parts(token)
    return f"{header}.{b64({**decoded, 'sub': 'usr_admin'})}.{signature}"


async def tampered_signature(services: Services, token: str) -> str:
    head, signature = token.rsplit(".", 1)
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return f"{head}.{flipped}"


async def oversized(services: Services, token: str) -> str:
    header, claims, _ = parts(token)
    return await sign_with_our_key(services, header, {**claims, "padding": "x" * 8192})


def claims_changed(**changes: Any) -> Forgery:
    async def forge(services: Services, token: str) -> str:
        header, claims, _ = parts(token)
        updated = {**claims, **changes}
        return await sign_with_our_key(
            services, header, {k: v for k, v in updated.items() if v is not None}
        )

    return forge


async def jwe_shaped(services: Services, token: str) -> str:
    return token + ".AAAA.BBBB"


async def garbage(services: Services, token: str) -> str:
    return "not-a-token"


async def non_ascii(services: Services, token: str) -> str:
    return token[:-2] + "é" + token[-1]


async def extra_header_member(services: Services, token: str) -> str:
    header, claims, _ = parts(token)
    return await sign_with_our_key(services, {**header, "b64": True}, claims)


FORGERIES: dict[str, Forgery] = {
    "alg none": alg_none,
    "HS256 keyed with our public key": hs256_with_our_public_key,
    "embedded jwk header": embedded_jwk,
    "jku header": remote_key("jku"),
    "x5u header": remote_key("x5u"),
    "unknown crit": unknown_crit,
    "typ JWT": typ_jwt,
    "no typ": no_typ,
    "attacker key with our kid": attacker_key_our_kid,
    "attacker key with an unknown kid": attacker_key_unknown_kid,
    "RS256": rs256,
    "payload changed after signing": tampered_payload,
    "signature changed": tampered_signature,
    "larger than 8 KB": oversized,
    "wrong issuer": claims_changed(iss="https://evil.example"),
    "audience of another resource": claims_changed(aud="http://testserver/mcp"),
    "audience as a list": claims_changed(aud=["http://testserver/api/oauth-client"]),
    "no exp": claims_changed(exp=None),
    "exp as a string": claims_changed(exp="9999999999"),
    "issued an hour in the future": claims_changed(iat=int(2e9)),
    "no grant_ids": claims_changed(grant_ids=None),
    "empty grant_ids": claims_changed(grant_ids=[]),
    "no sub": claims_changed(sub=None),
    "five segments": jwe_shaped,
    "not a JWT": garbage,
    "non-ASCII character": non_ascii,
    "unexpected header member": extra_header_member,
}


@pytest.mark.parametrize("forge", list(FORGERIES.values()), ids=list(FORGERIES))
async def test_forged_or_malformed_token_is_invalid(services: Services, forge: Forgery) -> None:
    genuine = await issue(services)
    forged = await forge(services, genuine)

    with pytest.raises(InvalidToken):
        await services.tokens.verify(forged, audience=services.settings.api_resource)
    # the genuine token still verifies: the refusal was about the forgery
    await services.tokens.verify(genuine, audience=services.settings.api_resource)


async def test_token_expires_after_thirty_minutes(services: Services, clock: FrozenClock) -> None:
    token = await issue(services)
    clock.advance(minutes=29, seconds=59)
    await services.tokens.verify(token, audience=services.settings.api_resource)
    clock.advance(seconds=1)
    with pytest.raises(InvalidToken):
        await services.tokens.verify(token, audience=services.settings.api_resource)


async def test_mcp_token_is_not_accepted_by_the_partner_api(services: Services) -> None:
    token = await issue(services, audience=services.settings.mcp_resource)
    await services.tokens.verify(token, audience=services.settings.mcp_resource)
    with pytest.raises(InvalidToken):
        await services.tokens.verify(token, audience=services.settings.api_resource)


async def test_rotation_keeps_old_tokens_valid_and_publishes_both_keys(
    services: Services, clock: FrozenClock
) -> None:
    old_token = await issue(services)
    old_kid = (await services.keys.signing_key()).kid

    async with services.db.transaction() as conn:
        rotation = await rotate_keys(
            conn,
            now=clock.now(),
            kek=services.settings.derived_key("signing-key"),
            token_lifetime=ACCESS_TOKEN_LIFETIME,
        )
    await services.keys.load()

    assert rotation.retired == (old_kid,)
    new_token = await issue(services)
    assert parts(new_token)[0]["kid"] == rotation.kid != old_kid
    await services.tokens.verify(old_token, audience=services.settings.api_resource)
    await services.tokens.verify(new_token, audience=services.settings.api_resource)
    assert [key["kid"] for key in (await services.keys.jwks())["keys"]] == [rotation.kid, old_kid]

    clock.advance(ACCESS_TOKEN_LIFETIME + KEY_MARGIN)  # every token of the old key has expired
    assert [key["kid"] for key in (await services.keys.jwks())["keys"]] == [rotation.kid]
    with pytest.raises(InvalidToken):
        await services.tokens.verify(old_token, audience=services.settings.api_resource)


async def test_another_process_learns_a_rotated_key_from_an_unknown_kid(
    settings: Settings, services: Services, clock: FrozenClock
) -> None:
    other = Services.build(settings, clock=clock)  # a second server process on the same store
    try:
        await other.keys.load()
        await services.keys.load()
        assert (await other.keys.signing_key()).kid == (await services.keys.signing_key()).kid
        async with services.db.transaction() as conn:
            await rotate_keys(
                conn,
                now=clock.now(),
                kek=settings.derived_key("signing-key"),
                token_lifetime=ACCESS_TOKEN_LIFETIME,
            )
        await services.keys.load()
        token = await issue(services)

        claims = await other.tokens.verify(token, audience=settings.api_resource)

        assert claims.sub == "usr_1"
        assert len((await other.keys.jwks())["keys"]) == 2
    finally:
        await other.db.dispose()


async def test_keys_are_created_once_and_shared(
    settings: Settings, services: Services, clock: FrozenClock
) -> None:
    await services.keys.load()
    other = Services.build(settings, clock=clock)
    try:
        await other.keys.load()
        token = await issue(other)
        await services.tokens.verify(token, audience=settings.api_resource)
    finally:
        await other.db.dispose()
    async with services.db.transaction(readonly=True) as conn:
        rows = (await conn.execute(sa.select(signing_keys))).all()
    assert len(rows) == 1
    assert b"PRIVATE KEY" not in rows[0].private_key
    assert "d" not in rows[0].public_jwk


async def test_a_different_server_secret_cannot_use_the_stored_key(
    database_url: str, services: Services, clock: FrozenClock
) -> None:
    await services.keys.load()
    stranger = Services.build(
        Settings(database_url=database_url, issuer="http://testserver", secret_key="z" * 40),
        clock=clock,
    )
    try:
        with pytest.raises(ConfigurationError, match="cannot be decrypted"):
            await stranger.keys.load()
    finally:
        await stranger.db.dispose()


async def test_tokens_of_another_issuer_are_refused(services: Services) -> None:
    foreign = AccessTokens(services.keys, issuer="https://other.example", clock=services.clock)
    token = (
        await foreign.issue(
            user_id="usr_1",
            client_id="cli_1",
            scope=["org:read"],
            grant_ids=["grt_1"],
            audience=services.settings.api_resource,
        )
    ).token
    with pytest.raises(InvalidToken):
        await services.tokens.verify(token, audience=services.settings.api_resource)
