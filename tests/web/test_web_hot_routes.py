"""The hot routes: found by path and method, or by the one path segment that is their
parameter, of at most 64 characters; everything else, a longer segment and a request the
route declines, goes on to the app's router."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from i18n_connect.errors import InvalidRequest, ProtocolError
from i18n_connect.web.errors import error_response, install_error_handlers
from i18n_connect.web.hot_routes import MAX_PARAMETER_LENGTH, Declined, HotRoutes


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


def _client(
    hot: HotRoutes, fallback: ASGIApp, *, declined_to: ASGIApp | None = None
) -> httpx.AsyncClient:
    """A client of an app that sends what ``hot`` does not find to ``fallback``, as the edge
    does, and what a hot endpoint declines to ``declined_to``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        route = hot.find(scope)
        if route is None:
            await fallback(scope, receive, send)
        elif declined_to is None:
            await hot.answer(route, scope, receive, send)
        else:
            await hot.answer(route, scope, receive, send, app=declined_to)

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


@pytest.fixture
def client() -> httpx.AsyncClient:
    hot = HotRoutes(
        [
            Route("/bench/form", _form, methods=["POST"]),
            Route("/api/items/{item_id}", _item, methods=["GET"]),
        ],
        {ProtocolError: _protocol_error},
    )

    return _client(hot, _fallback)


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


async def _tokens(request: Request) -> Response:
    body = await request.body()
    if body != b"plain":
        raise Declined(body)
    return JSONResponse({"grant": request.path_params["grant_id"]})


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    """The app's router: what it was asked, with the body it reads."""
    request = Request(scope, receive)
    body = (await request.body()).decode()
    routed = sorted(key for key in ("path_params", "route", "endpoint") if key in scope)
    await JSONResponse({"router": scope["path"], "body": body, "routed": routed})(
        scope, receive, send
    )


@pytest.fixture
def tokens() -> httpx.AsyncClient:
    hot = HotRoutes(
        [
            Route("/api/items/{item_id}", _item, methods=["GET"]),
            Route("/api/grants/{grant_id}/tokens", _tokens, methods=["POST"]),
        ],
        {ProtocolError: _protocol_error},
    )

    return _client(hot, _echo, declined_to=_echo)


async def test_the_parameter_may_be_any_one_segment(tokens: httpx.AsyncClient) -> None:
    longest = "g" * MAX_PARAMETER_LENGTH
    for grant_id in ("g1", longest, "tokens", "ü x"):
        answer = await tokens.post(f"/api/grants/{grant_id}/tokens", content=b"plain")
        assert answer.json() == {"grant": grant_id}
    assert (await tokens.get("/api/items/tokens")).json() == {"item": "tokens"}
    for path in (
        f"/api/grants/{longest}x/tokens",
        "/api/grants//tokens",
        "/api/grants/a/b/tokens",
        "/api/grants/g1/tokens/",
        "/api/grants/g1/token",
        "/api/grants/g1",
        "/tokens",
    ):
        answer = await tokens.post(path, content=b"plain")
        assert answer.json()["router"] == path, path
    assert "router" in (await tokens.get("/api/grants/g1/tokens")).json()


async def test_a_declined_request_goes_to_the_app_with_its_body(tokens: httpx.AsyncClient) -> None:
    answer = await tokens.post("/api/grants/g1/tokens", content=b'{"other": 1}')
    assert answer.json() == {
        "router": "/api/grants/g1/tokens",
        "body": '{"other": 1}',
        "routed": [],
    }


def test_a_route_has_at_most_one_parameter_making_up_a_whole_segment() -> None:
    for path in ("/api/{a}/{b}", "/api/x{a}", "/api/{a}x/tokens", "/api/{a:path}"):
        with pytest.raises(AssertionError):
            HotRoutes([Route(path, _form, methods=["GET"])], {})


async def test_without_an_app_a_declined_request_is_an_error() -> None:
    hot = HotRoutes([Route("/api/grants/{grant_id}/tokens", _tokens, methods=["POST"])], {})

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        route = hot.find(scope)
        assert route is not None
        await hot.answer(route, scope, receive, send)

    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    with pytest.raises(Declined):
        await client.post("/api/grants/g1/tokens", content=b"other")


async def test_head_is_left_to_the_router(client: httpx.AsyncClient) -> None:
    """A GET route of Starlette takes HEAD as well; the app's FastAPI route of the same path
    does not, so HEAD goes to the router."""
    assert (await client.head("/api/items/x")).headers["content-length"] == "6"  # "router"


async def _encodes(request: Request) -> Response:
    """Encodes its parameter as a database driver binds text: to UTF-8, or to ASCII."""
    text = {"surrogate": "\ud800", "accent": "\u00e9"}[request.path_params["text"]]
    codec = "utf-8" if text == "\ud800" else "ascii"
    return PlainTextResponse(text.encode(codec))


async def test_text_utf_8_cannot_hold_is_the_apps_400_and_other_encoding_bugs_a_500() -> None:
    """The app's handlers, which the hot routes use too: an unpaired surrogate that reached an
    encoding past the checks at the boundary (`unicode_text`) is the client's 400; any other
    encoding error is the server's own."""
    app = FastAPI()
    install_error_handlers(app)
    hot = HotRoutes([Route("/encode/{text}", _encodes, methods=["GET"])], app.exception_handlers)
    async with _client(hot, _fallback) as client:
        refused = await client.get("/encode/surrogate")
        assert (refused.status_code, refused.json()) == (
            400,
            {
                "error": "invalid_request",
                "error_description": (
                    "The request body holds text that is not valid Unicode (an unpaired surrogate)."
                ),
            },
        )
        with pytest.raises(UnicodeEncodeError):
            await client.get("/encode/accent")
