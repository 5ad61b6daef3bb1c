"""``python -m bench instructions <scenario>``: instructions executed per request, counted by
valgrind's callgrind, for the product and the two references in one run.

A rate depends on everything else the machine runs; a count of executed
instructions does not (the same binary, inputs and environment give the same
total whatever the load). Each server runs under ``valgrind --tool=callgrind``
with counting off; after a warm-up, counting is switched on (``callgrind_control``)
for exactly ``requests`` requests sent by wrk over 4 connections, then off, and the
total of the process's threads is divided by the answers. Kernel time is not in
the count (callgrind sees user space only), so syscall-heavy work looks cheaper
than it is: the rates of ``python -m bench run`` stay the measure of speed, this
count the measure of a change on a busy machine.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.database import fresh_database
from bench.load import Phase, run_phase, write_feed
from bench.references import Pinning, peer_lines, running_references
from bench.scenarios import (
    BASELINE,
    NODE_PEER,
    STARLETTE_FORM,
    STARLETTE_READ,
    Scenario,
    baseline_lines,
    organizations_lines,
    prepare,
)
from bench.server import BENCH_SECRET, Server, free_port, running_server
from i18n_connect.settings import Settings

__all__ = ["Count", "count_instructions"]

_START_TIMEOUT_S = 600.0  # an interpreter's start-up under valgrind
_CONNECTIONS = 4


@dataclass(frozen=True)
class Count:
    series: str
    per_request: float
    answered: int
    errors: int


def _valgrind(out_dir: Path, tag: str) -> tuple[str, ...]:
    return (
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        "--smc-check=all-non-file",  # node compiles code at run time
        f"--callgrind-out-file={out_dir}/{tag}.%p",
    )


def _control(option: str, pids: Sequence[int]) -> None:
    for pid in pids:
        subprocess.run(["callgrind_control", option, str(pid)], capture_output=True, check=False)


def _dumped_total(out_dir: Path, tag: str) -> int:
    """The instructions of the dumps so far (``<tag>.<pid>.<n>``), which are then removed."""
    total = 0
    for dump in out_dir.glob(f"{tag}.*.*"):
        with dump.open() as lines:
            total += next((int(line.split()[1]) for line in lines if line.startswith("totals:")), 0)
        dump.unlink()
    return total


def _count(
    series: str, server: Server, feeds: tuple[Path, Path], mode: str, requests: int, tag: str
) -> Count:
    """Warm up on the first feed, then count ``requests`` of the second."""
    out_dir = feeds[0].parent
    pids = server.pids()
    run_phase(server.url, Phase("warm-up", feeds[0], mode, 600, _CONNECTIONS, limit=requests))
    _control("--instr=on", pids)
    result = run_phase(server.url, Phase(series, feeds[1], mode, 600, _CONNECTIONS, limit=requests))
    _control("--instr=off", pids)
    _control("--dump", pids)
    total = _dumped_total(out_dir, tag)
    return Count(series, total / max(1, result.answered), result.answered, result.errors)


def count_instructions(
    scenario: Scenario, *, requests: int, log: Callable[[str], None] = print
) -> list[Count]:
    """Seed a fresh SQLite database; count the product's baseline and scenario, then the
    Starlette reference (form, and read for read scenarios) and the node peer."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("valgrind is not installed: run 'sudo apt-get install -y valgrind'")
    with (
        fresh_database("sqlite") as url,
        tempfile.TemporaryDirectory(prefix="i18n-instructions-") as tmp,
    ):
        directory = Path(tmp)
        port = free_port()
        settings = Settings(
            database_url=url, issuer=f"http://127.0.0.1:{port}", secret_key=BENCH_SECRET
        )
        log(f"seeding sqlite for {scenario.name} ...")
        once = scenario.mode == "once"
        world, lines, _ = asyncio.run(prepare(settings, scenario, 2 * requests, 0))
        if once:  # every line is used once: the warm-up has lines of its own
            feeds = (
                write_feed(directory / "warm-up.feed", lines[:requests]),
                write_feed(directory / "scenario.feed", lines[requests:]),
            )
        else:
            feeds = (write_feed(directory / "scenario.feed", lines),) * 2
        base = (write_feed(directory / "baseline.feed", baseline_lines()),) * 2
        peer = (write_feed(directory / "peer.feed", peer_lines()),) * 2
        tokens = {token: world.organizations[ref.organization_id] for ref, token in world.readers}
        counts: list[Count] = []

        def counted(count: Count) -> None:
            log(f"  {count.series:<16} {count.per_request:12,.0f} instructions/request")
            counts.append(count)

        log("starting i18n-connect serve under callgrind ...")
        with running_server(
            url,
            log_dir=directory,
            port=port,
            env=scenario.env,
            pin=_valgrind(directory, "product"),
            start_timeout=_START_TIMEOUT_S,
        ) as server:
            counted(_count(BASELINE, server, base, "cycle", requests, "product"))
            counted(_count(scenario.name, server, feeds, scenario.mode, requests, "product"))
        log("starting the references under callgrind ...")
        with running_references(
            tokens,
            log_dir=directory,
            pin=Pinning(server=_valgrind(directory, "reference")),
            start_timeout=_START_TIMEOUT_S,
        ) as references:
            counted(
                _count(STARLETTE_FORM, references.starlette, base, "cycle", requests, "reference")
            )
            if scenario.counterpart == STARLETTE_READ:
                read = (write_feed(directory / "read.feed", organizations_lines(world)),) * 2
                counted(
                    _count(
                        STARLETTE_READ, references.starlette, read, "cycle", requests, "reference"
                    )
                )
            counted(_count(NODE_PEER, references.node, peer, "cycle", requests, "reference"))
    return counts
