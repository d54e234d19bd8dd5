"""How close `generate_orders_table` comes to the cheapest way of getting the same rows into PostgreSQL.

`python -m deploy.local.sources.load_benchmark --rows 1000000` (reads ECOM_SOURCE_DSN). Both paths load into
throwaway tables shaped like public.orders in a throwaway schema, dropped afterwards:

- generator: `generate_orders_table` end to end (generate, encode CSV, COPY, rebuild indexes, ANALYZE);
- plain: COPY of the very same CSV bytes, encoded beforehand and held in memory (untimed), with the same
  index handling: the server-side floor any generator would pay.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import uuid

from psycopg2 import sql

from deploy.local.sources.columns import TimeWindow
from deploy.local.sources.database import (
    apply_schema,
    connect,
    copy_csv,
    drop_schema,
    encode_csv,
    secondary_indexes_deferred,
    truncate,
)
from deploy.local.sources.seed import generate_orders_table, iter_order_tables


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _plain_copy(dsn: str, schema: str, rows: int) -> float:
    buffers = [
        encode_csv(chunk["orders"]) for chunk in iter_order_tables(rows, 0, TimeWindow(), related=False)
    ]
    columns = next(iter_order_tables(1, related=False))["orders"].column_names
    qualified = f"{schema}.orders_plain"
    target = sql.Identifier(schema, "orders_plain")
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE TABLE {} (LIKE public.orders INCLUDING ALL)").format(target))
    started = time.perf_counter()
    with connect(dsn) as conn, conn.cursor() as cur:
        truncate(cur, [qualified])
        with secondary_indexes_deferred(cur, qualified):
            for buffer in buffers:
                copy_csv(cur, target, columns, buffer, freeze=True)
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("ANALYZE {}").format(target))
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.local.sources.load_benchmark", description=__doc__
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    dsn = os.environ.get("ECOM_SOURCE_DSN")
    if not dsn:
        raise SystemExit("ECOM_SOURCE_DSN is not set (source .local/stack.env)")
    schema = f"src_bench_{uuid.uuid4().hex[:10]}"
    apply_schema(dsn)
    try:
        started = time.perf_counter()
        loaded = generate_orders_table(dsn, args.rows, "orders_generated", schema=schema)
        generator_s = time.perf_counter() - started
        generator_rss = _peak_rss_mib()
        plain_s = _plain_copy(dsn, schema, args.rows)
    finally:
        drop_schema(dsn, schema)
    print(f"rows                 {loaded:,}")
    print(
        f"generator            {generator_s:7.2f} s  {loaded / generator_s:12,.0f} rows/s  peak RSS {generator_rss:,.0f} MiB"
    )
    print(f"plain COPY of bytes  {plain_s:7.2f} s  {loaded / plain_s:12,.0f} rows/s  (CSV held in memory)")
    print(
        f"ratio generator/plain {generator_s / plain_s:.2f}x   peak RSS incl. plain buffers {_peak_rss_mib():,.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
