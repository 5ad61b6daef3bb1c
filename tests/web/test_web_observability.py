"""Request ids, JSON access logs without secrets, and Prometheus metrics by route template."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from web_helpers import PASSWORD, Seeded, SignIn, session_cookie

from i18n_connect.app import create_app
from i18n_connect.clock import FrozenClock
from i18n_connect.settings import Settings


def _add_item_route(client: httpx.AsyncClient) -> None:
    app: FastAPI = client.app  # type: ignore[attr-defined]

    async def item(item_id: str) -> dict[str, str]:
        return {"id": item_id}

    app.router.add_api_route("/items/{item_id}", item, methods=["GET"])


def _log_lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


async def test_a_request_id_is_made_when_none_is_given(app_client: httpx.AsyncClient) -> None:
    first = await app_client.get("/healthz")
    second = await app_client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_a_well_formed_incoming_request_id_is_echoed(app_client: httpx.AsyncClient) -> None:
    given = "edge-1.abc_DEF-" + "x" * 49  # 64 characters
    response = await app_client.get("/healthz", headers={"X-Request-ID": given})
    assert response.headers["x-request-id"] == given


@pytest.mark.parametrize(
    "given",
    ["x" * 65, "has space", "semi;colon", "ünïcode", ""],
    ids=["long", "space", "semicolon", "unicode", "empty"],
)
async def test_a_malformed_incoming_request_id_is_replaced(
    app_client: httpx.AsyncClient, given: str
) -> None:
    response = await app_client.get("/healthz", headers={"X-Request-ID": given.encode()})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_metrics_count_requests_by_route_template(app_client: httpx.AsyncClient) -> None:
    _add_item_route(app_client)
    assert (await app_client.get("/items/alpha")).status_code == 200
    assert (await app_client.get("/items/beta")).status_code == 200
    assert (await app_client.get("/no/such/path")).status_code == 404
    assert (await app_client.get("/static/app.css")).status_code == 200
    response = await app_client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    text = response.text
    assert (
        'i18n_connect_http_requests_total{method="GET",route="/items/{item_id}",status="200"} 2.0'
        in text
    )
    assert 'i18n_connect_http_request_duration_seconds_count{route="/items/{item_id}"} 2.0' in text
    assert (
        'i18n_connect_http_requests_total{method="GET",route="unmatched",status="404"} 1.0' in text
    )
    assert 'route="/static/{path}",status="200"} 1.0' in text
    assert "alpha" not in text and "beta" not in text and "/no/such/path" not in text


async def test_unusual_methods_share_one_label(app_client: httpx.AsyncClient) -> None:
    await app_client.request("BREW", "/healthz")
    text = (await app_client.get("/metrics")).text
    assert 'method="OTHER",route="/healthz",status="405"' in text
    assert "BREW" not in text


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 401),
        ("Bearer wrong-token-of-the-right-length", 401),
        ("Basic bWV0cmljcy10b2tlbi0wMTIzNDU2Nzg5", 401),
        ("Bearer metrics-token-0123456789", 200),
        ("bearer metrics-token-0123456789", 200),
    ],
    ids=["none", "wrong", "basic", "right", "lowercase-scheme"],
)
async def test_a_metrics_token_guards_the_metrics(
    settings: Settings, clock: FrozenClock, authorization: str | None, status: int
) -> None:
    guarded = settings.model_copy(update={"metrics_token": SecretStr("metrics-token-0123456789")})
    app = create_app(guarded, clock=clock)
    headers = {"Authorization": authorization} if authorization else {}
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            response = await client.get("/metrics", headers=headers)
    finally:
        await app.state.services.db.dispose()
    assert response.status_code == status
    if status == 401:
        assert response.json()["error"] == "invalid_token"
        assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
        assert "i18n_connect" not in response.text
    else:
        assert "i18n_connect_http_requests_total" in response.text


def test_a_short_metrics_token_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 characters"):
        Settings(metrics_token=SecretStr("short"))


async def test_each_app_has_its_own_registry(settings: Settings, clock: FrozenClock) -> None:
    first, second = create_app(settings, clock=clock), create_app(settings, clock=clock)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=first), base_url="http://testserver"
        ) as client:
            await client.get("/healthz")
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=second), base_url="http://testserver"
        ) as client:
            text = (await client.get("/metrics")).text
        assert 'route="/healthz"' not in text
    finally:
        await first.state.services.db.dispose()
        await second.state.services.db.dispose()


async def test_logs_are_json_lines_with_the_request_id_and_no_secrets(
    app_client: httpx.AsyncClient,
    seeded: Seeded,
    sign_in: SignIn,
    capsys: pytest.CaptureFixture[str],
    json_logs: None,
) -> None:
    capsys.readouterr()
    failed = await sign_in("ada@example.com", "wrong-password-value")
    assert failed.status_code == 401
    response = await sign_in(next="/?secret-query=1")
    assert response.status_code == 303
    cookie = session_cookie(app_client)
    assert cookie
    home = await app_client.get(
        "/?q=private-query", headers={"Authorization": "Bearer bi_oat_do-not-log"}
    )
    output = capsys.readouterr().err
    for secret in (
        PASSWORD,
        "wrong-password-value",
        cookie,
        "private-query",
        "secret-query",
        "bi_oat_do-not-log",
    ):
        assert secret not in output
    lines = _log_lines(output)
    assert lines and all(isinstance(line.get("request_id"), str) for line in lines)
    access = [line for line in lines if line["event"] == "request"]
    assert {"method", "route", "status", "duration_ms", "timestamp", "level"} <= set(access[-1])
    assert access[-1]["request_id"] == home.headers["x-request-id"]
    assert access[-1]["route"] == "/" and access[-1]["status"] == 200
    events = [line["event"] for line in lines]
    assert "login.failed" in events and "login.succeeded" in events
    succeeded = next(line for line in lines if line["event"] == "login.succeeded")
    assert succeeded["user_id"] == seeded.user.id
    assert "ada@example.com" not in output


async def test_logs_go_to_stderr_and_leave_stdout_to_what_commands_print(
    app_client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str], json_logs: None
) -> None:
    capsys.readouterr()
    response = await app_client.get("/healthz", headers={"X-Request-ID": "probe-1"})
    assert response.status_code == 200
    captured = capsys.readouterr()
    assert captured.out == ""
    access = [line for line in _log_lines(captured.err) if line["event"] == "request"]
    assert [(line["request_id"], line["route"]) for line in access] == [("probe-1", "/healthz")]


async def test_an_unhandled_error_is_logged_with_the_request_id_and_counted_as_500(
    app_client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str], json_logs: None
) -> None:
    app: FastAPI = app_client.app  # type: ignore[attr-defined]

    async def broken() -> None:
        raise RuntimeError("boom")

    app.router.add_api_route("/broken", broken, methods=["GET"])
    capsys.readouterr()
    with pytest.raises(RuntimeError, match="boom"):
        await app_client.get("/broken", headers={"X-Request-ID": "trace-42"})
    lines = _log_lines(capsys.readouterr().err)
    error = next(line for line in lines if line["event"] == "unhandled_error")
    assert error["request_id"] == "trace-42"
    assert error["level"] == "error"
    assert "RuntimeError: boom" in str(error["exception"])
    access = next(line for line in lines if line["event"] == "request")
    assert access["status"] == 500 and access["route"] == "/broken"
    text = (await app_client.get("/metrics")).text
    assert 'i18n_connect_http_requests_total{method="GET",route="/broken",status="500"} 1.0' in text
