"""The load scenarios: what to seed, which requests to send, and how to run the phases.

A run starts the product and, beside it, the two references (``references.py``): the
bare Starlette app and node's ``oidc-provider``. Each round measures, in this order,
the Starlette form route, the product's baseline (``POST /bench/form``), for reads the
Starlette bearer read, the scenario at full speed, the node peer, and for the token and
read scenarios their Python floor (``floors.py``: a durable rotation, or a read that looks
the token up in SQLite); after the rounds the scenario runs paced at half its median rate
(for p99). Ratios compare medians over the rounds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import statistics
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.database import fresh_database
from bench.floors import seed_floors
from bench.load import Phase, Result, run_phase, write_feed
from bench.references import Pinning, References, peer_lines, pinning, running_references
from bench.seed import Line, World, form_line, mcp_line, seed_world
from bench.server import BENCH_SECRET, Server, free_port, running_server
from i18n_connect import grants
from i18n_connect.settings import Settings

__all__ = ["SCENARIOS", "Outcome", "Scenario", "organizations_lines", "prepare", "run_scenario"]

# (world, lines for the full-speed phases, lines for the paced phase) -> (full, paced)
Prepare = Callable[[World, int, int], Awaitable[tuple[list[Line], list[Line]]]]

STARLETTE_FORM = "Starlette form"
STARLETTE_READ = "Starlette read"
NODE_PEER = "node peer"
PYTHON_FLOOR = "Python floor"
BASELINE = "baseline"


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    mode: str  # "once": every line is used once; "cycle": lines are reused
    prepare: Prepare
    target: float  # the ratio to the baseline that the issue asks for (0: none)
    env: dict[str, str] = field(default_factory=dict)
    counterpart: str = STARLETTE_FORM  # the bare Starlette route doing the same kind of work
    floor: bool = False  # also measure the Python floor of the same work (`floors.py`)


async def _exchange(world: World, count: int, paced: int) -> tuple[list[Line], list[Line]]:
    lines = await world.codes(count + paced)
    return lines[:count], lines[count:]


async def _refresh(world: World, count: int, paced: int) -> tuple[list[Line], list[Line]]:
    lines = await world.refresh_tokens(count + paced)
    return lines[:count], lines[count:]


async def _mint(world: World, count: int, _: int) -> tuple[list[Line], list[Line]]:
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


async def _api_read(world: World, count: int, _: int) -> tuple[list[Line], list[Line]]:
    minted = world.readers = await world.installation_tokens(min(count, 1000))
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


async def _org_read(world: World, count: int, _: int) -> tuple[list[Line], list[Line]]:
    world.readers = await world.installation_tokens(min(count, 1000))
    lines = organizations_lines(world)
    return lines, lines


async def _mcp(world: World, count: int, _: int) -> tuple[list[Line], list[Line]]:
    world.readers = await world.installation_tokens(min(count, 1000))
    lines = [mcp_line(token, ref.project_id) for ref, token in world.readers]
    return lines, lines


def organizations_lines(world: World) -> list[Line]:
    """``GET /api/oauth-client/organizations`` with each read token (product and reference)."""
    return [
        Line("GET", "/api/oauth-client/organizations", None, (f"Authorization: Bearer {token}",))
        for _, token in world.readers
    ]


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
            floor=True,
        ),
        Scenario(
            "refresh",
            "refresh rotation (refresh_token)",
            "once",
            _refresh,
            0.35,
            _UNLIMITED_TOKEN_REQUESTS,
            floor=True,
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
            counterpart=STARLETTE_READ,
            floor=True,
        ),
        Scenario(
            "org-read",
            "partner-API read (GET /organizations)",
            "cycle",
            _org_read,
            0.0,
            _UNLIMITED_API_CLIENTS,
            counterpart=STARLETTE_READ,
            floor=True,
        ),
        Scenario(
            "mcp",
            "MCP tool call (getProject)",
            "cycle",
            _mcp,
            0.0,
            _UNLIMITED_API_CLIENTS,
            counterpart=STARLETTE_READ,
        ),
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
    results: list[Result]  # phase names are "<series> #<round>" and "<scenario> at 50%"
    peak_rss_mib: float
    processes: int
    checks: list[str]
    rounds: int = 1
    pinning: str = "not pinned"

    def series(self, name: str) -> list[Result]:
        """The phases of one series (e.g. "baseline") over the rounds."""
        return [result for result in self.results if result.name.rsplit(" #", 1)[0] == name]

    def series_names(self) -> list[str]:
        names = [result.name.rsplit(" #", 1)[0] for result in self.results]
        return list(dict.fromkeys(names))

    def median(self, name: str, metric: Callable[[Result], float]) -> float:
        values = [metric(result) for result in self.series(name)]
        return statistics.median(values) if values else 0.0

    def rate(self, name: str) -> float:
        """The median rate of one series over the rounds."""
        return self.median(name, lambda result: result.rate)

    @property
    def baseline_rate(self) -> float:
        return self.rate(BASELINE)

    @property
    def ratio(self) -> float:
        return self.rate(self.scenario.name) / self.baseline_rate

    def ratio_to(self, name: str, reference: str) -> float:
        """The median rate of series ``name`` over that of ``reference`` (0: not measured)."""
        denominator = self.rate(reference)
        return self.rate(name) / denominator if denominator else 0.0

    def counterpart(self, name: str) -> str | None:
        """The Starlette reference of a product series or of the Python floor (none for the
        other references)."""
        if name in (self.scenario.name, PYTHON_FLOOR):
            return self.scenario.counterpart
        return STARLETTE_FORM if name == BASELINE else None

    def ratio_to_counterpart(self, name: str) -> float | None:
        counterpart = self.counterpart(name)
        return self.ratio_to(name, counterpart) if counterpart else None

    def as_json(self) -> dict[str, object]:
        name = self.scenario.name
        return {
            "scenario": name,
            "workers": self.workers,
            "database": self.database,
            "connections": self.connections,
            "rounds": self.rounds,
            "pinning": self.pinning,
            "baseline_rate": round(self.baseline_rate, 1),
            "ratio": round(self.ratio, 3),
            "target_ratio": self.scenario.target,
            "ratio_to_starlette": round(self.ratio_to(name, self.scenario.counterpart), 3),
            "ratio_to_node": round(self.ratio_to(name, NODE_PEER), 3),
            "ratio_to_python_floor": round(self.ratio_to(name, PYTHON_FLOOR), 3),
            "peak_rss_mib": round(self.peak_rss_mib, 1),
            "series": [
                {
                    "name": series,
                    "rate": round(self.rate(series), 1),
                    "p50_ms": round(self.median(series, lambda result: result.p50_ms), 3),
                    "p99_ms": round(self.median(series, lambda result: result.p99_ms), 3),
                    "errors": sum(result.errors for result in self.series(series)),
                    "ratio_to_starlette": _rounded(self.ratio_to_counterpart(series)),
                    "ratio_to_node": (
                        _rounded(self.ratio_to(series, NODE_PEER))
                        if self.counterpart(series)
                        else None
                    ),
                }
                for series in self.series_names()
            ],
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


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


async def prepare(
    settings: Settings, scenario: Scenario, count: int, paced: int
) -> tuple[World, list[Line], list[Line]]:
    world = await seed_world(settings)
    try:
        full, paced_lines = await scenario.prepare(world, count, paced)
    finally:
        await world.services.db.dispose()  # the next event loop opens its own connections
    return world, full, paced_lines


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


def _same_answer_check(world: World, server: Server, references: References) -> str:
    """The Starlette read must answer what the product answers for the same token."""
    line = organizations_lines(world)[0]
    headers = dict(header.split(": ", 1) for header in line.headers)
    product = httpx.get(server.url + line.path, headers=headers)
    reference = httpx.get(references.starlette.url + line.path, headers=headers)
    same = (
        product.status_code == reference.status_code == 200 and product.json() == reference.json()
    )
    return (
        f"Starlette read: {reference.status_code} with the product's JSON for the same token "
        f"({'ok' if same else 'FAILED: ' + product.text[:200] + ' / ' + reference.text[:200]})"
    )


def _split(lines: list[Line], parts: int) -> list[list[Line]]:
    size = len(lines) // parts
    return [lines[i * size : (i + 1) * size] for i in range(parts)]


def _floors(
    scenario: Scenario,
    directory: Path,
    organizations_by_token: dict[str, dict[str, str]],
    rotations: int,
    rounds: int,
) -> tuple[Path | None, list[Path]]:
    """The Python floors' directory (`floors.py`) and the floor's feed of each round: the
    read tokens for a read scenario, ``rotations`` tokens of their own for a token scenario;
    none for a scenario without a floor."""
    if not scenario.floor:
        return None, []
    floors = directory / "floors"
    floors.mkdir()
    reading = scenario.counterpart == STARLETTE_READ
    reads, rotated = seed_floors(floors, organizations_by_token, 0 if reading else rotations)
    if reading:
        return floors, [write_feed(directory / "floor.feed", reads)] * rounds
    return floors, [
        write_feed(directory / f"floor-{i}.feed", lines)
        for i, lines in enumerate(_split(rotated, rounds))
    ]


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
    rounds: int = 3,
    log: Callable[[str], None] = _say,
) -> Outcome:
    """Seed a fresh database, start the product and the references, run the rounds and the
    paced phase, stop everything, drop the database."""
    pin: Pinning = pinning(workers)
    with fresh_database(database) as url, tempfile.TemporaryDirectory(prefix="i18n-bench-") as tmp:
        directory = Path(tmp)
        port = free_port()
        settings = Settings(
            database_url=url, issuer=f"http://127.0.0.1:{port}", secret_key=BENCH_SECRET
        )
        log(f"seeding {database} for {scenario.name} ...")
        once = scenario.mode == "once"
        world, full_lines, paced_lines = asyncio.run(
            prepare(settings, scenario, count * rounds if once else count, count // 2)
        )
        per_round = _split(full_lines, rounds) if once else [full_lines] * rounds
        feeds = [
            write_feed(directory / f"scenario-{i}.feed", lines) for i, lines in enumerate(per_round)
        ]
        paced_feed = write_feed(directory / "paced.feed", paced_lines)
        base_feed = write_feed(directory / "baseline.feed", baseline_lines())
        peer_feed = write_feed(directory / "peer.feed", peer_lines())
        read_feed = (
            write_feed(directory / "read.feed", organizations_lines(world))
            if scenario.counterpart == STARLETTE_READ
            else None
        )
        tokens = {token: world.organizations[ref.organization_id] for ref, token in world.readers}
        floors, floor_feeds = _floors(scenario, directory, tokens, count * rounds, rounds)
        results: list[Result] = []
        checks: list[str] = []

        def phase(name: str, target: Server, path: Path, mode: str, rate: float = 0.0) -> Result:
            cpu = target.cpu_seconds()
            result = run_phase(
                target.url,
                Phase(name, path, mode, duration, connections, threads=threads, rate=rate),
                pin=pin.client,
            )
            used = (target.cpu_seconds() - cpu) * 1e6 / max(1, result.answered)
            result = dataclasses.replace(result, server_cpu_us=used)
            log(
                f"  {name:<24} {result.rate:9.0f} req/s  p50 {result.p50_ms:6.2f} ms  "
                f"p99 {result.p99_ms:6.2f} ms  CPU {result.server_cpu_us:6.0f} us/req  "
                f"errors {result.errors}" + (f" ({result.statuses})" if result.statuses else "")
            )
            results.append(result)
            return result

        def warm(target: Server, path: Path, seconds: float = 2, limit: int = 0) -> None:
            run_phase(
                target.url,
                Phase("warmup", path, "cycle", seconds, connections, threads, limit=limit),
                pin=pin.client,
            )

        log(f"starting i18n-connect serve --workers {workers} and the references ({pin.note}) ...")
        with (
            running_server(
                url, workers=workers, log_dir=directory, port=port, env=scenario.env, pin=pin.server
            ) as server,
            running_references(tokens, log_dir=directory, pin=pin, floors=floors) as references,
        ):
            if read_feed is not None:
                checks.append(_same_answer_check(world, server, references))
            for target, path in (
                (server, base_feed),
                (references.starlette, base_feed),
                (references.node, peer_feed),
            ):
                warm(target, path)
            if read_feed is not None:
                warm(references.starlette, read_feed)
            if scenario.mode == "cycle":  # steady state: every token used once (last-used stamps)
                warm(server, feeds[0], seconds=60, limit=len(full_lines))
            for number, feed in enumerate(feeds, start=1):
                phase(f"{STARLETTE_FORM} #{number}", references.starlette, base_feed, "cycle")
                phase(f"{BASELINE} #{number}", server, base_feed, "cycle")
                if read_feed is not None:
                    phase(f"{STARLETTE_READ} #{number}", references.starlette, read_feed, "cycle")
                phase(f"{scenario.name} #{number}", server, feed, scenario.mode)
                phase(f"{NODE_PEER} #{number}", references.node, peer_feed, "cycle")
                if floor_feeds:
                    phase(
                        f"{PYTHON_FLOOR} #{number}",
                        references.starlette,
                        floor_feeds[number - 1],
                        scenario.mode,
                    )
            if paced:
                median = statistics.median(
                    result.rate for result in results if result.name.startswith(scenario.name)
                )
                phase(f"{scenario.name} at 50%", server, paced_feed, scenario.mode, median / 2)
            peak = server.peak_rss_mib()
            processes = len(server.worker_pids())
            if world.probe is not None:
                checks.append(asyncio.run(_revocation_check(world, server)))
        return Outcome(
            scenario,
            workers,
            database,
            connections,
            results,
            peak,
            processes,
            checks,
            rounds=rounds,
            pinning=pin.note,
        )
