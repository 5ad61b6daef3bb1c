"""The hot routes: found by path and method, or by a last path segment of at most 64
characters; everything else, and a longer segment, goes on to the app's router."""

from __future__ import annotations

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from i18n_connect.errors import InvalidRequest, ProtocolError
from i18n_connect.web.errors import error_response
from i18n_connect.web.hot_routes import MAX_PARAMETER_LENGTH, HotRoutes


async def _fallback(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("router")(scope, receive, send)


async def _item(request: Request) -> Response:
    if request.path_params["item_id"] == "bad":
        raise InvalidRequest("bad item")
    return JSONResponse({"item": request.path_params["item_id"]})


async def _form(_request: Request) -> Response:
    return JSONResponse({"form": True})


async def _protocol_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProtocolError)
    return error_response(exc)


@pytest.fixture
def client() -> httpx.AsyncClient:
    hot = HotRoutes(
        [
            Route("/bench/form", _form, methods=["POST"]),
            Route("/api/items/{item_id}", _item, methods=["GET"]),
        ],
        {ProtocolError: _protocol_error},
    )

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        route = hot.find(scope)
        if route is None:
            await _fallback(scope, receive, send)
        else:
            await hot.answer(route, scope, receive, send)

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_an_exact_path_and_method_is_answered_by_its_route(client: httpx.AsyncClient) -> None:
    assert (await client.post("/bench/form")).json() == {"form": True}
    assert (await client.get("/bench/form")).text == "router"
    assert (await client.post("/bench/form/")).text == "router"


async def test_the_last_segment_is_the_parameter_up_to_64_characters(
    client: httpx.AsyncClient,
) -> None:
    longest = "x" * MAX_PARAMETER_LENGTH
    assert (await client.get(f"/api/items/{longest}")).json() == {"item": longest}
    assert (await client.get(f"/api/items/{longest}x")).text == "router"
    assert (await client.get("/api/items/")).text == "router"
    assert (await client.get("/api/items/a/b")).text == "router"
    assert (await client.post("/api/items/a")).text == "router"


async def test_errors_become_the_apps_error_responses(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/items/bad")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
