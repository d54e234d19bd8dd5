"""One vendor CSV through both upload assets, against the fastest plain path for the same DynamoDB I/O.

`python -m bench.product_uploads --rows 100000` (make bench-product-uploads; needs the local stack's environment).

- pipeline: `product_upload_records` + `validated_products` materialized in process (parse, stage every row in
  DynamoDB, read them back, validate, upsert products, status writes, SQS rejects, report, SNS);
- plain: boto3 `Table.batch_writer()` putting the same number of items (the very items the pipeline staged,
  read back beforehand, untimed) into a table of the same shape on the same endpoint.

Everything goes to throwaway resources (schema, bucket, table, queue, topic), removed afterwards. Prints the
wall times, rows/s, the ratio pipeline / plain (goal: <= 1.3) and the staging step alone against plain, and
the process's peak RSS.

`--memory` instead measures what reading one upload costs in memory (download + parse, the part that holds
the whole CSV), each in a fresh process, for a file of `--rows` rows and one ten times larger: once under the
default `max_upload_bytes` and once with a limit below both files (refused before a byte is read).
"""

import argparse
import os
import resource
import sys
import time
import uuid
from datetime import UTC, datetime

import boto3
from boto3.dynamodb.types import TypeDeserializer
from dagster import DagsterInstance, materialize

from assets.partitions import product_upload_partitions
from assets.product_uploads.assets import product_upload_records, validated_products
from deploy.local.aws_bootstrap import delete_bucket, upload_records_table_spec
from deploy.local.sources.database import create_upload_sandbox, drop_schema
from deploy.local.sources.vendor_files import upload_key, vendor_csv
from ecom_pipeline.product_uploads.csv_parser import record_id
from ecom_pipeline.product_uploads.object_keys import UPLOAD_ETAG_TAG, UPLOAD_KEY_TAG
from ecom_pipeline.product_uploads.upload_id import make_upload_id
from resources import build_resources
from resources.product_uploads.config import ProductUploadsConfig
from resources.product_uploads.upload_records_table import UploadRecordsResource
from resources.s3_objects import head_object_version

VENDOR = "VEND001"


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _create_table(name: str) -> None:
    boto3.client("dynamodb").create_table(**upload_records_table_spec(name))


def _plain_batch_writer(table_name: str, items: list[dict]) -> float:
    table = boto3.resource("dynamodb").Table(table_name)
    started = time.perf_counter()
    with table.batch_writer() as writer:
        for item in items:
            writer.put_item(Item=item)
    return time.perf_counter() - started


def _sensor_bench(objects: int, vendors: int = 50) -> None:
    """Tick cost of product_uploads_sensor on a bucket that already holds `objects` uploads: first tick vs steady state."""
    from concurrent.futures import ThreadPoolExecutor

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


def _memory_child(bucket: str, key: str, limit: int) -> None:
    """In a fresh process: read one upload as product_upload_records does; print peak RSS and the outcome."""
    from ecom_pipeline.product_uploads.csv_parser import UploadFileError, parse_upload_csv
    from ecom_pipeline.product_uploads.object_keys import parse_upload_key
    from resources.product_uploads.upload_objects import UploadSource, download

    client = ProductUploadsConfig(
        uploads_bucket=bucket, errors_queue_url="-", notifications_topic_arn="-"
    ).client("s3")
    version = head_object_version(client, bucket, key)
    source = UploadSource(make_upload_id(VENDOR, version), bucket, parse_upload_key(key), version)
    before = _peak_rss_mib()
    try:
        outcome = f"parsed {len(parse_upload_csv(download(client, source, limit), source.uri).rows):,} rows"
    except UploadFileError as exc:
        outcome = "refused: " + exc.reason.split(";")[0]
    print(f"{_peak_rss_mib():.1f} {before:.1f} {outcome}")


def _memory_bench(rows: int) -> int:
    import subprocess

    s3 = boto3.client("s3")
    bucket = f"bench-upload-memory-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    default_limit = ProductUploadsConfig.model_fields["max_upload_bytes"].default
    try:
        files = []
        for scale in (1, 10):
            body = vendor_csv(VENDOR, rows * scale, bad_rows=0)
            key = f"uploads/{VENDOR}/memory_{scale}x.csv"
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            files.append((scale, key, len(body)))
        flat = True
        for label, limit in (("under the limit", default_limit), ("over the limit", files[0][2] // 2)):
            print(f"{label} (max_upload_bytes {limit:,}):")
            peaks = []
            for scale, key, size in files:
                out = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "bench.product_uploads",
                        "--memory-child",
                        bucket,
                        key,
                        str(limit),
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout.split(None, 2)
                peak, baseline, outcome = float(out[0]), float(out[1]), out[2].strip()
                peaks.append(peak)
                print(
                    f"  {scale:>2}x {size / 1e6:7.1f} MB  peak RSS {peak:7.1f} MiB "
                    f"(process before reading {baseline:6.1f})  {outcome}"
                )
            growth = peaks[1] / peaks[0] - 1
            flat = flat and growth <= 0.2
            print(f"  10x / 1x peak RSS: {growth:+.0%} (goal: within +20%)")
        return 0 if flat else 1
    finally:
        delete_bucket(s3, bucket)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.product_uploads", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rows", type=int, default=100_000, help="CSV data rows (default 100,000)")
    parser.add_argument("--bad-share", type=float, default=0.01, help="share of rows with a defect")
    parser.add_argument("--writer-threads", type=int, default=4, help="concurrent BatchWriteItem calls")
    parser.add_argument(
        "--sensor-objects",
        type=int,
        default=0,
        help="also time product_uploads_sensor ticks on a bucket with N uploads",
    )
    parser.add_argument("--memory", action="store_true", help="peak RSS of reading 1x and 10x uploads")
    parser.add_argument("--memory-child", nargs=3, metavar=("BUCKET", "KEY", "LIMIT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        _memory_child(args.memory_child[0], args.memory_child[1], int(args.memory_child[2]))
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

    suffix = uuid.uuid4().hex[:8]
    dsn = os.environ["ECOM_SOURCE_DSN"]
    schema, bucket = f"bench_uploads_{suffix}", f"bench-uploads-{suffix}"
    table, plain_table = f"bench-UploadRecords-{suffix}", f"bench-UploadRecords-plain-{suffix}"
    s3, sqs, sns, dynamodb = (boto3.client(s) for s in ("s3", "sqs", "sns", "dynamodb"))
    create_upload_sandbox(dsn, schema, {VENDOR: "active"})
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
        steps = {
            e.asset_key.to_user_string(): e.materialization.metadata["seconds"].value
            for e in result.get_asset_materialization_events()
        }
        pipeline_rss = _peak_rss_mib()

        # Read back by key (BatchGetItem), not by Query: moto re-reads the whole partition for every Query page,
        # which made this untimed step take minutes at 100,000 items.
        deserializer = TypeDeserializer()
        record_ids = [record_id(n, args.rows) for n in range(1, args.rows + 1)]
        items = [
            {k: deserializer.deserialize(v) for k, v in item.items()}
            for item in records.get_items(upload_id, record_ids)
        ]
        plain_seconds = _plain_batch_writer(plain_table, items)

        ratio = pipeline_seconds / plain_seconds
        print(
            f"pipeline (both assets)   {pipeline_seconds:8.2f} s  {args.rows / pipeline_seconds:10,.0f} rows/s"
        )
        for asset, seconds in steps.items():
            print(f"  {asset:<22} {seconds:8.2f} s  {args.rows / seconds:10,.0f} rows/s")
        print(f"plain batch_writer       {plain_seconds:8.2f} s  {len(items) / plain_seconds:10,.0f} items/s")
        print(f"ratio pipeline / plain   {ratio:8.2f}x  (goal <= 1.3x)")
        staging = steps.get("product_upload_records")
        if staging:
            print(f"ratio staging / plain    {staging / plain_seconds:8.2f}x")
        print(
            f"peak RSS                 {max(pipeline_rss, _peak_rss_mib()):8.0f} MiB (pipeline: {pipeline_rss:.0f})"
        )
        from bench.seed_baselines import print_seed_way, product_uploads_seed_way

        print_seed_way(pipeline_seconds, product_uploads_seed_way, args.rows, args.bad_share)
        return 0
    finally:
        instance.dispose()
        drop_schema(dsn, schema)
        delete_bucket(s3, bucket)
        for name in (table, plain_table):
            dynamodb.delete_table(TableName=name)
        sqs.delete_queue(QueueUrl=queue_url)
        sns.delete_topic(TopicArn=topic_arn)


if __name__ == "__main__":
    sys.exit(main())
