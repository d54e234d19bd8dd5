"""Bronze ingestion benchmark (`make bench-bronze`): an `orders` table of --rows rows into bronze Parquet on S3.

Compared, in the same run and against the same PostgreSQL and S3 endpoint, with the fastest plain path for the
same I/O: `COPY (SELECT ...) TO STDOUT (FORMAT csv)` into Arrow (whole result in memory, multithreaded parse)
plus one `pyarrow.parquet.write_table` to S3. Each path runs in its own child process so its peak RSS is its
own. The bronze path is the real asset (Dagster in-process run: metadata columns, hashing, event-date
folders, staging and promotion, manifest, checkpoint, and the four checks reading the Parquet back).

    python bench/bronze.py --rows 1000000       # the issue's size
    python bench/bronze.py --rows 20000         # smoke run
    python bench/bronze.py --rows 200000 --scaling 10   # peak RSS at 1x and 10x rows (bronze path only)

`--scaling K` measures the bronze path at --rows and K x --rows with small part buffers (8/16/16 MB), so the
writer's bounded buffers are already full at 1x and what is left to grow with the rows is what the step keeps
per row (the uniqueness check's keys, spilled to disk). Goal: peak RSS at K x within 20% of 1x.
"""

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.report import RoundResult, append_record  # noqa: E402  (after the path set-up for `python bench/bronze.py`)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _entity(schema: str, unique: str):
    from ecom_pipeline.bronze.entities import EntitySpec

    return EntitySpec(
        name=f"bench_{unique}_orders",
        source="rds",
        primary_key=("order_id",),
        event_date_column="placed_at",
        schema=schema,
        table="orders",
    )


def run_plain(schema: str, unique: str) -> dict:
    """COPY into Arrow + one Parquet write to S3: the floor for this I/O."""
    import psycopg2
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from ecom_pipeline.bronze.arrow_types import (
        arrow_schema_for,
        csv_convert_options,
        csv_parse_options,
        csv_read_options,
    )
    from resources.bronze.lake import BronzeLakeResource
    from resources.bronze.sources import source_columns

    entity = _entity(schema, unique)
    lake = BronzeLakeResource(bucket=os.environ["LAKE_BUCKET"])
    started = time.perf_counter()
    conn = psycopg2.connect(os.environ["ECOM_SOURCE_DSN"], options="-c TimeZone=UTC")
    with conn.cursor() as cursor:
        arrow_schema = arrow_schema_for(source_columns(conn, entity))
        buffer = io.BytesIO()
        cursor.copy_expert(f'COPY (SELECT * FROM "{schema}".orders) TO STDOUT WITH (FORMAT csv)', buffer)
    conn.close()
    buffer.seek(0)
    table = pacsv.read_csv(
        buffer,
        read_options=csv_read_options(arrow_schema),
        parse_options=csv_parse_options(),
        convert_options=csv_convert_options(arrow_schema),
    )
    del buffer
    key = f"bench/bronze-{unique}/plain/orders.parquet"
    pq.write_table(table, f"{lake.bucket}/{key}", filesystem=lake._arrow_fs(), compression="snappy")
    seconds = time.perf_counter() - started
    lake.store().delete([key])
    return {"rows": table.num_rows, "seconds": seconds, "peak_rss_mb": _peak_rss_mb()}


_SMALL_PARTS = {"buffer_mb": 8, "open_parts_mb": 16, "part_max_mb": 16, "row_group_rows": 32_000}


def run_bronze(schema: str, unique: str, partition: str, small_parts: bool = False) -> dict:
    """The bronze asset itself, materialized in process (first run: a full extraction of the table)."""
    from dagster import DagsterInstance, materialize

    from assets.bronze.assets import build_bronze_asset
    from resources.bronze.checkpoints import CheckpointStoreResource
    from resources.bronze.lake import BronzeLakeResource
    from resources.rds import RdsPostgresResource
    from resources.secrets import SecretsManagerResource

    entity = _entity(schema, unique)
    lake = BronzeLakeResource(
        bucket=os.environ["LAKE_BUCKET"],
        root_prefix=f"bench/bronze-{unique}/data/bronze",
        staging_prefix=f"bench/bronze-{unique}/staging",
        **(_SMALL_PARTS if small_parts else {}),
    )
    started = time.perf_counter()
    result = materialize(
        [build_bronze_asset(entity)],
        partition_key=partition,
        instance=DagsterInstance.ephemeral(),
        resources={
            "bronze_lake": lake,
            "bronze_checkpoints": CheckpointStoreResource(table_name=os.environ["CHECKPOINT_TABLE"]),
            "rds": RdsPostgresResource(
                secrets=SecretsManagerResource(), secret_name=os.environ["RDS_SECRET_NAME"]
            ),
        },
    )
    seconds = time.perf_counter() - started
    (event,) = result.get_asset_materialization_events()
    metadata = {k: v.value for k, v in event.materialization.metadata.items()}
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    store = lake.store()
    store.delete(store.list_keys(f"bench/bronze-{unique}/"))
    import boto3

    boto3.resource("dynamodb").Table(os.environ["CHECKPOINT_TABLE"]).delete_item(Key={"entity": entity.name})
    return {
        "rows": metadata["rows"],
        "seconds": seconds,
        "ingest_seconds": metadata["duration_seconds"],
        "files": metadata["files"],
        "bytes": metadata["bytes"],
        "checks_passed": sum(checks.values()),
        "checks": len(checks),
        "peak_rss_mb": _peak_rss_mb(),
    }


def _child(phase: str, args: argparse.Namespace, schema: str, unique: str) -> dict:
    command = [sys.executable, __file__, "--phase", phase, "--schema", schema, "--unique", unique]
    command += ["--partition", args.partition] + (["--small-parts"] if args.scaling else [])
    output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=REPO).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--partition", default="2026-11-20", help="bronze partition (the generator's last day)"
    )
    parser.add_argument("--phase", choices=["plain", "bronze"], help=argparse.SUPPRESS)
    parser.add_argument("--schema", help=argparse.SUPPRESS)
    parser.add_argument("--unique", help=argparse.SUPPRESS)
    parser.add_argument("--small-parts", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--scaling", type=int, help="peak RSS at --rows and K x --rows (bronze path only)")
    parser.add_argument("--keep-table", action="store_true", help="leave the generated schema in place")
    parser.add_argument("--record", help="append this round's result (bench/report.py) to this file")
    parser.add_argument(
        "--skip-plain",
        action="store_true",
        help="bronze path only (memory check at sizes the plain path cannot hold)",
    )
    args = parser.parse_args()
    if args.phase == "plain":
        print(json.dumps(run_plain(args.schema, args.unique)))
        return
    if args.phase == "bronze":
        print(json.dumps(run_bronze(args.schema, args.unique, args.partition, args.small_parts)))
        return
    if args.scaling:
        scaling(args)
        return

    import psycopg2
    from psycopg2 import sql

    from deploy.local.sources.seed import generate_orders_table

    unique = uuid.uuid4().hex[:8]
    schema = f"bench_bronze_{unique}"
    dsn = os.environ["ECOM_SOURCE_DSN"]
    started = time.perf_counter()
    loaded = generate_orders_table(dsn, args.rows, schema=schema)
    print(f"generated {loaded:,} orders in {schema} in {time.perf_counter() - started:.1f}s", flush=True)
    try:
        plain = None if args.skip_plain else _child("plain", args, schema, unique)
        bronze = _child("bronze", args, schema, unique)
    finally:
        if not args.keep_table:
            with psycopg2.connect(dsn) as conn, conn.cursor() as cursor:
                cursor.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    report(loaded, plain, bronze)
    if args.record and plain is not None:
        append_record(
            args.record,
            RoundResult(
                pipeline="bronze",
                workload=f"orders table -> Parquet on S3, {loaded:,} rows",
                rows=loaded,
                plain_s=plain["seconds"],
                pipeline_s=bronze["seconds"],
                peak_rss_mb=bronze["peak_rss_mb"],
                goal="<= 1.3x at 1,000,000 rows",
                goal_max_ratio=1.3,
                min_rows=1_000_000,  # the size; a smaller run is a smoke run
            ),
        )
    from bench.seed_baselines import SEED_WAY_SAMPLE_ROWS, bronze_seed_way, print_seed_way

    sample = min(args.rows, SEED_WAY_SAMPLE_ROWS)
    print_seed_way(loaded, bronze["seconds"], sample, bronze_seed_way, sample)


def scaling(args: argparse.Namespace) -> None:
    """Peak RSS of the bronze path at 1x and K x rows, each in a fresh schema and child process."""
    import psycopg2
    from psycopg2 import sql

    from deploy.local.sources.seed import generate_orders_table

    dsn = os.environ["ECOM_SOURCE_DSN"]
    results = []
    for rows in (args.rows, args.rows * args.scaling):
        unique = uuid.uuid4().hex[:8]
        schema = f"bench_bronze_{unique}"
        loaded = generate_orders_table(dsn, rows, schema=schema)
        try:
            bronze = _child("bronze", args, schema, unique)
        finally:
            with psycopg2.connect(dsn) as conn, conn.cursor() as cursor:
                cursor.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        if bronze["rows"] != loaded:
            raise SystemExit(f"row counts differ: loaded {loaded}, bronze {bronze['rows']}")
        results.append(bronze)
        print(
            f"{loaded:>11,} rows  {bronze['seconds']:>8.2f}s  peak RSS {bronze['peak_rss_mb']:>6.0f} MB  "
            f"checks {bronze['checks_passed']}/{bronze['checks']}",
            flush=True,
        )
    growth = results[1]["peak_rss_mb"] / results[0]["peak_rss_mb"] - 1
    print(f"peak RSS growth from 1x to {args.scaling}x rows: {growth:+.1%} (goal within 20%)")


def report(loaded: int, plain: dict | None, bronze: dict) -> None:
    if bronze["rows"] != loaded or (plain is not None and plain["rows"] != loaded):
        raise SystemExit(
            f"row counts differ: loaded {loaded}, plain {plain and plain['rows']}, bronze {bronze['rows']}"
        )
    paths = [("bronze asset (Dagster run)", bronze)]
    if plain is not None:
        paths.insert(0, ("plain: COPY -> Arrow -> 1 Parquet", plain))
    print(f"{'path':<34}{'rows':>11}{'seconds':>10}{'rows/s':>12}{'peak RSS MB':>13}")
    for label, row in paths:
        rate = row["rows"] / row["seconds"]
        print(
            f"{label:<34}{row['rows']:>11,}{row['seconds']:>10.2f}{rate:>12,.0f}{row['peak_rss_mb']:>13.0f}"
        )
    summary = (
        f"ingest step {bronze['ingest_seconds']:.2f}s; {bronze['files']} files, {bronze['bytes'] / 1e6:.1f} MB; "
        f"checks {bronze['checks_passed']}/{bronze['checks']} passed; bronze peak RSS {bronze['peak_rss_mb']:.0f} MB "
        "(goal < 700 at 5,000,000 rows)"
    )
    if plain is not None:
        ratio = bronze["seconds"] / plain["seconds"]
        summary = (
            f"bronze / plain time ratio: {ratio:.2f}x (goal <= 1.3x); ingest step alone "
            f"{bronze['ingest_seconds'] / plain['seconds']:.2f}x; " + summary
        )
    print(summary)


if __name__ == "__main__":
    main()
