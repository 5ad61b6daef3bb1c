"""``i18n-connect demo`` serves the example partner app beside the server and stops both."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from i18n_connect import demo_partner


def test_partner_app_is_configured_for_the_demo_client(tmp_path: Path) -> None:
    app = demo_partner.load_partner_app("cli_demo", "http://127.0.0.1:8000", tmp_path / "p.db")
    assert app is not None
    config = app.state.config
    assert (config.client_id, config.issuer, config.redirect_uri) == (
        "cli_demo",
        "http://127.0.0.1:8000",
        "http://127.0.0.1:8001/connect/callback",
    )
    assert (tmp_path / "p.db").exists()


def _server(name: str) -> uvicorn.Server:
    async def hello(request: object) -> PlainTextResponse:
        return PlainTextResponse(name)

    app = Starlette(routes=[Route("/", hello)])
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    return demo_partner._Server(config)


def test_both_servers_answer_and_one_sigint_stops_both() -> None:
    main, partner = _server("main"), _server("partner")
    answers: list[str] = []

    async def drive() -> None:
        async def visit() -> None:
            while not (main.started and partner.started):  # noqa: ASYNC110 (uvicorn has no event)
                await asyncio.sleep(0.02)
            async with httpx.AsyncClient() as http:
                for server in (main, partner):
                    port = server.servers[0].sockets[0].getsockname()[1]
                    answers.append((await http.get(f"http://127.0.0.1:{port}/")).text)
            signal.raise_signal(signal.SIGINT)

        visitor = asyncio.create_task(visit())
        await asyncio.wait_for(demo_partner.serve_together(main, partner), timeout=30)
        await visitor

    asyncio.run(drive())
    assert answers == ["main", "partner"]
    assert main.should_exit and partner.should_exit
