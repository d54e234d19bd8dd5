"""The product_uploads test sandbox: a private schema, bucket, table, queue and topic per test on the real stack.

Used by tests/assets/product_uploads/ (the fixture is registered in its conftest.py). No tests here.
"""

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import psycopg2
import pytest
from dagster import DagsterInstance, materialize
from psycopg2 import sql

from assets.partitions import product_upload_partitions
from assets.product_uploads.assets import product_upload_records, validated_products
from deploy.local.aws_bootstrap import delete_bucket, upload_records_table_spec
from deploy.local.sources.database import create_upload_sandbox, drop_schema
from ecom_pipeline.product_uploads.csv_parser import PRODUCT_COLUMNS
from ecom_pipeline.product_uploads.object_keys import UPLOAD_ETAG_TAG, UPLOAD_KEY_TAG, parse_upload_key
from ecom_pipeline.product_uploads.upload_id import make_upload_id
from resources import build_resources
from resources.product_uploads.config import ProductUploadsConfig
from resources.product_uploads.upload_records_table import UploadRecordsResource
from resources.s3_objects import head_object_version
from tests.live_stack import drain_queue, fetch_row

HEADER = ",".join(PRODUCT_COLUMNS)
VENDORS = {"VEND001": "active", "VEND002": "active", "VEND009": "suspended"}


def product_line(n: int, vendor: str = "VEND001", **overrides: str) -> str:
    """A valid CSV data line; overrides replace single columns by name."""
    values = {
        "vendor_product_id": f"PROD{n:04d}",
        "product_name": f"Wireless Mouse {n}",
        "category": "Computer Accessories",
        "subcategory": "Mice & Keyboards",
        "description": "Ergonomic, quiet",
        "sku": f"CA-{vendor}-{n:04d}",
        "brand": "TechGear",
        "price": "19.99",
        "compare_at_price": "",
        "stock_quantity": "150",
        "unit": "piece",
        "weight_kg": "0.25",
        "dimensions_cm": "12x8x4",
        "image_url": f"https://images.example.com/{n}.jpg",
        **overrides,
    }
    return ",".join(_quote(values[c]) for c in PRODUCT_COLUMNS)


def csv_body(*lines: str, newline: str = "\n") -> bytes:
    return (newline.join([HEADER, *lines]) + newline).encode("utf-8")


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n\r') else value


@dataclass
class Upload:
    key: str
    etag: str
    upload_id: str


@dataclass
class UploadsEnv:
    """One test's private slice of the stack."""

    schema: str
    bucket: str
    table: str
    errors_queue_url: str
    notifications_queue_url: str
    topic_arn: str
    config: ProductUploadsConfig
    records: UploadRecordsResource
    instance: DagsterInstance
    dsn: str

    @property
    def resources(self) -> dict[str, Any]:
        return build_resources() | {
            "product_uploads_config": self.config,
            "product_uploads_records": self.records,
        }

    def put(self, key: str, body: bytes) -> Upload:
        s3 = boto3.client("s3")
        s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        version = head_object_version(s3, self.bucket, key)
        vendor = parse_upload_key(key).vendor_id
        return Upload(key, version.etag, make_upload_id(vendor, version))

    def run(self, upload: Upload, tags: bool = True, assets: list | None = None):
        """Materialize the upload's partition as a sensor-launched run would (tags name key and ETag)."""
        if not self.instance.has_dynamic_partition(product_upload_partitions.name, upload.upload_id):
            self.instance.add_dynamic_partitions(product_upload_partitions.name, [upload.upload_id])
        return materialize(
            assets or [product_upload_records, validated_products],
            partition_key=upload.upload_id,
            resources=self.resources,
            instance=self.instance,
            tags={UPLOAD_KEY_TAG: upload.key, UPLOAD_ETAG_TAG: upload.etag} if tags else None,
            raise_on_error=False,
        )

    def query(self, statement: str, params: list | None = None) -> list[tuple]:
        with psycopg2.connect(self.dsn) as conn, conn.cursor() as cur:
            cur.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(self.schema)))
            cur.execute(statement, params)
            rows = cur.fetchall() if cur.description else []
        conn.close()
        return rows

    def history(self, upload_id: str) -> dict | None:
        return fetch_row(self.dsn, self.schema, "upload_history", "upload_id", upload_id)

    def items(self, upload_id: str) -> list[dict]:
        return sorted(self.records.query_items(upload_id), key=lambda item: item["record_id"]["S"])

    def drain(self, queue_url: str) -> list[dict]:
        return drain_queue(queue_url)

    def error_messages(self) -> list[dict]:
        return self.drain(self.errors_queue_url)

    def notifications(self) -> list[dict]:
        return [json.loads(envelope["Message"]) for envelope in self.drain(self.notifications_queue_url)]

    def keys(self, prefix: str = "") -> list[str]:
        response = boto3.client("s3").list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for item in response.get("Contents", []))

    def read(self, key: str) -> bytes:
        return boto3.client("s3").get_object(Bucket=self.bucket, Key=key)["Body"].read()


def create_upload_records_table(name: str) -> None:
    """Same shape as the stack's UploadRecords table (docs/CONTRACTS.md)."""
    boto3.client("dynamodb").create_table(**upload_records_table_spec(name))


@pytest.fixture(name="uploads_env")
def uploads_env_fixture(stack_env) -> Iterator[UploadsEnv]:
    suffix = uuid.uuid4().hex[:10]
    dsn = os.environ["ECOM_SOURCE_DSN"]
    schema, bucket, table = f"test_uploads_{suffix}", f"test-uploads-{suffix}", f"test-UploadRecords-{suffix}"
    s3, sqs, sns, dynamodb = (boto3.client(s) for s in ("s3", "sqs", "sns", "dynamodb"))
    create_upload_sandbox(dsn, schema, VENDORS)
    s3.create_bucket(Bucket=bucket)
    create_upload_records_table(table)
    errors_url = sqs.create_queue(QueueName=f"test-upload-errors-{suffix}")["QueueUrl"]
    notes_url = sqs.create_queue(QueueName=f"test-upload-notes-{suffix}")["QueueUrl"]
    topic_arn = sns.create_topic(Name=f"test-upload-topic-{suffix}")["TopicArn"]
    notes_arn = sqs.get_queue_attributes(QueueUrl=notes_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=notes_arn)
    config = ProductUploadsConfig(
        uploads_bucket=bucket,
        errors_queue_url=errors_url,
        notifications_topic_arn=topic_arn,
        db_schema=schema,
        error_rate_warn_threshold=0.25,
    )
    instance = DagsterInstance.ephemeral()
    try:
        yield UploadsEnv(
            schema,
            bucket,
            table,
            errors_url,
            notes_url,
            topic_arn,
            config,
            UploadRecordsResource(table_name=table),
            instance,
            dsn,
        )
    finally:
        instance.dispose()
        drop_schema(dsn, schema)
        delete_bucket(s3, bucket)
        dynamodb.delete_table(TableName=table)
        for url in (errors_url, notes_url):
            sqs.delete_queue(QueueUrl=url)
        sns.delete_topic(TopicArn=topic_arn)
