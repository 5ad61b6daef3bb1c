"""``i18n-connect demo`` serves the example partner app beside the server and stops both."""

from __future__ import annotations

import asyncio
import logging
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import structlog
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from i18n_connect import demo_partner
from i18n_connect.demo_logs import configure_demo_logging


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


def _server(name: str, label: str = "demo") -> uvicorn.Server:
    async def hello(request: object) -> PlainTextResponse:
        return PlainTextResponse(name)

    app = Starlette(routes=[Route("/", hello)])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", log_config=None
    )
    return demo_partner._Server(config, name=label)


def _visit_both(main: uvicorn.Server, partner: uvicorn.Server, path: str) -> list[str]:
    """Serve both together, GET ``path`` from each, then send SIGINT; the answers."""
    answers: list[str] = []

    async def drive() -> None:
        async def visit() -> None:
            while not (main.started and partner.started):  # noqa: ASYNC110 (uvicorn has no event)
                await asyncio.sleep(0.02)
            async with httpx.AsyncClient() as http:
                for server in (main, partner):
                    port = server.servers[0].sockets[0].getsockname()[1]
                    answers.append((await http.get(f"http://127.0.0.1:{port}{path}")).text)
            structlog.get_logger("i18n_connect.gc").warning("gc round failed", error="boom")
            signal.raise_signal(signal.SIGINT)

        visitor = asyncio.create_task(visit())
        await asyncio.wait_for(demo_partner.serve_together(main, partner), timeout=30)
        await visitor

    asyncio.run(drive())
    return answers


def test_both_servers_answer_and_one_sigint_stops_both() -> None:
    main, partner = _server("main"), _server("partner")
    assert _visit_both(main, partner, "/") == ["main", "partner"]
    assert main.should_exit and partner.should_exit


@pytest.fixture
def demo_logging() -> Iterator[None]:
    """Put back the process-wide logging that ``configure_demo_logging`` changes."""
    root = logging.getLogger()
    saved_root = (list(root.handlers), root.level)
    names = ("uvicorn", "uvicorn.error", "uvicorn.access", "i18n_connect.http", "httpx", "httpcore")
    saved = {name: logging.getLogger(name) for name in names}
    states = {
        name: (lg.level, lg.disabled, list(lg.filters), list(lg.handlers), lg.propagate)
        for name, lg in saved.items()
    }
    structlog_config = structlog.get_config()
    yield
    root.handlers[:], root.level = saved_root
    for name, lg in saved.items():
        lg.level, lg.disabled, lg.filters[:], lg.handlers[:], lg.propagate = states[name]
    structlog.configure(**structlog_config)


def test_demo_logs_are_plain_lines_naming_their_server(
    demo_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    main, partner = _server("main", "i18n-connect"), _server("partner", "partner-app")
    # as an earlier uvicorn.Config with uvicorn's own logging config leaves the process
    uvicorn.Config(Starlette(), log_level="info")
    configure_demo_logging("info")

    _visit_both(main, partner, "/?code=secret-code&state=s")
    lines = capsys.readouterr().err.splitlines()
    access = [line for line in lines if '"GET / HTTP/1.1" 200' in line]
    assert [re.sub(r"^\d\d:\d\d:\d\d ", "", line).split()[:2] for line in access] == [
        ["[i18n-connect]", "INFO"],
        ["[partner-app]", "INFO"],
    ]
    assert any(line.endswith("WARNING gc round failed error=boom") for line in lines), lines
    assert not [line for line in lines if "secret-code" in line or line.startswith("{")]
    assert not [line for line in lines if "Uvicorn running" in line or "Started" in line]
