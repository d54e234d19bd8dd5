"""Metric JSON files through `imported_metrics`, against a plain COPY of the same rows into the same table.

`python -m bench.metric_imports --files 200 --records 5000` (make bench-metric-imports; needs the local stack's environment).

Phases, each into an empty `metrics` table of the same shape (LIKE public.metrics INCLUDING ALL, so the same
indexes) in a throwaway schema, files in a throwaway bucket:

- plain COPY: every row of every file, already formatted in memory, in one COPY and one commit: the floor
  for writing these rows to this table (every ratio below is taken against it);
- plain per file: what a minimal script does for the same I/O: S3 GET, json.loads, COPY, commit, per file;
- import core: the asset's building blocks without Dagster, one file after another: GET, validate, COPY with
  the ledger row and the check figures in one transaction;
- asset: `metric_imports_job` run in process (ephemeral instance) over partition ranges of
  METRIC_IMPORT_FILES_PER_RUN files, as `metric_imports_sensor` batches new files and a UI backfill runs them;
- asset, one run per file (`--per-file-runs`): the cost of launching a run for every file.

Prints wall time, records/s and the ratio to the plain COPY for each phase, and the process's peak RSS. With
`--repeat N` the phases run N rounds in turn and the summary gives the median of each round's ratio (this
machine's timings swing by a third from one minute to the next, for the plain COPY as much as the asset).
"""

import argparse
import io
import json
import logging
import os
import resource
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import boto3
import psycopg2
from dagster import DagsterInstance, Definitions
from psycopg2 import sql

from assets.metric_imports import metric_imports_job
from assets.metric_imports.assets import imported_metrics
from assets.partitions import (
    METRIC_IMPORT_BYTES_PER_RUN,
    METRIC_IMPORT_FILES_PER_RUN,
    metric_import_file_partitions,
    partition_range_tags,
)
from bench.report import RoundResult, append_record
from deploy.local.aws_bootstrap import delete_bucket
from deploy.local.postgres_server import PostgresServer
from deploy.local.sources.database import create_metric_import_sandbox, drop_schema
from deploy.local.stack_config import StackConfig
from ecom_pipeline.metric_imports.copy_format import COPY_COLUMNS, copy_text
from ecom_pipeline.metric_imports.selection import FileVersion, batches_of_new_files
from ecom_pipeline.metric_imports.validation import parse_metric_file
from ecom_pipeline.s3_objects import S3ObjectVersion, normalize_etag
from resources import build_resources
from resources.metric_imports.config import MetricImportsConfig
from resources.metric_imports.ledger import ImportTables, import_file_rows

PLAIN_COPY = "plain COPY (one statement)"
NAMES = (
    "cpu_utilization",
    "memory_used_bytes",
    "disk_io_ops",
    "request_latency_ms",
    "error_rate",
    "queue_depth",
)


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _file_records(file_index: int, records: int) -> list[dict]:
    """Distinct (name, timestamp) per file, as a valid import needs; values vary per record."""
    start = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(days=file_index)
    return [
        {
            "name": NAMES[i % len(NAMES)],
            "value": round((i * 7919 + file_index) % 100_000 / 7.0, 4),
            "timestamp": (start + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        for i in range(records)
    ]


def _setup(dsn: str, schema: str, bucket: str, files: int, records: int) -> dict[str, bytes]:
    create_metric_import_sandbox(dsn, schema)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    payloads = {
        f"imports/bench/{i:04d}.json": json.dumps(_file_records(i, records)).encode() for i in range(files)
    }
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda kv: s3.put_object(Bucket=bucket, Key=kv[0], Body=kv[1]), payloads.items()))
    return payloads


def _teardown(dsn: str, schema: str, bucket: str) -> None:
    drop_schema(dsn, schema)
    s3 = boto3.client("s3")
    delete_bucket(s3, bucket)


def _reset(dsn: str, schema: str) -> None:
    """Empty tables, and the same server state before every phase: a checkpoint writes out the previous
    phase's dirty buffers now, instead of whichever phase happens to cross max_wal_size (each phase writes
    about 0.5 GB of WAL), and the kernel's dirty pages are flushed. Without this the last phase of a round
    paid for the checkpoints of the phases before it."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            sql.SQL("TRUNCATE {}.metrics, {}.metric_import_files").format(
                sql.Identifier(schema), sql.Identifier(schema)
            )
        )
    conn.close()
    admin = PostgresServer(StackConfig.from_env(os.environ.get("ECOM_STACK_DIR"))).admin_connect()
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("CHECKPOINT")
    admin.close()
    os.sync()


def _count(dsn: str, schema: str) -> int:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT count(*) FROM {}.metrics").format(sql.Identifier(schema)))
        (count,) = cur.fetchone()
    conn.close()
    return count


def _copy_statement(schema: str) -> sql.Composed:
    return sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(schema, "metrics"), sql.SQL(", ").join(sql.Identifier(c) for c in COPY_COLUMNS)
    )


def plain_copy(dsn: str, schema: str, payloads: dict[str, bytes]) -> Callable[[], None]:
    """All rows pre-formatted (untimed), then one COPY and one commit (timed)."""
    text = "".join(copy_text(parse_metric_file(key, body, len(body))) for key, body in payloads.items())

    def run() -> None:
        conn = psycopg2.connect(dsn)
        with conn, conn.cursor() as cur:
            cur.copy_expert(_copy_statement(schema), io.StringIO(text), size=1 << 20)
        conn.close()

    return run


def plain_per_file(dsn: str, schema: str, bucket: str, keys: list[str]) -> Callable[[], None]:
    """GET, json.loads, COPY, commit per file: no validation, no ledger."""
    s3 = boto3.client("s3")
    s3.head_bucket(Bucket=bucket)  # client set-up (endpoint, credentials) outside the timing

    def run() -> None:
        conn = psycopg2.connect(dsn)
        statement = _copy_statement(schema)
        for key in keys:
            records = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            lines = "".join(f"{r['name']}\t{r['value']}\t{r['timestamp']}\t{key}\n" for r in records)
            with conn, conn.cursor() as cur:
                cur.copy_expert(statement, io.StringIO(lines), size=1 << 20)
        conn.close()

    return run


def import_core(dsn: str, config: MetricImportsConfig, keys: list[str]) -> Callable[[], None]:
    """The asset's steps without Dagster: GET, validate, COPY + ledger + check figures in one transaction."""
    s3 = boto3.client("s3")
    s3.head_bucket(Bucket=config.bucket)
    tables = ImportTables(config.db_schema)

    def run() -> None:
        conn = psycopg2.connect(dsn)  # reused across files, as RdsPostgresResource.transaction() does
        for key in keys:
            response = s3.get_object(Bucket=config.bucket, Key=key)
            file = FileVersion(
                config.bucket, key, normalize_etag(response["ETag"]), response["ContentLength"]
            )
            parsed = parse_metric_file(key, response["Body"].read(), config.max_file_bytes)
            import_file_rows(conn, tables, file, copy_text(parsed), len(parsed), "bench")
            conn.commit()
        conn.close()

    return run


def through_asset(config: MetricImportsConfig, keys: list[str], per_file: bool) -> Callable[[], None]:
    """`metric_imports_job` built once (as in the code location) and run in process: over the partition
    ranges the sensor would request for these files, or once per file."""
    logging.getLogger("dagster").setLevel(logging.WARNING)  # per-event DEBUG lines would be timed too
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(metric_import_file_partitions.name, keys)
    defs = Definitions(
        assets=[imported_metrics],
        jobs=[metric_imports_job],
        resources=build_resources() | {"metric_imports_config": config},
    )
    job = defs.resolve_job_def(metric_imports_job.name)
    s3 = boto3.client("s3")
    sizes = {key: s3.head_object(Bucket=config.bucket, Key=key)["ContentLength"] for key in keys}
    objects = [S3ObjectVersion(key, "", sizes[key], datetime.now(UTC)) for key in keys]
    if per_file:
        batches = [[obj] for obj in objects]
    else:
        batches = batches_of_new_files(objects, METRIC_IMPORT_FILES_PER_RUN, METRIC_IMPORT_BYTES_PER_RUN)
    logging_config = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}

    def run() -> None:
        for batch in batches:
            tags = partition_range_tags(batch[0].key, batch[-1].key)
            result = job.execute_in_process(
                instance=instance, tags=tags, raise_on_error=False, run_config=logging_config
            )
            if not result.success:
                raise RuntimeError(f"asset run for {batch[0].key}..{batch[-1].key} failed")

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--records", type=int, default=5000, help="records per file")
    parser.add_argument("--skip-asset", action="store_true", help="leave out the Dagster phases")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of every phase; ratios are taken within a round"
    )
    parser.add_argument(
        "--per-file-runs", action="store_true", help="also time one asset run per file (slow: ~0.1 s a run)"
    )
    parser.add_argument("--record", help="append each round's result (bench/report.py) to this file")
    args = parser.parse_args(argv)
    dsn = os.environ["ECOM_SOURCE_DSN"]
    suffix = uuid.uuid4().hex[:8]
    schema, bucket = f"bench_metric_imports_{suffix}", f"bench-metric-imports-{suffix}"
    total = args.files * args.records
    print(f"metric imports benchmark: {args.files} files x {args.records:,} records = {total:,} rows")
    payloads = _setup(dsn, schema, bucket, args.files, args.records)
    keys = sorted(payloads)
    config = MetricImportsConfig(
        bucket=bucket,
        dlq_url=os.environ["IMPORT_DLQ_URL"],
        notifications_topic_arn=os.environ["NOTIFICATIONS_TOPIC_ARN"],
        db_schema=schema,
        environment=os.environ.get("ECOM_ENV", "local"),
    )
    phases = {
        PLAIN_COPY: plain_copy(dsn, schema, payloads),
        "plain per file (GET+json+COPY)": plain_per_file(dsn, schema, bucket, keys),
        "import core (no Dagster)": import_core(dsn, config, keys),
    }
    if not args.skip_asset:
        runs = -(-len(keys) // METRIC_IMPORT_FILES_PER_RUN)
        phases[f"asset ({runs} runs, sensor batches)"] = through_asset(config, keys, per_file=False)
        if args.per_file_runs:
            phases["asset (one run per file)"] = through_asset(config, keys, per_file=True)
    rounds: list[dict[str, float]] = []
    try:
        for round_number in range(1, args.repeat + 1):
            if args.repeat > 1:
                print(f" round {round_number} of {args.repeat}")
            results: dict[str, float] = {}
            for name, run in phases.items():
                _reset(dsn, schema)
                started = time.perf_counter()
                run()
                results[name] = time.perf_counter() - started
                written = _count(dsn, schema)
                if written != total:
                    raise RuntimeError(f"{name}: {written:,} rows in the table, expected {total:,}")
                print(
                    f"  {name:<32} {results[name]:8.2f} s  {total / results[name]:>12,.0f} records/s  "
                    f"{results[name] / results[PLAIN_COPY]:5.2f}x",
                    flush=True,
                )
            rounds.append(results)
            batched = next(
                (name for name in results if name.startswith("asset (") and "sensor" in name), None
            )
            if args.record and batched:
                append_record(
                    args.record,
                    RoundResult(
                        pipeline="metric_imports",
                        workload=f"{args.files} JSON files x {args.records:,} records -> metrics",
                        rows=total,
                        plain_s=results[PLAIN_COPY],
                        pipeline_s=results[batched],
                        peak_rss_mb=_peak_rss_mib(),
                        goal="<= 1.3x at 1,000,000 records",
                        goal_max_ratio=1.3,
                        min_rows=1_000_000,  # the size; a smaller run is a smoke run
                    ),
                )
    finally:
        _teardown(dsn, schema, bucket)
    print(
        "ratio to plain COPY, median of the rounds (each round's own plain COPY is its reference; "
        "goal for the asset in sensor batches: <= 1.3):"
    )
    for name in phases:
        ratios = sorted(r[name] / r[PLAIN_COPY] for r in rounds)
        seconds = statistics.median(r[name] for r in rounds)
        spread = f"  (rounds: {', '.join(f'{x:.2f}' for x in ratios)})" if len(rounds) > 1 else ""
        print(f"  {name:<32} {statistics.median(ratios):6.2f}x  {total / seconds:>12,.0f} records/s{spread}")
    print(f"peak RSS: {_peak_rss_mib():.0f} MiB")
    from bench.seed_baselines import SEED_WAY_SAMPLE_FILES, metric_imports_seed_way, print_seed_way

    asset = next((name for name in phases if "sensor batches" in name), "import core (no Dagster)")
    seconds = statistics.median(r[asset] for r in rounds)
    files = min(args.files, SEED_WAY_SAMPLE_FILES)
    print_seed_way(total, seconds, files * args.records, metric_imports_seed_way, files, args.records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
