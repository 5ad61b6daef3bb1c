"""The framework reference of the load benchmarks: a bare Starlette app on uvicorn, outside
the product, doing the work of the product's two cheapest routes with nothing else.

``POST /bench/form`` is the product's baseline (``web/bench_routes.py``) without FastAPI,
middleware or logging. ``GET /api/oauth-client/organizations`` checks the bearer token
(RFC 6750 §2.1) against a dictionary and answers the JSON the product answers for that
token's organization: the framework's share of a partner-API read. With the databases of
``bench/floors.py`` it also serves the Python floors of a read and of a refresh rotation.

python -m bench.reference_app PORT TOKENS_JSON [FLOORS_DIRECTORY]

TOKENS_JSON is a file mapping each token to its organization (``{"id", "slug", "name"}``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bench.floors import floor_routes

__all__ = ["build_app", "main"]

_NO_STORE = {"Cache-Control": "no-store"}


def build_app(
    organizations_by_token: dict[str, dict[str, str]], floors: Path | None = None
) -> Starlette:
    """The reference routes (the floors' with their databases) and a readiness probe."""

    async def form(request: Request) -> Response:
        fields = parse_qsl(
            (await request.body()).decode("ascii", "replace"), keep_blank_values=True
        )
        return JSONResponse({"fields": len(fields)}, headers=_NO_STORE)

    async def organizations(request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        organization = organizations_by_token.get(token) if scheme.lower() == "bearer" else None
        if organization is None:
            return JSONResponse(
                {"error": "invalid_token", "error_description": "unknown token"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        body = {"organizations": [organization], "next_cursor": None}
        return JSONResponse(body, headers=_NO_STORE)

    async def ready(_: Request) -> Response:
        return PlainTextResponse("ok")

    routes = [
        Route("/bench/form", form, methods=["POST"]),
        Route("/api/oauth-client/organizations", organizations, methods=["GET"]),
        Route("/readyz", ready, methods=["GET"]),
    ]
    if floors is not None:
        routes += floor_routes(floors)
    return Starlette(routes=routes)


def main(argv: list[str]) -> None:
    import uvicorn

    port, tokens_path = int(argv[0]), Path(argv[1])
    floors = Path(argv[2]) if len(argv) > 2 else None
    app = build_app(json.loads(tokens_path.read_text()), floors)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        http="httptools",
        loop="uvloop",
        server_header=False,
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main(sys.argv[1:])
