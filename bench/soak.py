"""Memory across many requests: a cycling scenario in chunks, the server's RSS after each."""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.database import fresh_database
from bench.load import Phase, Result, run_phase, write_feed
from bench.scenarios import Scenario, prepare
from bench.server import BENCH_SECRET, free_port, running_server
from i18n_connect.settings import Settings

__all__ = ["SoakOutcome", "run_soak"]


@dataclass
class SoakOutcome:
    scenario: str
    workers: int
    database: str
    requests: int
    chunks: list[tuple[int, Result, float]]  # requests so far, the chunk, RSS after it (MiB)
    peak_rss_mib: float

    @property
    def growth(self) -> float:
        """RSS after the last chunk relative to RSS after the first (warm) chunk."""
        return self.chunks[-1][2] / self.chunks[0][2] - 1


def run_soak(
    scenario: Scenario,
    *,
    workers: int,
    database: str,
    connections: int,
    threads: int,
    requests: int,
    chunks: int,
) -> SoakOutcome:
    with fresh_database(database) as url, tempfile.TemporaryDirectory(prefix="i18n-bench-") as tmp:
        directory = Path(tmp)
        port = free_port()
        settings = Settings(
            database_url=url, issuer=f"http://127.0.0.1:{port}", secret_key=BENCH_SECRET
        )
        print(f"seeding {database} for {scenario.name} ...", flush=True)
        _world, lines, _ = asyncio.run(prepare(settings, scenario, 1000, 0))
        feed = write_feed(directory / "soak.feed", lines)
        per_chunk = max(1, requests // chunks)
        done: list[tuple[int, Result, float]] = []
        with running_server(
            url, workers=workers, log_dir=directory, port=port, env=scenario.env
        ) as server:
            total = 0
            for index in range(chunks):
                phase = Phase(
                    f"chunk {index + 1}", feed, "cycle", 600, connections, threads, limit=per_chunk
                )
                result = run_phase(server.url, phase)
                total += result.answered
                rss = server.rss_mib()
                done.append((total, result, rss))
                print(
                    f"  {total:>8} requests  {result.rate:7.0f} req/s  p99 {result.p99_ms:6.2f} ms"
                    f"  errors {result.errors}  RSS {rss:7.1f} MiB",
                    flush=True,
                )
            peak = server.peak_rss_mib()
        return SoakOutcome(scenario.name, workers, database, requests, done, peak)
