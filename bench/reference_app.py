"""The framework reference of the load benchmarks: a bare Starlette app on uvicorn, outside
the product, doing the work of the product's two cheapest routes with nothing else.

``POST /bench/form`` is the product's baseline (``web/bench_routes.py``) without FastAPI,
middleware or logging. ``GET /api/oauth-client/organizations`` checks the bearer token
(RFC 6750 §2.1) against a dictionary and answers the JSON the product answers for that
token's organization: the floor of a partner-API read. Given a database seeded by
``bench/rotation_floor.py``, ``POST /bench/rotate`` is the floor of a durable refresh rotation.

python -m bench.reference_app PORT TOKENS_JSON [ROTATION_DB]

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

from bench.rotation_floor import rotation_route

__all__ = ["build_app", "main"]

_NO_STORE = {"Cache-Control": "no-store"}


def build_app(
    organizations_by_token: dict[str, dict[str, str]], rotation_db: Path | None = None
) -> Starlette:
    """The reference routes (the rotation floor's with a database) and a readiness probe."""

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
    if rotation_db is not None:
        routes.append(rotation_route(rotation_db))
    return Starlette(routes=routes)


def main(argv: list[str]) -> None:
    import uvicorn

    port, tokens_path = int(argv[0]), Path(argv[1])
    rotation_db = Path(argv[2]) if len(argv) > 2 else None
    app = build_app(json.loads(tokens_path.read_text()), rotation_db)
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
