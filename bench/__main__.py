"""``python -m bench``: run a load scenario against a real server and print the numbers.

python -m bench list
python -m bench run exchange [--workers N] [--database sqlite|postgres]
                             [--duration S] [--connections C] [--count N] [--rounds R]
python -m bench run exchange --quick     # 2 s phases, 2 rounds: does it all work?
python -m bench run verify [--iterations N]
python -m bench run webhooks [--events N] [--database sqlite|postgres]
python -m bench soak api-read [--requests 200000] [--chunks 10]
python -m bench scale refresh [--database postgres]
python -m bench round-trips            # statements per exchange and rotation on PostgreSQL
python -m bench instructions exchange [--requests N]   # callgrind counts, load-independent
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from bench.instructions import count_instructions
from bench.references import ensure_tools
from bench.report import (
    print_instructions,
    print_outcome,
    print_scale,
    print_soak,
    print_verify,
    print_webhooks,
)
from bench.round_trips import count_round_trips, print_round_trips
from bench.scenarios import SCENARIOS, run_scenario
from bench.soak import run_soak
from bench.verify import run_verify
from bench.webhooks import run_webhooks

_NAMES = [*SCENARIOS, "verify", "webhooks"]


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the scenarios")
    run = commands.add_parser("run", help="one scenario: baseline, full speed, 50 %%, baseline")
    run.add_argument("scenario", choices=_NAMES)
    _common(run)
    run.add_argument("--duration", type=float, default=8.0, help="seconds per phase (max)")
    run.add_argument("--count", type=int, default=12000, help="codes/refresh tokens per phase")
    run.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    run.add_argument(
        "--quick", action="store_true", help="a short check: 2 s phases, 2 rounds, 3000 codes"
    )
    run.add_argument("--no-paced", action="store_true", help="skip the 50 %% phase")
    run.add_argument("--iterations", type=int, default=20000, help="verify: loop length")
    run.add_argument("--events", type=int, default=500, help="webhooks: events delivered")
    run.add_argument("--json", action="store_true", help="also print the results as JSON")
    soak = commands.add_parser("soak", help="RSS across many requests of a cycling scenario")
    soak.add_argument("scenario", choices=[n for n, s in SCENARIOS.items() if s.mode == "cycle"])
    _common(soak)
    soak.add_argument("--requests", type=int, default=50000)
    soak.add_argument("--chunks", type=int, default=10)
    scale = commands.add_parser("scale", help="the same scenario with 1 and 2 workers")
    scale.add_argument("scenario", choices=list(SCENARIOS))
    scale.add_argument("--database", choices=["sqlite", "postgres"], default="postgres")
    scale.add_argument("--connections", type=int, default=32)
    scale.add_argument("--threads", type=int, default=1)
    scale.add_argument("--duration", type=float, default=8.0)
    scale.add_argument("--count", type=int, default=12000)
    scale.add_argument("--rounds", type=int, default=3)
    commands.add_parser("round-trips", help="statements per exchange and rotation on PostgreSQL")
    instructions = commands.add_parser(
        "instructions", help="instructions per request under callgrind, product and references"
    )
    instructions.add_argument("scenario", choices=list(SCENARIOS))
    instructions.add_argument("--requests", type=int, default=300, help="counted per series")
    args = parser.parse_args(argv)
    if getattr(args, "quick", False):
        args.duration, args.rounds, args.count = 2.0, 2, 3000

    if args.command == "list":
        for name, scenario in SCENARIOS.items():
            print(f"{name:<10} {scenario.title}")
        print(f"{'verify':<10} in-process access-token verification vs raw cryptography")
        print(f"{'webhooks':<10} webhook delivery throughput; the outbox on the revoke path")
        return 0
    if args.command == "round-trips":
        print_round_trips(count_round_trips())
        return 0
    if args.command == "run" and args.scenario == "verify":
        outcome = run_verify(args.iterations)
        print_verify(outcome)
        if args.json:
            print(json.dumps({**asdict(outcome), "ratio": outcome.ratio}))
        return 0
    if args.command == "run" and args.scenario == "webhooks":
        hooks = run_webhooks(args.events, args.database)
        print_webhooks(hooks)
        if args.json:
            print(json.dumps({**asdict(hooks), "outbox_ms": hooks.outbox_ms}))
        return 0
    ensure_tools()
    if args.command == "instructions":
        scenario = SCENARIOS[args.scenario]
        print_instructions(scenario, count_instructions(scenario, requests=args.requests))
        return 0
    if args.command == "run":
        result = run_scenario(
            SCENARIOS[args.scenario],
            workers=args.workers,
            database=args.database,
            duration=args.duration,
            connections=args.connections,
            threads=args.threads,
            count=args.count,
            paced=not args.no_paced,
            rounds=args.rounds,
        )
        print_outcome(result)
        if args.json:
            print(json.dumps(result.as_json()))
        return 0
    if args.command == "soak":
        print_soak(
            run_soak(
                SCENARIOS[args.scenario],
                workers=args.workers,
                database=args.database,
                connections=args.connections,
                threads=args.threads,
                requests=args.requests,
                chunks=args.chunks,
            )
        )
        return 0
    outcomes = [
        run_scenario(
            SCENARIOS[args.scenario],
            workers=workers,
            database=args.database,
            duration=args.duration,
            connections=args.connections,
            threads=args.threads,
            count=args.count,
            paced=False,
            rounds=args.rounds,
        )
        for workers in (1, 2)
    ]
    print_scale(outcomes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
