"""`make bench`: every pipeline benchmark, then ONE table (pipeline, workload, plain reference s, pipeline s, ratio,
rows/s, peak RSS MB, goal, met), also written to `.local/bench/<timestamp>.json`.

    python -m bench                    # the issue's sizes, 3 rounds each (needs the stack: make seed)
    python -m bench --small            # small sizes: checks the benchmarks work, figures mean nothing
    python -m bench --only bronze product_uploads --rounds 5

Each benchmark runs as its own process with `--record FILE` and appends one record per round
(bench/report.py); a round always times its own plain reference. Benchmarks that loop over rounds inside one
set-up get their round count as an argument, the others are started once per round. Their own output goes to
`.local/bench/<timestamp>/<pipeline>.log`. `make bench-<pipeline>` still runs one benchmark with its full
output. The Dagster-side benchmarks without a plain reference (`bench-dynamic-partitions`, `bench-sensors`)
are not in the table.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.report import read_records, render_table, summarize, table_json

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Bench:
    module: str
    args: tuple[str, ...]
    small_args: tuple[str, ...]
    rounds_option: str | None  # loops over rounds itself with this option; None: one process per round


BENCHES: dict[str, Bench] = {
    "bronze": Bench("bench.bronze", ("--rows", "1000000"), ("--rows", "20000"), None),
    "product_uploads": Bench("bench.product_uploads", ("--rows", "100000"), ("--rows", "2000"), "--repeat"),
    "energy_series": Bench(
        "bench.energy_series",
        ("--rows", "1000000"),
        ("--rows", "20000", "--serializer-rows", "0", "--rss-rows", "0"),
        "--repeat",
    ),
    "metric_imports": Bench(
        "bench.metric_imports",
        ("--files", "200", "--records", "5000"),
        ("--files", "5", "--records", "200"),
        "--repeat",
    ),
    "lambda_executor": Bench(
        "bench.lambda_executor", ("--skip-spawn",), ("--steps", "3", "--skip-spawn"), None
    ),
}


def run_bench(name: str, bench: Bench, rounds: int, small: bool, record: Path, log: Path) -> bool:
    """Run one benchmark for `rounds` rounds, appending its records; False when a process failed."""
    command = [sys.executable, "-m", bench.module, *(bench.small_args if small else bench.args)]
    command += ["--record", str(record)]
    invocations = (
        [[*command, bench.rounds_option, str(rounds)]] if bench.rounds_option else [command] * rounds
    )
    with log.open("a") as output:
        for n, argv in enumerate(invocations, start=1):
            started = time.monotonic()
            print(f"{name}: {' '.join(argv[1:])}", file=sys.stderr, flush=True)
            code = subprocess.run(argv, cwd=REPO, stdout=output, stderr=subprocess.STDOUT).returncode
            took = time.monotonic() - started
            print(f"{name}: {n}/{len(invocations)} exit {code} in {took:.0f}s (log {log})", file=sys.stderr)
            if code != 0:
                return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds per benchmark (at least 3 for the table)"
    )
    parser.add_argument("--small", action="store_true", help="small sizes, to check the benchmarks run")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHES), help="run only these benchmarks")
    parser.add_argument("--out-dir", type=Path, default=REPO / ".local" / "bench")
    args = parser.parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    logs = args.out_dir / stamp
    logs.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in args.only or BENCHES:
        record = logs / f"{name}.jsonl"
        if not run_bench(name, BENCHES[name], args.rounds, args.small, record, logs / f"{name}.log"):
            failed.append(name)
    rounds = [r for name in args.only or BENCHES for r in read_records(logs / f"{name}.jsonl")]
    rows = summarize(rounds)
    print(render_table(rows))
    if failed:
        print(f"failed (see their logs in {logs}): {', '.join(failed)}")
    meta = {
        "timestamp": stamp,
        "small": args.small,
        "rounds_requested": args.rounds,
        "failed": failed,
        "commit": subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip(),
    }
    result = args.out_dir / f"{stamp}.json"
    result.write_text(table_json(rows, rounds, meta))
    print(f"written: {result}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
