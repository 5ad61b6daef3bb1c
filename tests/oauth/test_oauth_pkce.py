"""PKCE S256 (RFC 7636) and properties of redirect URI matching (RFC 8252 §7.3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from i18n_connect.errors import InvalidRequest
from i18n_connect.oauth.clients import redirect_uri_matches
from i18n_connect.oauth.pkce import (
    s256_challenge,
    validate_challenge,
    validate_verifier,
    verifier_matches,
)

UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"


def test_s256_matches_the_rfc_7636_appendix_b_example() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert s256_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


@given(st.text(alphabet=UNRESERVED, min_size=43, max_size=128))
def test_every_well_formed_verifier_matches_its_own_challenge_only(verifier: str) -> None:
    challenge = validate_challenge(s256_challenge(verifier))
    assert verifier_matches(validate_verifier(verifier), challenge)
    assert not verifier_matches(verifier[::-1] + "x", challenge)


@pytest.mark.parametrize(
    "verifier",
    ["a" * 42, "a" * 129, "a" * 42 + "=", "a" * 42 + "+", "a" * 42 + "/", "a" * 42 + "é", ""],
)
def test_malformed_verifier_is_invalid_request(verifier: str) -> None:
    with pytest.raises(InvalidRequest):
        validate_verifier(verifier)


@pytest.mark.parametrize("challenge", ["a" * 42, "a" * 44, "a" * 42 + "=", "a" * 42 + "+", ""])
def test_malformed_challenge_is_invalid_request(challenge: str) -> None:
    with pytest.raises(InvalidRequest):
        validate_challenge(challenge)


@given(
    st.integers(min_value=1, max_value=65535), st.sampled_from(["127.0.0.1", "[::1]", "localhost"])
)
def test_loopback_redirect_uri_matches_on_every_port(port: int, host: str) -> None:
    assert redirect_uri_matches((f"http://{host}/cb",), f"http://{host}:{port}/cb")
    assert not redirect_uri_matches((f"http://{host}/cb",), f"http://{host}:{port}/cb/")


REGISTERED = "https://app.example.com/callback?tenant=7"


@given(st.integers(min_value=0, max_value=len(REGISTERED) - 1), st.characters(codec="ascii"))
def test_any_one_character_change_of_a_registered_uri_does_not_match(
    index: int, replacement: str
) -> None:
    changed = REGISTERED[:index] + replacement + REGISTERED[index + 1 :]
    assert redirect_uri_matches((REGISTERED,), changed) is (changed == REGISTERED)
    inserted = REGISTERED[:index] + replacement + REGISTERED[index:]
    assert not redirect_uri_matches((REGISTERED,), inserted)
    assert not redirect_uri_matches((REGISTERED,), REGISTERED[:index] + REGISTERED[index + 1 :])
