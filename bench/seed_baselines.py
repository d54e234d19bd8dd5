"""Each pipeline's work done the seeds' own way (/work/shared/seeds/), to say how much faster the pipeline is.

    python -m bench.seed_baselines          (small sizes; needs the local stack's environment)

The other benches compare the pipeline with the fastest plain path for the same I/O; this one answers the
other question of issue #17: how fast were the Lambdas being replaced? Each function below does one bench's
workload (same parameters as bench/<pipeline>.py) row by row, as its seed describes it, and returns the
seconds of that work only (setting up its throwaway schema, bucket or table is not timed):

- bronze (seed 001): `pandas.read_sql` of `SELECT * ... WHERE updated_at >= last sync ORDER BY updated_at`,
  then per record `md5(str(sorted(record.items())))` and the metadata columns, then one Parquet file to S3
  (the seed's awswrangler writes one file per event date: one file favours the seed);
- energy_series (seed 002): the Parquet from S3 into pandas, one influxdb-client `Point` per row (rows with a
  non-finite field dropped, DROP_INVALID_RECORDS), written in batches of MAX_BATCH_SIZE (1000) with the
  synchronous write API, which serializes each Point to line protocol;
- metric_imports (seed 000): per file an S3 GET, `json.loads`, one INSERT per record, one transaction;
- product_uploads (seed 003): the CSV parser Lambda (vendor check, upload_history row, `csv.DictReader`,
  per-row typing, `batch_writer` puts of 25-item batches) and the validator Lambda it triggers (per stream
  batch of 100 records: validate each, one INSERT into products per valid row, an SQS message per rejected
  row, an UpdateItem of the record's status), then the upload_history counts. The rules are the project's
  `validate_product`, so only the I/O pattern differs.

Each bench calls `print_seed_way` after its pipeline run, on a sample of its workload, and prints both rates.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import os
import sys
import time
import uuid
import warnings
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

import boto3
import psycopg2
from psycopg2 import sql

VENDOR = "VEND001"
INFLUX_BATCH_SIZE = 1000  # seed 002's MAX_BATCH_SIZE default
DYNAMODB_BATCH = 25  # seed 003 writes 25 items per BatchWriteItem
STREAM_BATCH = 100  # seed 003: DynamoDB Streams hands the validator up to 100 records at once


# The seeds work row by row, so each benchmark times their way on a sample of its workload (the whole workload
# would take hours at the sizes, most of all per-row DynamoDB and SQL round trips) and compares rates.
SEED_WAY_SAMPLE_ROWS = 100_000
SEED_WAY_SAMPLE_UPLOAD_ROWS = 1_000
SEED_WAY_SAMPLE_FILES = 10


def print_seed_way(
    pipeline_rows: int,
    pipeline_seconds: float,
    seed_rows: int,
    seed_way: Callable[..., float],
    *workload: object,
) -> float:
    """Run `seed_way(*workload)` (which handles `seed_rows` rows) and print both rates and the pipeline's
    speed-up in rows/s; returns the seed's seconds."""
    seconds = seed_way(*workload)
    seed_rate, pipeline_rate = seed_rows / seconds, pipeline_rows / pipeline_seconds
    print(
        f"seed's way: {seconds:.2f} s for {seed_rows:,} rows ({seed_rate:,.0f} rows/s); pipeline "
        f"{pipeline_rate:,.0f} rows/s: speed-up {pipeline_rate / seed_rate:.1f}x",
        flush=True,
    )
    return seconds


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def bronze_seed_way(rows: int) -> float:
    """Seed 001 on an `orders` table of `rows` rows: read_sql, md5 per record, metadata, one Parquet to S3."""
    import pandas as pd

    from deploy.local.sources.seed import generate_orders_table

    dsn, bucket = os.environ["ECOM_SOURCE_DSN"], os.environ["LAKE_BUCKET"]
    schema = f"bench_seed_bronze_{uuid.uuid4().hex[:8]}"
    generate_orders_table(dsn, rows, schema=schema)
    key = f"bench/seed-bronze-{schema}/orders.parquet"
    s3 = boto3.client("s3")
    query = sql.SQL("SELECT * FROM {} WHERE updated_at >= %(since)s ORDER BY updated_at ASC").format(
        sql.Identifier(schema, "orders")
    )

    def extract_hash_write() -> None:
        conn = psycopg2.connect(dsn, options="-c TimeZone=UTC")
        with warnings.catch_warnings():  # pandas prefers SQLAlchemy; the seed hands it a DB-API connection
            warnings.simplefilter("ignore", UserWarning)
            frame = pd.read_sql(query.as_string(conn), conn, params={"since": "1970-01-01 00:00:00"})
        conn.close()
        hashes = [
            hashlib.md5(str(sorted(record.items())).encode()).hexdigest()
            for record in frame.to_dict("records")
        ]
        frame["_ingestion_ts"] = pd.Timestamp.now(tz="UTC")
        frame["_source_system"] = "rds"
        frame["_record_hash"] = hashes
        frame["_ingestion_id"] = str(uuid.uuid4())
        buffer = io.BytesIO()
        frame.to_parquet(buffer, compression="snappy", index=False)
        s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())

    try:
        return _timed(extract_hash_write)
    finally:
        s3.delete_object(Bucket=bucket, Key=key)
        _drop_schema(dsn, schema)


def _influx_token() -> str:
    if os.environ.get("INFLUXDB_TOKEN"):
        return os.environ["INFLUXDB_TOKEN"]
    from resources.secrets import SecretsManagerResource

    return SecretsManagerResource().get_json(os.environ["INFLUXDB_TOKEN_SECRET_NAME"])["token"]


def energy_series_seed_way(rows: int, batch_size: int = INFLUX_BATCH_SIZE) -> float:
    """Seed 002 on one day of `rows` generation rows: Parquet -> pandas -> one Point per row -> batches."""
    import pandas as pd
    import requests
    from influxdb_client import InfluxDBClient, Point, WritePrecision
    from influxdb_client.client.write_api import SYNCHRONOUS

    from deploy.local.aws_bootstrap import delete_bucket
    from deploy.local.sources.energy_files import energy_key, energy_parquet
    from ecom_pipeline.energy_series.datasets import DATASETS

    spec, day = DATASETS["generation"], date(2026, 2, 1)
    unique = uuid.uuid4().hex[:8]
    s3_bucket, influx_bucket = f"bench-seed-series-{unique}", f"bench_seed_{unique}"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=s3_bucket)
    key = energy_key("generation", day)
    s3.put_object(Bucket=s3_bucket, Key=key, Body=energy_parquet("generation", day, rows))
    token, url = _influx_token(), os.environ["INFLUXDB_URL"]
    client = InfluxDBClient(url=url, token=token, org=os.environ["INFLUXDB_ORG"])

    def load() -> None:
        body = s3.get_object(Bucket=s3_bucket, Key=key)["Body"].read()
        frame = pd.read_parquet(io.BytesIO(body))
        points = []
        for row in frame.to_dict("records"):
            if not all(isinstance(row[f], float) and math.isfinite(row[f]) for f in spec.fields):
                continue
            point = Point(spec.measurement)
            for tag in spec.tags:
                point.tag(tag, row[tag])
            for name in spec.fields:
                point.field(name, row[name])
            points.append(point.time(row[spec.time_column], WritePrecision.NS))
        write_api = client.write_api(write_options=SYNCHRONOUS)
        for start in range(0, len(points), batch_size):
            write_api.write(bucket=influx_bucket, record=points[start : start + batch_size])

    try:
        return _timed(load)
    finally:
        client.close()
        requests.post(  # the proxy created the bucket's database on the first write
            f"{url}/query",
            params={"q": f'DROP DATABASE "{influx_bucket}"'},
            headers={"Authorization": f"Token {token}"},
            timeout=60,
        )
        delete_bucket(s3, s3_bucket)


def metric_imports_seed_way(files: int, records: int) -> float:
    """Seed 000 on `files` JSON files of `records` records: GET, json.loads, INSERT per record, commit per file."""
    from bench.metric_imports import _file_records
    from deploy.local.aws_bootstrap import delete_bucket
    from deploy.local.sources.database import create_metric_import_sandbox

    dsn = os.environ["ECOM_SOURCE_DSN"]
    unique = uuid.uuid4().hex[:8]
    schema, bucket = f"bench_seed_metrics_{unique}", f"bench-seed-metrics-{unique}"
    create_metric_import_sandbox(dsn, schema)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    keys = [f"imports/bench/{i:04d}.json" for i in range(files)]
    for i, key in enumerate(keys):
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(_file_records(i, records)).encode())
    insert = sql.SQL("INSERT INTO {} (name, value, timestamp, source_file) VALUES (%s, %s, %s, %s)").format(
        sql.Identifier(schema, "metrics")
    )

    def import_files() -> None:
        conn = psycopg2.connect(dsn)
        for key in keys:
            data = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            with conn, conn.cursor() as cursor:  # one transaction per file, rolled back on error
                for record in data:
                    cursor.execute(insert, (record["name"], record["value"], record["timestamp"], key))
        conn.close()

    try:
        return _timed(import_files)
    finally:
        _drop_schema(dsn, schema)
        delete_bucket(s3, bucket)


def _typed(row: dict[str, str]) -> tuple[dict[str, object], bool]:
    """Seed 003's parse_csv_row: Decimal and int columns converted; False when a value does not parse."""
    from ecom_pipeline.product_uploads.csv_parser import DECIMAL_COLUMNS, INTEGER_COLUMNS

    data: dict[str, object] = {}
    for name, raw in row.items():
        raw = (raw or "").strip()
        if not raw:
            continue
        try:
            data[name] = (
                Decimal(raw) if name in DECIMAL_COLUMNS else int(raw) if name in INTEGER_COLUMNS else raw
            )
        except (InvalidOperation, ValueError):
            return data, False
    return data, True


_PRODUCT_INSERT = (
    "INSERT INTO {} (vendor_id, vendor_product_id, sku, name, category, subcategory, description, brand, "
    "price, compare_at_price, stock_quantity, unit, weight_kg, dimensions_cm, image_url, source_upload_id) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


def product_uploads_seed_way(rows: int, bad_share: float = 0.01) -> float:
    """Seed 003's parser and validator Lambdas on one CSV of `rows` rows (`bad_share` of them broken)."""
    from deploy.local.aws_bootstrap import delete_bucket, upload_records_table_spec
    from deploy.local.sources.database import create_upload_sandbox
    from deploy.local.sources.vendor_files import upload_key, vendor_csv
    from ecom_pipeline.product_uploads.validation import validate_product

    dsn = os.environ["ECOM_SOURCE_DSN"]
    unique = uuid.uuid4().hex[:8]
    schema, bucket, table_name = (
        f"bench_seed_uploads_{unique}",
        f"bench-seed-uploads-{unique}",
        f"bench-seed-{unique}",
    )
    create_upload_sandbox(dsn, schema, {VENDOR: "active"})
    s3, sqs, dynamodb = boto3.client("s3"), boto3.client("sqs"), boto3.client("dynamodb")
    s3.create_bucket(Bucket=bucket)
    key = upload_key(VENDOR, datetime.now(UTC))
    s3.put_object(Bucket=bucket, Key=key, Body=vendor_csv(VENDOR, rows, bad_rows=int(rows * bad_share)))
    dynamodb.create_table(**upload_records_table_spec(table_name))
    queue_url = sqs.create_queue(QueueName=f"bench-seed-errors-{unique}")["QueueUrl"]
    table = boto3.resource("dynamodb").Table(table_name)
    upload_id = f"UPLOAD_{unique}"
    products = sql.SQL(_PRODUCT_INSERT).format(sql.Identifier(schema, "products"))
    history = sql.Identifier(schema, "upload_history")

    def parse_and_stage(conn) -> list[tuple[dict, bool]]:
        with conn, conn.cursor() as cursor:
            cursor.execute(
                sql.SQL("SELECT vendor_id, status FROM {} WHERE vendor_id = %s").format(
                    sql.Identifier(schema, "vendors")
                ),
                (VENDOR,),
            )
            if cursor.fetchone()[1] != "active":
                raise ValueError("Vendor not active")
            cursor.execute(
                sql.SQL(
                    "INSERT INTO {} (upload_id, vendor_id, file_name, s3_key, status, upload_timestamp, "
                    "processing_started_at) VALUES (%s, %s, %s, %s, 'processing', now(), now()) "
                    "ON CONFLICT (upload_id) DO NOTHING"
                ).format(history),
                (upload_id, VENDOR, key.rpartition("/")[2], key),
            )
        text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        staged = []  # (DynamoDB item, whether the row parsed)
        for number, row in enumerate(csv.DictReader(io.StringIO(text)), start=1):
            data, parsed = _typed(row)
            item = {
                "upload_id": upload_id,
                "record_id": f"REC_{number:05d}",
                "vendor_id": VENDOR,
                "row_number": number,
                "product_data": data,
                "status": "pending_validation",
                "created_at": datetime.now(UTC).isoformat(),
            }
            staged.append((item, parsed))
        for start in range(0, len(staged), DYNAMODB_BATCH):
            with table.batch_writer() as writer:
                for item, _ in staged[start : start + DYNAMODB_BATCH]:
                    writer.put_item(Item=item)
        with conn, conn.cursor() as cursor:
            cursor.execute(
                sql.SQL("UPDATE {} SET total_records = %s WHERE upload_id = %s").format(history),
                (len(staged), upload_id),
            )
        return staged

    def validate(conn, staged: list[tuple[dict, bool]]) -> None:
        valid = rejected = 0
        for start in range(0, len(staged), STREAM_BATCH):
            with conn, conn.cursor() as cursor:
                for item, parsed in staged[start : start + STREAM_BATCH]:
                    data = item["product_data"]
                    errors = validate_product(data) if parsed else ["a value did not parse"]
                    if errors:
                        rejected += 1
                        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(item, default=str))
                    else:
                        valid += 1
                        cursor.execute(products, _product_values(data, upload_id))
                    table.update_item(
                        Key={"upload_id": upload_id, "record_id": item["record_id"]},
                        UpdateExpression="SET #s = :s",
                        ExpressionAttributeNames={"#s": "status"},
                        ExpressionAttributeValues={":s": "error" if errors else "validated"},
                    )
        with conn, conn.cursor() as cursor:
            cursor.execute(
                sql.SQL(
                    "UPDATE {} SET valid_records = %s, error_records = %s, status = 'completed' "
                    "WHERE upload_id = %s"
                ).format(history),
                (valid, rejected, upload_id),
            )

    def both_lambdas() -> None:
        conn = psycopg2.connect(dsn, options="-c TimeZone=UTC")
        validate(conn, parse_and_stage(conn))
        conn.close()

    try:
        return _timed(both_lambdas)
    finally:
        _drop_schema(dsn, schema)
        delete_bucket(s3, bucket)
        dynamodb.delete_table(TableName=table_name)
        sqs.delete_queue(QueueUrl=queue_url)


def _product_values(data: dict, upload_id: str) -> tuple:
    columns = ("vendor_product_id", "sku", "product_name", "category", "subcategory", "description", "brand")
    rest = ("price", "compare_at_price", "stock_quantity", "unit", "weight_kg", "dimensions_cm", "image_url")
    return (VENDOR, *(data.get(c) for c in columns), *(data.get(c) for c in rest), upload_id)


def _drop_schema(dsn: str, schema: str) -> None:
    from deploy.local.sources.database import drop_schema

    drop_schema(dsn, schema)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bronze-rows", type=int, default=20_000)
    parser.add_argument("--series-rows", type=int, default=20_000)
    parser.add_argument("--metric-files", type=int, default=10)
    parser.add_argument("--metric-records", type=int, default=1000)
    parser.add_argument("--upload-rows", type=int, default=2000)
    args = parser.parse_args(argv)
    if not os.environ.get("AWS_ENDPOINT_URL") or not os.environ.get("ECOM_SOURCE_DSN"):
        print("source .local/stack.env first (make stack-up writes it)", file=sys.stderr)
        return 2
    workloads = [
        ("bronze", bronze_seed_way, (args.bronze_rows,), args.bronze_rows),
        ("energy_series", energy_series_seed_way, (args.series_rows,), args.series_rows),
        (
            "metric_imports",
            metric_imports_seed_way,
            (args.metric_files, args.metric_records),
            args.metric_files * args.metric_records,
        ),
        ("product_uploads", product_uploads_seed_way, (args.upload_rows,), args.upload_rows),
    ]
    print(f"{'pipeline, the seed`s way':<28}{'rows':>10}{'seconds':>10}{'rows/s':>10}")
    for name, seed_way, workload, rows in workloads:
        seconds = seed_way(*workload)
        print(f"{name:<28}{rows:>10,}{seconds:>10.2f}{rows / seconds:>10,.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
