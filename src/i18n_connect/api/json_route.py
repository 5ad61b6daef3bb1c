"""The route class of the partner API's routers: a JSON body is checked for text UTF-8 cannot
hold (`unicode_text`) before FastAPI reads it into the route's parameters."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from i18n_connect.errors import InvalidRequest
from i18n_connect.unicode_text import UNPAIRED_SURROGATE, json_holds_unpaired_surrogate

__all__ = ["JsonBodyRoute"]


class JsonBodyRoute(APIRoute):
    """A route with a body answers 400 ``invalid_request`` (`UNPAIRED_SURROGATE`) for a JSON
    body holding an unpaired surrogate, before its dependencies (the token check included)
    run, as FastAPI answers a malformed body (and, as FastAPI, 400 for a body that cannot be
    read); a body that is no JSON is left to FastAPI."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def checked(request: Request) -> Response:
            try:
                raw = await request.body()
            except Exception as exc:  # a client gone, or a chunked body over the limit
                raise HTTPException(400, "There was an error parsing the body") from exc
            if json_holds_unpaired_surrogate(raw):  # not JSON: FastAPI's own answer
                raise InvalidRequest(UNPAIRED_SURROGATE)
            return await handler(request)

        return checked
