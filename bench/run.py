"""Run every benchmark and print one table of ratios against their targets.

Usage (from the repository root): `.venv/bin/python -m bench.run [--quick] [--json PATH]
[--only NAME ...] [--soak-seconds S]` (`python bench/run.py` works too). Responders and
servers run in their own processes; the measuring client is this process. Rates are medians over
interleaved rounds; ratios are medians of per-round ratios.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

if __package__ in (None, ""):  # run as `python bench/run.py`: import it as bench.run
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from bench.run import main as _main

    sys.exit(_main())

from .common import Row, responder


@dataclass(frozen=True)
class Settings:
    """How much work each benchmark does (full run about 3 minutes, quick one under 1)."""

    sync_block: int
    sync_blocks: int
    async_block: int
    async_blocks: int
    rounds: int
    sse_chunks: int
    startup_runs: int
    max_tokens: int
    token_rounds: int
    gateway_seconds: float
    load_seconds: float
    load_rounds: int
    soak_seconds: float
    soak_warmup: float
    soak_sample_every: float


FULL = Settings(100, 4, 320, 2, 5, 20_000, 15, 64, 11, 2.0, 2.0, 4, 180.0, 20.0, 5.0)
QUICK = Settings(50, 2, 128, 2, 3, 5_000, 5, 64, 3, 0.8, 0.8, 2, 15.0, 5.0, 2.5)
IN_FLIGHT = 64
GATEWAY_IN_FLIGHT = 16
NAMES = ("clients", "sse", "startup", "tokens", "gateway", "load", "soak")


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run(names: list[str], settings: Settings) -> list[Row]:
    from . import clients, gateway, replicas, soak, sse, startup, tokens

    s = settings
    rows: list[Row] = []
    if "clients" in names or "sse" in names:
        with responder() as url:  # one responder process for the client benchmarks
            if "clients" in names:
                rows += [
                    clients.sync_sequential(url, s.sync_block, s.sync_blocks, s.rounds, say),
                    clients.async_in_flight(
                        url, s.async_block, s.async_blocks, s.rounds, IN_FLIGHT, say
                    ),
                ]
            if "sse" in names:
                rows.append(sse.sse_decoding(url, s.sse_chunks, s.rounds, say))
    steps: dict[str, Callable[[], list[Row]]] = {
        "startup": lambda: startup.startup_times(s.startup_runs, say),
        "tokens": lambda: [tokens.tokens_per_second(s.max_tokens, s.token_rounds, say)],
        "gateway": lambda: gateway.gateway_overhead(
            s.gateway_seconds, max(3, s.rounds - 1), GATEWAY_IN_FLIGHT, say
        ),
        "load": lambda: replicas.load(s.load_seconds, s.load_rounds, say),
        "soak": lambda: soak.soak(
            s.soak_seconds, s.soak_warmup, say, sample_every=s.soak_sample_every
        ),
    }
    for name, step in steps.items():
        if name in names:
            rows.extend(step())
    return rows


def _ratio(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if abs(value) < 0.1 else f"{value:.2f}"


def table(rows: list[Row]) -> str:
    header = ("benchmark", "measured", "ratio", "target", "result")
    lines = [(r.name, r.measured, _ratio(r.ratio), r.target, r.verdict) for r in rows]
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]

    def fmt(cells: tuple[str, ...]) -> str:
        return " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    rule = "-+-".join("-" * width for width in widths)
    return "\n".join([fmt(header), rule, *(fmt(line) for line in lines)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="less work: about 2 minutes")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--only", nargs="+", choices=NAMES, help="run only these benchmarks")
    parser.add_argument(
        "--soak-seconds",
        type=float,
        metavar="S",
        help=f"how long the soak runs after its warm-up (default {FULL.soak_seconds:.0f}, "
        f"--quick {QUICK.soak_seconds:.0f})",
    )
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    if args.soak_seconds is not None:
        if args.soak_seconds <= 0:
            parser.error("--soak-seconds must be above 0")
        settings = dataclasses.replace(settings, soak_seconds=args.soak_seconds)
    names = list(args.only or NAMES)
    load_before = os.getloadavg()
    began = time.perf_counter()
    rows = run(names, settings)
    took = time.perf_counter() - began
    load_after = os.getloadavg()
    print()
    print(table(rows))
    print(
        f"\n{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {load_before[0]:.1f} before / "
        f"{load_after[0]:.1f} after, {took:.0f} s{' (--quick)' if args.quick else ''}"
    )
    print(
        "ratio: SDK time per request (or chunk) over httpx2's (req/s lines) or openai's (SSE);\n"
        "       the value over its limit (wall times, added ms); the share kept (tokens/s, "
        "gateway req/s);\n"
        "       load: gateway req/s over direct's in the same rounds; soak RSS: growth over its "
        "bound"
    )
    if "load" in names:
        from .replicas import matrix

        print(f"\n{matrix(rows)}\n")
    if "load" in names or "soak" in names:
        print(
            f"load, soak: the load client, the responder and the gateways share the same "
            f"{os.cpu_count()} CPUs; 2 gateway replicas add no CPU here, only a 2nd event loop"
        )
    busy = load_before[0] > (os.cpu_count() or 1)  # "after" counts the bench's own load
    if busy:
        print(
            f"warning: the machine was busy before the run (load average {load_before[0]:.1f} "
            f"on {os.cpu_count()} CPUs); rates and ratios may be off, run again when it is idle"
        )
    if args.json:
        document = {
            "quick": args.quick,
            "seconds": took,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": {"before": load_before, "after": load_after},
            "busy": busy,
            "settings": dataclasses.asdict(settings),
            "results": [
                {
                    "name": r.name,
                    "measured": r.measured,
                    "ratio": r.ratio,
                    "target": r.target,
                    "result": r.verdict,
                    "details": r.details,
                }
                for r in rows
            ],
        }
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(document, file, indent=2)
    return 0 if all(r.passed is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
