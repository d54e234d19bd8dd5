"""One vendor CSV through both upload assets, against a plain script doing the same writes.

`python -m bench.product_uploads --rows 100000 --repeat 3` (make bench-product-uploads; needs the stack).

- pipeline: `product_upload_records` + `validated_products` materialized in process (parse, stage every row in
  DynamoDB, read them back, validate, upsert products, status writes, SQS rejects, report, SNS);
- plain: the same I/O with raw boto3 and psycopg2 at the same concurrency (`--writer-threads` BatchWriteItem
  calls in flight): put the N staged items, then write the N status changes while, on a side thread, COPY
  puts the valid rows into an empty `products` table of the same shape. Its inputs are what the pipeline
  wrote (items read back by key, products rows copied out), prepared untimed.

Each round (`--repeat`) uses a fresh upload, schema and tables and times its own plain reference; the ratio
pipeline / plain is judged on the median of the rounds (goal: <= 1.2x at 100,000 rows).
Everything goes to throwaway resources (schema, bucket, table, queue, topic), removed afterwards.

`--memory` instead measures the peak RSS of both assets materialized for one upload, each time in a fresh
process, for a file of `--rows` rows and one ten times larger: once under the default `max_upload_bytes` and
once with a limit below both files (refused before a byte is read).
"""

import argparse
import io
import json
import os
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import boto3
import psycopg2
from dagster import DagsterInstance, materialize
from psycopg2 import sql

from assets.partitions import product_upload_partitions
from assets.product_uploads.assets import product_upload_records, validated_products
from bench.report import RoundResult, append_record, peak_rss_mb, render_table, summarize
from deploy.local.aws_bootstrap import delete_bucket, upload_records_table_spec
from deploy.local.sources.database import create_upload_sandbox, drop_schema
from deploy.local.sources.vendor_files import upload_key, vendor_csv
from ecom_pipeline.product_uploads.csv_parser import record_id
from ecom_pipeline.product_uploads.object_keys import UPLOAD_ETAG_TAG, UPLOAD_KEY_TAG
from ecom_pipeline.product_uploads.upload_id import make_upload_id
from ecom_pipeline.product_uploads.validation import STATUS_PENDING
from resources import build_resources
from resources.product_uploads.config import ProductUploadsConfig
from resources.product_uploads.upload_records_table import UploadRecordsResource
from resources.s3_objects import head_object_version

VENDOR = "VEND001"


def _peak_rss_mib() -> float:
    return peak_rss_mb()


def _create_table(name: str) -> None:
    boto3.client("dynamodb").create_table(**upload_records_table_spec(name))


def _batches(items: list[dict], size: int = 25) -> list[list[dict]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _put_all(client, table_name: str, items: list[dict], threads: int) -> None:
    """BatchWriteItem of 25 items, `threads` calls in flight, unprocessed items re-sent."""

    def put(batch: list[dict]) -> None:
        requests = {table_name: [{"PutRequest": {"Item": item}} for item in batch]}
        while requests:
            requests = client.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(put, _batches(items)))


def _copy_products(dsn: str, schema: str, columns: list[str], text: str) -> None:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cursor:
        statement = sql.SQL("COPY {}.products ({}) FROM STDIN").format(
            sql.Identifier(schema), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        cursor.copy_expert(statement.as_string(conn), io.StringIO(text))
    conn.close()


def _plain_writes(
    dsn: str,
    schema: str,
    table_name: str,
    staged: list[dict],
    changed: list[dict],
    products: tuple,
    threads: int,
) -> float:
    """The pipeline's writes, plainly: staged puts, then status puts alongside one COPY of the valid rows."""
    client = boto3.client("dynamodb")
    started = time.perf_counter()
    _put_all(client, table_name, staged, threads)
    with ThreadPoolExecutor(max_workers=1) as side:
        copied = side.submit(_copy_products, dsn, schema, *products)
        _put_all(client, table_name, changed, threads)
        copied.result()
    return time.perf_counter() - started


def _valid_products(dsn: str, schema: str) -> tuple[list[str], str, int]:
    """The products the pipeline wrote, as COPY text (untimed input of the plain path)."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = "
            "'products' ORDER BY ordinal_position",
            [schema],
        )
        columns = [row[0] for row in cursor.fetchall()]
        buffer = io.StringIO()
        cursor.copy_expert(
            sql.SQL("COPY {}.products TO STDOUT").format(sql.Identifier(schema)).as_string(conn), buffer
        )
        cursor.execute(sql.SQL("SELECT count(*) FROM {}.products").format(sql.Identifier(schema)))
        count = cursor.fetchone()[0]
    conn.close()
    return columns, buffer.getvalue(), count


def _sensor_bench(objects: int, vendors: int = 50) -> None:
    """Tick cost of product_uploads_sensor on a bucket that already holds `objects` uploads: first tick vs steady state."""
    from ecom_pipeline.product_uploads.sensor_cursor import UploadSensorCursor
    from resources.product_uploads.upload_listing import scan_uploads

    bucket = f"bench-upload-sensor-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    keys = [
        f"uploads/VEND{v:03d}/VEND{v:03d}_{i:07d}.csv"
        for i in range(objects // vendors)
        for v in range(vendors)
    ]
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda key: s3.put_object(Bucket=bucket, Key=key, Body=b"h\n"), keys))
        print(
            f"sensor: {len(keys):,} objects in {vendors} vendor folders created in {time.perf_counter() - started:.0f} s"
        )
        config = ProductUploadsConfig(
            uploads_bucket=bucket,
            errors_queue_url="unused",
            notifications_topic_arn="unused",
            sensor_max_runs_per_tick=len(keys) + 1,
        )
        cursor = UploadSensorCursor()
        for label in ("first tick (no cursor)", "steady tick (1 new key)", "steady tick (nothing new)"):
            if label.startswith("steady tick (1"):
                s3.put_object(Bucket=bucket, Key="uploads/VEND007/zzz_new.csv", Body=b"h\n")
            started = time.perf_counter()
            scan = scan_uploads(s3, config, cursor, datetime.now(UTC), lambda obj: True)
            print(
                f"  {label:<26} {time.perf_counter() - started:7.2f} s  {scan.list_calls:5d} list calls  "
                f"{scan.keys_listed:7,d} keys listed  {len(scan.objects):7,d} uploads found"
            )
    finally:
        delete_bucket(s3, bucket)


def _reset_peak_rss() -> float:
    """Reset the kernel's high-water mark to the current RSS (MiB), so the peak measures the run, not the
    imports before it (Linux: writing 5 to clear_refs)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    return _rss_status("VmHWM")


def _rss_status(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _memory_child(spec_json: str) -> None:
    """In a fresh process: materialize both upload assets for one upload; print peak RSS and the outcome."""
    spec = json.loads(spec_json)
    config = ProductUploadsConfig(
        uploads_bucket=spec["bucket"],
        errors_queue_url=spec["queue_url"],
        notifications_topic_arn=spec["topic_arn"],
        db_schema=spec["schema"],
        max_upload_bytes=spec["limit"],
    )
    version = head_object_version(config.client("s3"), spec["bucket"], spec["key"])
    upload_id = make_upload_id(VENDOR, version)
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(product_upload_partitions.name, [upload_id])
    before = _reset_peak_rss()
    result = materialize(
        [product_upload_records, validated_products],
        partition_key=upload_id,
        resources=build_resources()
        | {
            "product_uploads_config": config,
            "product_uploads_records": UploadRecordsResource(table_name=spec["table"]),
        },
        instance=instance,
        tags={UPLOAD_KEY_TAG: spec["key"], UPLOAD_ETAG_TAG: version.etag},
        raise_on_error=False,
    )
    metadata = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    if "validated_products" in metadata:
        validated = metadata["validated_products"]
        outcome = (
            f"staged and validated {validated['total_records'].value:,} rows "
            f"({validated['rejected_records'].value:,} rejected)"
        )
    else:
        failures = [e.step_failure_data.error.message for e in result.all_events if e.is_step_failure]
        outcome = "refused: " + (
            failures[0].split(": ", 1)[-1].split(";")[0] if failures else "no step failure?"
        )
    print(f"{_rss_status('VmHWM'):.1f} {before:.1f} {outcome}")


def _memory_bench(rows: int) -> int:
    """Peak RSS of both upload steps (one process each time) for an upload of `rows` rows and one 10x larger."""
    import subprocess

    suffix = uuid.uuid4().hex[:8]
    dsn = os.environ["ECOM_SOURCE_DSN"]
    s3, sqs, sns, dynamodb = (boto3.client(s) for s in ("s3", "sqs", "sns", "dynamodb"))
    spec = {
        "bucket": f"bench-upload-memory-{suffix}",
        "schema": f"bench_upload_memory_{suffix}",
        "table": f"bench-UploadRecords-memory-{suffix}",
    }
    s3.create_bucket(Bucket=spec["bucket"])
    create_upload_sandbox(dsn, spec["schema"], {VENDOR: "active"})
    _create_table(spec["table"])
    spec["queue_url"] = sqs.create_queue(QueueName=f"bench-upload-memory-{suffix}")["QueueUrl"]
    spec["topic_arn"] = sns.create_topic(Name=f"bench-upload-memory-{suffix}")["TopicArn"]
    default_limit = ProductUploadsConfig.model_fields["max_upload_bytes"].default
    try:
        files = []
        for scale in (1, 10):
            body = vendor_csv(VENDOR, rows * scale, bad_rows=rows * scale // 100)
            files.append((scale, body))
        flat = True
        for label, limit in (("under the limit", default_limit), ("over the limit", len(files[0][1]) // 2)):
            print(f"{label} (max_upload_bytes {limit:,}):")
            peaks = []
            for scale, body in files:
                size = len(body)
                key = f"uploads/{VENDOR}/memory_{scale}x_{limit}.csv"  # a new upload per run
                s3.put_object(Bucket=spec["bucket"], Key=key, Body=body)
                child_spec = json.dumps(spec | {"key": key, "limit": limit})
                out = (
                    subprocess.run(
                        [sys.executable, "-m", "bench.product_uploads", "--memory-child", child_spec],
                        check=True,
                        capture_output=True,
                        text=True,
                    )
                    .stdout.strip()
                    .splitlines()[-1]
                    .split(None, 2)
                )
                peak, baseline, outcome = float(out[0]), float(out[1]), out[2].strip()
                peaks.append(peak)
                print(
                    f"  {scale:>2}x {size / 1e6:7.1f} MB  peak RSS {peak:7.1f} MiB "
                    f"(process before the run {baseline:6.1f})  {outcome}"
                )
            growth = peaks[1] / peaks[0] - 1
            flat = flat and growth <= 0.2
            print(f"  10x / 1x peak RSS: {growth:+.0%} (goal: within +20%)")
        return 0 if flat else 1
    finally:
        drop_schema(dsn, spec["schema"])
        delete_bucket(s3, spec["bucket"])
        dynamodb.delete_table(TableName=spec["table"])
        sqs.delete_queue(QueueUrl=spec["queue_url"])
        sns.delete_topic(TopicArn=spec["topic_arn"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.product_uploads", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rows", type=int, default=100_000, help="CSV data rows (default 100,000)")
    parser.add_argument("--bad-share", type=float, default=0.01, help="share of rows with a defect")
    parser.add_argument("--writer-threads", type=int, default=4, help="concurrent BatchWriteItem calls")
    parser.add_argument("--repeat", type=int, default=3, help="rounds, each with its own plain reference")
    parser.add_argument("--record", help="append each round's result (bench/report.py) to this file")
    parser.add_argument(
        "--sensor-objects",
        type=int,
        default=0,
        help="also time product_uploads_sensor ticks on a bucket with N uploads",
    )
    parser.add_argument("--memory", action="store_true", help="peak RSS of reading 1x and 10x uploads")
    parser.add_argument("--memory-child", metavar="SPEC_JSON", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        _memory_child(args.memory_child)
        return 0
    for name in ("AWS_ENDPOINT_URL", "ECOM_SOURCE_DSN", "RDS_SECRET_NAME"):
        if name not in os.environ:
            print(
                f"{name} is not set: source .local/stack.env (make bench-product-uploads does)",
                file=sys.stderr,
            )
            return 2
    if args.memory:
        return _memory_bench(args.rows)
    if args.sensor_objects:
        _sensor_bench(args.sensor_objects)
    if not args.rows:
        return 0

    results = []
    for round_number in range(1, args.repeat + 1):
        result = _round(args)
        results.append(result)
        print(
            f"round {round_number}/{args.repeat}: pipeline {result.pipeline_s:.2f} s, plain {result.plain_s:.2f} s, "
            f"ratio {result.ratio:.2f}x, peak RSS {result.peak_rss_mb:.0f} MiB",
            flush=True,
        )
        if args.record:
            append_record(args.record, result)
    print(render_table(summarize(results)))
    from bench.seed_baselines import SEED_WAY_SAMPLE_UPLOAD_ROWS, print_seed_way, product_uploads_seed_way

    sample = min(args.rows, SEED_WAY_SAMPLE_UPLOAD_ROWS)
    pipeline_s = statistics.median(r.pipeline_s for r in results)
    print_seed_way(args.rows, pipeline_s, sample, product_uploads_seed_way, sample, args.bad_share)
    return 0


def _round(args: argparse.Namespace) -> RoundResult:
    """One upload through the pipeline and the same writes plainly, each into fresh resources."""
    suffix = uuid.uuid4().hex[:8]
    dsn = os.environ["ECOM_SOURCE_DSN"]
    schema, plain_schema = f"bench_uploads_{suffix}", f"bench_uploads_plain_{suffix}"
    bucket = f"bench-uploads-{suffix}"
    table, plain_table = f"bench-UploadRecords-{suffix}", f"bench-UploadRecords-plain-{suffix}"
    s3, sqs, sns, dynamodb = (boto3.client(s) for s in ("s3", "sqs", "sns", "dynamodb"))
    create_upload_sandbox(dsn, schema, {VENDOR: "active"})
    create_upload_sandbox(dsn, plain_schema, {VENDOR: "active"})
    s3.create_bucket(Bucket=bucket)
    _create_table(table)
    _create_table(plain_table)
    queue_url = sqs.create_queue(QueueName=f"bench-upload-errors-{suffix}")["QueueUrl"]
    topic_arn = sns.create_topic(Name=f"bench-upload-topic-{suffix}")["TopicArn"]
    instance = DagsterInstance.ephemeral()
    try:
        body = vendor_csv(VENDOR, args.rows, bad_rows=int(args.rows * args.bad_share))
        key = upload_key(VENDOR, datetime.now(UTC))
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        version = head_object_version(s3, bucket, key)
        upload_id = make_upload_id(VENDOR, version)
        instance.add_dynamic_partitions(product_upload_partitions.name, [upload_id])
        records = UploadRecordsResource(table_name=table, writer_threads=args.writer_threads)
        config = ProductUploadsConfig(
            uploads_bucket=bucket,
            errors_queue_url=queue_url,
            notifications_topic_arn=topic_arn,
            db_schema=schema,
        )
        print(f"{args.rows:,} rows, {len(body) / 1e6:.1f} MB CSV, {args.writer_threads} writer threads")

        started = time.perf_counter()
        result = materialize(
            [product_upload_records, validated_products],
            partition_key=upload_id,
            resources=build_resources()
            | {"product_uploads_config": config, "product_uploads_records": records},
            instance=instance,
            tags={UPLOAD_KEY_TAG: key, UPLOAD_ETAG_TAG: version.etag},
        )
        pipeline_seconds = time.perf_counter() - started
        if not result.success:
            raise SystemExit("the pipeline run failed")
        pipeline_rss = peak_rss_mb()

        # The plain path's inputs, untimed: the items as the pipeline left them (read by key, not by Query:
        # moto re-reads the whole partition for every Query page) and the same items as first staged.
        changed = records.get_items(upload_id, [record_id(n, args.rows) for n in range(1, args.rows + 1)])
        staged = [
            {k: v for k, v in item.items() if k not in ("validated_at", "validation_errors")}
            | {"status": {"S": STATUS_PENDING}}
            for item in changed
        ]
        columns, products, valid = _valid_products(dsn, schema)
        plain_seconds = _plain_writes(
            dsn, plain_schema, plain_table, staged, changed, (columns, products), args.writer_threads
        )
        print(
            f"  pipeline {pipeline_seconds:.2f} s ({args.rows / pipeline_seconds:,.0f} rows/s); plain "
            f"{plain_seconds:.2f} s: {len(staged):,} staged puts, {len(changed):,} status puts, COPY of {valid:,} rows"
        )
        return RoundResult(
            pipeline="product_uploads",
            workload=f"vendor CSV -> DynamoDB -> products, {args.rows:,} rows",
            rows=args.rows,
            plain_s=plain_seconds,
            pipeline_s=pipeline_seconds,
            peak_rss_mb=pipeline_rss,
            goal="<= 1.2x at 100,000 rows",
            goal_max_ratio=1.2,
            min_rows=100_000,
        )
    finally:
        instance.dispose()
        drop_schema(dsn, schema)
        drop_schema(dsn, plain_schema)
        delete_bucket(s3, bucket)
        for name in (table, plain_table):
            dynamodb.delete_table(TableName=name)
        sqs.delete_queue(QueueUrl=queue_url)
        sns.delete_topic(TopicArn=topic_arn)


if __name__ == "__main__":
    sys.exit(main())
