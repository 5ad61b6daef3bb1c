"""The baseline endpoint of the load benchmarks (``bench/``): mounted only with
``I18N_CONNECT_BENCH=1``.

``POST /bench/form`` parses a form body the way the token endpoint does and
answers a small JSON object, through the same middleware stack. Its rate is
the denominator of every ratio the benchmarks print: what the framework, the
server and the middleware cost with no protocol work and no database.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

__all__ = ["form_route"]


async def form(request: Request) -> JSONResponse:
    """Parse the form body; answer how many fields it had."""
    fields = parse_qsl((await request.body()).decode("ascii", "replace"), keep_blank_values=True)
    return JSONResponse({"fields": len(fields)}, headers={"Cache-Control": "no-store"})


form_route = Route("/bench/form", form, methods=["POST"])
