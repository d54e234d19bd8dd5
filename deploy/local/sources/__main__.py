"""CLI: `python -m deploy.local.sources seed [--scale N] [--seed S] [--start D --end D]`,
`... orders --rows N [--table T --schema S]` and `... samples --out DIR`.

The database commands read the DSN from `ECOM_SOURCE_DSN` (written by `make stack-up` to .local/stack.env)
and print only host:port/dbname, never the password.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

import psycopg2

from deploy.local.sources.columns import DEFAULT_END, DEFAULT_START
from deploy.local.sources.database import SchemaFileError
from deploy.local.sources.energy_files import demo_energy_files
from deploy.local.sources.metric_files import demo_metric_files
from deploy.local.sources.seed import generate_orders_table, seed_source_database
from deploy.local.sources.vendor_files import demo_vendor_files

DSN_VARIABLE = "ECOM_SOURCE_DSN"


def _dsn() -> str:
    dsn = os.environ.get(DSN_VARIABLE)
    if not dsn:
        raise SystemExit(
            f"{DSN_VARIABLE} is not set; run `set -a; . .local/stack.env; set +a` after `make stack-up`"
        )
    return dsn


def _where(dsn: str) -> str:
    params = psycopg2.extensions.parse_dsn(dsn)
    return f"{params.get('host', 'localhost')}:{params.get('port', 5432)}/{params.get('dbname', '')}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m deploy.local.sources", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    seed = commands.add_parser("seed", help="create the schema and (re)load every source table")
    seed.add_argument("--scale", type=int, default=1, help="rows scale linearly (1 = 10,000 orders)")
    orders = commands.add_parser(
        "orders", help="(re)load only an orders table, e.g. for the bronze benchmark"
    )
    orders.add_argument("--rows", type=int, required=True)
    orders.add_argument("--table", default="orders")
    orders.add_argument("--schema", default="public")
    for command in (seed, orders):
        command.add_argument("--seed", type=int, default=0, help="RNG seed (same seed, same rows)")
        command.add_argument(
            "--start", type=date.fromisoformat, default=DEFAULT_START, help="first updated_at day"
        )
        command.add_argument(
            "--end", type=date.fromisoformat, default=DEFAULT_END, help="last updated_at day"
        )
    samples = commands.add_parser(
        "samples", help="write the demo vendor CSVs, energy Parquet and metric JSON"
    )
    samples.add_argument(
        "--out", type=Path, required=True, help="directory; files go to <out>/<bucket-relative key>"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        _run(args)
    except (ValueError, SchemaFileError, psycopg2.Error) as exc:
        # psycopg2 and DDL messages name the server, table or file, never the password
        print(f"error: {type(exc).__name__}: {str(exc).strip()}", file=sys.stderr)
        return 2
    return 0


def _run(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    if args.command == "seed":
        dsn = _dsn()
        counts = seed_source_database(dsn, args.scale, seed=args.seed, start=args.start, end=args.end)
        for table, rows in counts.items():
            print(f"{table:<20} {rows:>12,}")
        print(f"seeded {_where(dsn)} at scale {args.scale} in {time.perf_counter() - started:.1f}s")
    elif args.command == "orders":
        dsn = _dsn()
        rows = generate_orders_table(
            dsn, args.rows, args.table, schema=args.schema, seed=args.seed, start=args.start, end=args.end
        )
        print(
            f"loaded {rows:,} orders into {args.schema}.{args.table} on {_where(dsn)} "
            f"in {time.perf_counter() - started:.1f}s"
        )
    else:
        files = {**demo_vendor_files(), **demo_energy_files(), **demo_metric_files()}
        for key, data in files.items():
            path = args.out / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            print(f"{len(data):>9,} B  {path}")


if __name__ == "__main__":
    sys.exit(main())
