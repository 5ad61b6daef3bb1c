"""The load scenarios: what to seed, which requests to send, and how to run the phases.

A run measures, against one server: the baseline (``POST /bench/form``), the
scenario at full speed, the scenario paced at half that rate (for p99), and
the baseline again; the ratio uses the mean of the two baselines.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.database import fresh_database
from bench.load import Phase, Result, run_phase, write_feed
from bench.seed import Line, World, form_line, mcp_line, seed_world
from bench.server import BENCH_SECRET, Server, free_port, running_server
from i18n_connect import grants
from i18n_connect.settings import Settings

__all__ = ["SCENARIOS", "Outcome", "Scenario", "prepare", "run_scenario"]

Prepare = Callable[[World, int], Awaitable[tuple[list[Line], list[Line]]]]


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    mode: str  # "once": every line is used once; "cycle": lines are reused
    prepare: Prepare
    target: float  # the ratio to the baseline that the issue asks for (0: none)
    env: dict[str, str] = field(default_factory=dict)


async def _exchange(world: World, count: int) -> tuple[list[Line], list[Line]]:
    lines = await world.codes(count + count // 2)
    return lines[:count], lines[count:]


async def _refresh(world: World, count: int) -> tuple[list[Line], list[Line]]:
    lines = await world.refresh_tokens(count + count // 2)
    return lines[:count], lines[count:]


async def _mint(world: World, count: int) -> tuple[list[Line], list[Line]]:
    lines = [
        Line(
            "POST",
            f"/api/oauth-client/installations/{ref.grant_id}/tokens",
            None,
            (f"Authorization: Bearer {token}",),
        )
        for ref, token in await world.access_tokens(min(count, 200))
    ]
    return lines, lines


async def _api_read(world: World, count: int) -> tuple[list[Line], list[Line]]:
    minted = await world.installation_tokens(min(count, 1000))
    lines = [
        Line(
            "GET",
            f"/api/oauth-client/v1/projects/{ref.project_id}",
            None,
            (f"Authorization: Bearer {token}",),
        )
        for ref, token in minted
    ]
    world.probe = (minted[0][0].grant_id, lines[0])
    return lines, lines


async def _mcp(world: World, count: int) -> tuple[list[Line], list[Line]]:
    lines = [
        mcp_line(token, ref.project_id)
        for ref, token in await world.installation_tokens(min(count, 1000))
    ]
    return lines, lines


# A few clients carry the whole load: their budgets stay counted, but never run out.
_UNLIMITED_TOKEN_REQUESTS = {"I18N_CONNECT_TOKEN_RATE_PER_MINUTE": "100000000"}
_UNLIMITED_API_CLIENTS = {"I18N_CONNECT_API_CLIENT_RATE_PER_MINUTE": "100000000"}

SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario(
            "exchange",
            "code exchange (authorization_code)",
            "once",
            _exchange,
            0.35,
            _UNLIMITED_TOKEN_REQUESTS,
        ),
        Scenario(
            "refresh",
            "refresh rotation (refresh_token)",
            "once",
            _refresh,
            0.35,
            _UNLIMITED_TOKEN_REQUESTS,
        ),
        Scenario(
            "mint",
            "installation-token mint",
            "cycle",
            _mint,
            0.0,
            {"I18N_CONNECT_MINT_RATE_PER_MINUTE": "100000000"},
        ),
        Scenario(
            "api-read",
            "partner-API read (GET /v1/projects/{id})",
            "cycle",
            _api_read,
            0.5,
            _UNLIMITED_API_CLIENTS,
        ),
        Scenario("mcp", "MCP tool call (getProject)", "cycle", _mcp, 0.0, _UNLIMITED_API_CLIENTS),
    )
}


def _say(message: str) -> None:
    print(message, flush=True)


def baseline_lines() -> list[Line]:
    """Form bodies shaped like a refresh request (what the token endpoint parses)."""
    return [
        form_line(
            "/bench/form",
            {
                "grant_type": "refresh_token",
                "refresh_token": "rt_" + secrets.token_urlsafe(32),
                "client_id": "cli_" + secrets.token_hex(12),
            },
        )
        for _ in range(100)
    ]


@dataclass
class Outcome:
    scenario: Scenario
    workers: int
    database: str
    connections: int
    results: list[Result]
    peak_rss_mib: float
    processes: int
    checks: list[str]

    def result(self, name: str) -> Result:
        return next(result for result in self.results if result.name == name)

    @property
    def baseline_rate(self) -> float:
        rates = [result.rate for result in self.results if result.name.startswith("baseline")]
        return sum(rates) / len(rates)

    @property
    def ratio(self) -> float:
        return self.result(self.scenario.name).rate / self.baseline_rate

    def as_json(self) -> dict[str, object]:
        return {
            "scenario": self.scenario.name,
            "workers": self.workers,
            "database": self.database,
            "connections": self.connections,
            "baseline_rate": round(self.baseline_rate, 1),
            "ratio": round(self.ratio, 3),
            "target_ratio": self.scenario.target,
            "peak_rss_mib": round(self.peak_rss_mib, 1),
            "phases": [
                {
                    "name": result.name,
                    "rate": round(result.rate, 1),
                    "p50_ms": result.p50_ms,
                    "p99_ms": result.p99_ms,
                    "errors": result.errors,
                    "answered": result.answered,
                    "server_cpu_us": round(result.server_cpu_us),
                }
                for result in self.results
            ],
            "checks": self.checks,
        }


async def prepare(
    settings: Settings, scenario: Scenario, count: int
) -> tuple[World, list[Line], list[Line]]:
    world = await seed_world(settings)
    try:
        full, paced = await scenario.prepare(world, count)
    finally:
        await world.services.db.dispose()  # the next event loop opens its own connections
    return world, full, paced


async def _revocation_check(world: World, server: Server) -> str:
    """Revoke the grant of one token through the store; its next request must answer 410."""
    assert world.probe is not None
    grant_id, line = world.probe
    headers = dict(header.split(": ", 1) for header in line.headers)
    try:
        async with httpx.AsyncClient(base_url=server.url) as client:
            before = await client.request(line.method, line.path, headers=headers)
            async with world.services.db.transaction() as conn:
                await grants.revoke_grant(
                    conn, grant_id, actor="bench", now=world.services.clock.now(), reason="bench"
                )
            after = await client.request(line.method, line.path, headers=headers)
    finally:
        await world.services.db.dispose()
    verdict = "ok" if before.status_code == 200 and after.status_code == 410 else "FAILED"
    return (
        f"revocation: {before.status_code} before, {after.status_code} on the next request "
        f"after revoking the grant ({verdict})"
    )


def run_scenario(
    scenario: Scenario,
    *,
    workers: int,
    database: str,
    duration: float,
    connections: int,
    threads: int,
    count: int,
    paced: bool,
    log: Callable[[str], None] = _say,
) -> Outcome:
    """Seed a fresh database, start the server, run the phases, stop, drop the database."""
    with fresh_database(database) as url, tempfile.TemporaryDirectory(prefix="i18n-bench-") as tmp:
        directory = Path(tmp)
        port = free_port()
        settings = Settings(
            database_url=url, issuer=f"http://127.0.0.1:{port}", secret_key=BENCH_SECRET
        )
        log(f"seeding {database} for {scenario.name} ...")
        world, full_lines, paced_lines = asyncio.run(prepare(settings, scenario, count))
        feed = write_feed(directory / "scenario.feed", full_lines)
        paced_feed = write_feed(directory / "paced.feed", paced_lines)
        base_feed = write_feed(directory / "baseline.feed", baseline_lines())
        results: list[Result] = []
        checks: list[str] = []

        def phase(name: str, path: Path, mode: str, seconds: float, rate: float = 0.0) -> Result:
            cpu = server.cpu_seconds()
            result = run_phase(
                server.url,
                Phase(name, path, mode, seconds, connections, threads=threads, rate=rate),
            )
            used = (server.cpu_seconds() - cpu) * 1e6 / max(1, result.answered)
            result = dataclasses.replace(result, server_cpu_us=used)
            log(
                f"  {name:<24} {result.rate:9.0f} req/s  p50 {result.p50_ms:6.2f} ms  "
                f"p99 {result.p99_ms:6.2f} ms  CPU {result.server_cpu_us:6.0f} us/req  "
                f"errors {result.errors}" + (f" ({result.statuses})" if result.statuses else "")
            )
            return result

        log(f"starting i18n-connect serve --workers {workers} ...")
        with running_server(
            url, workers=workers, log_dir=directory, port=port, env=scenario.env
        ) as server:
            run_phase(server.url, Phase("warmup", base_feed, "cycle", 2, connections, threads))
            if scenario.mode == "cycle":  # steady state: every token used once (last-used stamps)
                warm = Phase(
                    "warmup", feed, "cycle", 60, connections, threads, limit=len(full_lines)
                )
                run_phase(server.url, warm)
            results.append(phase("baseline (before)", base_feed, "cycle", duration))
            full = phase(scenario.name, feed, scenario.mode, duration)
            results.append(full)
            if paced:
                half = phase(
                    f"{scenario.name} at 50%", paced_feed, scenario.mode, duration, full.rate / 2
                )
                results.append(half)
            results.append(phase("baseline (after)", base_feed, "cycle", duration))
            peak = server.peak_rss_mib()
            processes = len(server.worker_pids())
            if world.probe is not None:
                checks.append(asyncio.run(_revocation_check(world, server)))
        return Outcome(scenario, workers, database, connections, results, peak, processes, checks)
