"""Every error the server can answer maps to its typed SDK exception, with its attributes."""

from __future__ import annotations

import httpx
import pytest

from i18n_connect.client import (
    AccessDenied,
    Conflict,
    ConnectClient,
    GrantNotFound,
    GrantRevoked,
    I18nConnectError,
    InsufficientScope,
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    InvalidTarget,
    InvalidToken,
    MissingScope,
    NotFound,
    RateLimited,
    ServerError,
    TemporarilyUnavailable,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    WrongOrganization,
    WrongProject,
)
from i18n_connect.client.errors import error_from_code, error_from_response

ERRORS = [
    (400, "invalid_request", InvalidRequest),
    (400, "invalid_grant", InvalidGrant),
    (400, "unsupported_grant_type", UnsupportedGrantType),
    (400, "invalid_scope", InvalidScope),
    (400, "invalid_target", InvalidTarget),
    (400, "unauthorized_client", UnauthorizedClient),
    (401, "invalid_client", InvalidClient),
    (401, "invalid_token", InvalidToken),
    (403, "missing_scope", MissingScope),
    (403, "insufficient_scope", InsufficientScope),
    (403, "wrong_organization", WrongOrganization),
    (403, "wrong_project", WrongProject),
    (404, "grant_not_found", GrantNotFound),
    (404, "not_found", NotFound),
    (409, "conflict", Conflict),
    (410, "grant_revoked", GrantRevoked),
    (429, "rate_limited", RateLimited),
    (500, "server_error", ServerError),
    (503, "temporarily_unavailable", TemporarilyUnavailable),
]


def _response(status: int, body: object = None, headers: dict[str, str] | None = None):
    if body is None:
        return httpx.Response(status, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(("status", "code", "cls"), ERRORS, ids=[e[1] for e in ERRORS])
def test_error_code_maps_to_its_class(status: int, code: str, cls: type) -> None:
    error = error_from_response(
        _response(status, {"error": code, "error_description": "why it failed"})
    )
    assert type(error) is cls
    assert isinstance(error, I18nConnectError)
    assert (error.status, error.error, error.description) == (status, code, "why it failed")


def test_missing_scope_names_the_required_scope() -> None:
    error = error_from_response(
        _response(
            403,
            {"error": "missing_scope", "error_description": "no", "required": "keys:write"},
        )
    )
    assert isinstance(error, MissingScope)
    assert error.required == "keys:write"


def test_rate_limited_carries_retry_after_seconds() -> None:
    error = error_from_response(
        _response(429, {"error": "rate_limited"}, headers={"Retry-After": "17"})
    )
    assert isinstance(error, RateLimited)
    assert error.retry_after == 17.0


def test_rate_limited_accepts_an_http_date_in_the_past_as_zero_wait() -> None:
    error = error_from_response(
        _response(
            429, {"error": "rate_limited"}, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
        )
    )
    assert isinstance(error, RateLimited)
    assert error.retry_after == 0.0


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, InvalidToken),
        (404, NotFound),
        (410, GrantRevoked),
        (429, RateLimited),
        (502, ServerError),
    ],
    ids=["401", "404", "410", "429", "502"],
)
def test_a_body_without_error_code_maps_by_status(status: int, cls: type) -> None:
    error = error_from_response(httpx.Response(status, text="<html>oops</html>"))
    assert type(error) is cls
    assert error.status == status


def test_an_unknown_error_code_keeps_its_code_on_the_base_class() -> None:
    error = error_from_response(_response(418, {"error": "teapot", "error_description": "short"}))
    assert type(error) is I18nConnectError
    assert (error.status, error.error, error.description) == (418, "teapot", "short")


def test_redirect_error_codes_map_without_status() -> None:
    error = error_from_code("access_denied", "The user denied the request.")
    assert isinstance(error, AccessDenied)
    assert error.status is None
    assert error.description == "The user denied the request."
    assert isinstance(error_from_code("unsupported_response_type"), UnsupportedResponseType)


@pytest.mark.parametrize(("status", "code", "cls"), ERRORS, ids=[e[1] for e in ERRORS])
async def test_every_partner_api_call_raises_the_mapped_error(
    status: int, code: str, cls: type
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"error": code, "error_description": "d"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with ConnectClient("http://issuer.test", "cid", http=http) as client:
        with pytest.raises(cls) as caught:
            await client.partner_api("bi_oat_x").projects("org_1")
    assert caught.value.status == status
    await http.aclose()


def test_a_bearer_challenge_without_body_names_the_error_and_scope() -> None:
    error = error_from_response(
        httpx.Response(
            403,
            headers={
                "WWW-Authenticate": 'Bearer error="insufficient_scope", '
                'error_description="Needs more", scope="keys:write"'
            },
        )
    )
    assert isinstance(error, InsufficientScope)
    assert (error.status, error.required, error.description) == (403, "keys:write", "Needs more")


def test_the_json_body_wins_over_the_challenge() -> None:
    error = error_from_response(
        httpx.Response(
            401,
            json={"error": "invalid_token", "error_description": "expired"},
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    )
    assert isinstance(error, InvalidToken) and error.description == "expired"
