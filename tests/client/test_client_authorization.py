"""The authorize URL, PKCE values and the callback checks (state, iss, error) of the SDK."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from i18n_connect.client import (
    AccessDenied,
    AuthorizationSession,
    I18nConnectError,
    InvalidCallback,
    InvalidScope,
    IssuerMismatch,
    StateMismatch,
    code_challenge,
    new_code_verifier,
    new_state,
)

ISSUER = "http://issuer.test"
REDIRECT = "http://127.0.0.1:8001/connect/callback"


def _session() -> AuthorizationSession:
    return AuthorizationSession.start(ISSUER, "cid", REDIRECT, ["org:read", "projects:read"])


def test_verifier_and_state_carry_256_bits_and_are_fresh() -> None:
    verifiers = {new_code_verifier() for _ in range(100)}
    states = {new_state() for _ in range(100)}
    assert len(verifiers) == 100 and len(states) == 100
    for value in verifiers | states:
        assert len(base64.urlsafe_b64decode(value + "=")) == 32


def test_challenge_is_rfc7636_appendix_b_s256() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_authorize_url_carries_every_parameter() -> None:
    session = _session()
    url = urlsplit(session.url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{ISSUER}/api/auth/mcp/authorize"
    params = {k: v[0] for k, v in parse_qs(url.query).items()}
    digest = hashlib.sha256(session.code_verifier.encode()).digest()
    assert params == {
        "response_type": "code",
        "client_id": "cid",
        "redirect_uri": REDIRECT,
        "scope": "org:read projects:read",
        "state": session.state,
        "code_challenge": base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    assert "+" in url.query.split("scope=")[1].split("&")[0]  # spaces as '+'


def test_two_sessions_never_share_state_or_verifier() -> None:
    first, second = _session(), _session()
    assert first.state != second.state
    assert first.code_verifier != second.code_verifier


def test_verifier_is_not_in_the_repr() -> None:
    session = _session()
    assert session.code_verifier not in repr(session)


def test_valid_callback_gives_the_code_from_url_query_or_mapping() -> None:
    session = _session()
    query = urlencode({"code": "c1", "state": session.state, "iss": ISSUER})
    assert session.code_from_callback(f"{REDIRECT}?{query}") == "c1"
    assert session.code_from_callback(query) == "c1"
    assert session.code_from_callback({"code": "c1", "state": session.state}) == "c1"


def test_callback_with_another_state_is_rejected() -> None:
    session = _session()
    with pytest.raises(StateMismatch):
        session.code_from_callback({"code": "c1", "state": new_state(), "iss": ISSUER})
    with pytest.raises(StateMismatch):
        session.code_from_callback({"code": "c1", "iss": ISSUER})


def test_callback_from_another_issuer_is_rejected() -> None:
    session = _session()
    with pytest.raises(IssuerMismatch):
        session.code_from_callback(
            {"code": "c1", "state": session.state, "iss": "http://evil.test"}
        )


def test_callback_without_iss_is_rejected_only_when_required() -> None:
    session = _session()
    assert session.code_from_callback({"code": "c1", "state": session.state}) == "c1"
    with pytest.raises(IssuerMismatch):
        session.code_from_callback({"code": "c1", "state": session.state}, require_iss=True)


def test_denied_consent_raises_access_denied() -> None:
    session = _session()
    with pytest.raises(AccessDenied) as caught:
        session.code_from_callback(
            {
                "error": "access_denied",
                "error_description": "The user denied the request.",
                "state": session.state,
                "iss": ISSUER,
            }
        )
    assert caught.value.description == "The user denied the request."
    assert caught.value.status is None


def test_error_redirect_with_forged_state_is_a_state_mismatch_not_the_error() -> None:
    session = _session()
    with pytest.raises(StateMismatch):
        session.code_from_callback({"error": "access_denied", "state": "forged"})


def test_other_redirect_errors_are_typed() -> None:
    session = _session()
    with pytest.raises(InvalidScope):
        session.code_from_callback({"error": "invalid_scope", "state": session.state})
    with pytest.raises(I18nConnectError) as caught:
        session.code_from_callback({"error": "weird", "state": session.state})
    assert caught.value.error == "weird"


def test_callback_without_code_is_invalid() -> None:
    session = _session()
    with pytest.raises(InvalidCallback):
        session.code_from_callback({"state": session.state, "iss": ISSUER})
