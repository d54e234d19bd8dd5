"""`product_uploads_sensor` against the real moto S3, with a real DagsterInstance for the dynamic partitions."""

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from dagster import DagsterInstance, Definitions, build_sensor_context

from assets.partitions import product_upload_partitions
from assets.product_uploads import product_uploads_job
from assets.product_uploads.assets import product_upload_records, validated_products
from deploy.local.aws_bootstrap import delete_bucket
from ecom_pipeline.product_uploads.object_keys import UPLOAD_ETAG_TAG, UPLOAD_KEY_TAG
from ecom_pipeline.product_uploads.sensor_cursor import UploadSensorCursor
from ecom_pipeline.product_uploads.upload_id import is_upload_id
from resources import build_resources
from resources.product_uploads.config import ProductUploadsConfig
from resources.product_uploads.upload_listing import scan_uploads
from resources.product_uploads.upload_records_table import UploadRecordsResource
from sensors.product_uploads import product_uploads_sensor


class Bucket:
    def __init__(self, name: str, instance: DagsterInstance):
        self.name = name
        self.instance = instance
        self.cursor: str | None = None
        self.client = boto3.client("s3")
        self.definitions = Definitions(
            assets=[product_upload_records, validated_products],
            jobs=[product_uploads_job],
            sensors=[product_uploads_sensor],
            resources=build_resources()
            | {
                "product_uploads_config": self.config(),
                "product_uploads_records": UploadRecordsResource(table_name="unused"),
            },
        )

    def put(self, *keys: str, body: bytes | None = None) -> None:
        """Bodies are unique per bucket, so upload ids never repeat across tests sharing the instance."""
        for key in keys:
            self.client.put_object(Bucket=self.name, Key=key, Body=body or f"{self.name}\n".encode())

    def config(self, **overrides) -> ProductUploadsConfig:
        return ProductUploadsConfig(
            uploads_bucket=self.name, errors_queue_url="unused", notifications_topic_arn="unused", **overrides
        )

    def tick(self, **overrides):
        """One evaluation with the cursor kept between ticks and partitions added, as the daemon does."""
        context = build_sensor_context(
            instance=self.instance,
            instance_ref=self.instance.get_ref(),  # without it dynamic partition keys cannot be resolved
            cursor=self.cursor,
            resources={"product_uploads_config": self.config(**overrides)},
            definitions=self.definitions,
        )
        result = product_uploads_sensor.evaluate_tick(context)
        for request in result.dynamic_partitions_requests or []:
            self.instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        self.cursor = result.cursor
        return result

    def requested(self, **overrides) -> list[str]:
        return [r.tags[UPLOAD_KEY_TAG] for r in self.tick(**overrides).run_requests]


@pytest.fixture(scope="module")
def instance(tmp_path_factory) -> Iterator[DagsterInstance]:
    """A persistent (temp-dir) instance: sensors resolve dynamic partitions through its instance_ref."""
    with DagsterInstance.local_temp(str(tmp_path_factory.mktemp("product_uploads_sensor"))) as instance:
        yield instance


@pytest.fixture
def bucket(stack_env, instance) -> Iterator[Bucket]:
    name = f"test-upload-sensor-{uuid.uuid4().hex[:10]}"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=name)
    try:
        yield Bucket(name, instance)
    finally:
        delete_bucket(s3, name)


def test_requests_one_run_per_upload_with_awkward_keys(bucket):
    keys = [
        "uploads/VEND001/spring sale 2024.csv",
        "uploads/VEND001/a+b=c.csv",
        "uploads/VEND002/Café 商品 ✓.csv",
    ]
    bucket.put(
        *keys, "uploads/VEND001/notes.txt", "uploads/VEND001/error_reports/x.errors.csv", "other/x.csv"
    )
    result = bucket.tick()
    requests = sorted(result.run_requests, key=lambda r: r.tags[UPLOAD_KEY_TAG])
    assert [r.tags[UPLOAD_KEY_TAG] for r in requests] == sorted(keys)
    for request in requests:
        etag = request.tags[UPLOAD_ETAG_TAG]
        assert request.run_key == f"{request.tags[UPLOAD_KEY_TAG]}:{etag}"
        assert is_upload_id(request.partition_key)
    partitions = set(bucket.instance.get_dynamic_partitions(product_upload_partitions.name))
    assert {r.partition_key for r in requests} <= partitions
    assert json.loads(bucket.cursor)["vendors"]["VEND002"] == "uploads/VEND002/Café 商品 ✓.csv"


def test_next_tick_lists_only_new_keys(bucket):
    bucket.put(*(f"uploads/VEND00{v}/file_{i:03d}.csv" for v in (1, 2) for i in range(30)))
    assert len(bucket.requested(sensor_page_size=7, sensor_sweep_keys_per_tick=5)) == 60
    bucket.put("uploads/VEND002/file_999.csv")
    cursor = UploadSensorCursor.from_json(bucket.cursor)
    config = bucket.config(sensor_sweep_keys_per_tick=5)
    scan = scan_uploads(bucket.client, config, cursor, datetime.now(UTC), lambda obj: True)
    assert [o.key for o in scan.objects] == ["uploads/VEND002/file_999.csv"]
    # 1 vendor listing + 1 call per vendor + 1 sweep page; only the new key and one sweep page are listed
    assert scan.list_calls == 4
    assert scan.keys_listed == 1 + 5


def test_new_vendor_folder_below_other_cursors_is_seen_at_once(bucket):
    bucket.put("uploads/VEND005/a.csv")
    assert bucket.requested() == ["uploads/VEND005/a.csv"]
    bucket.put("uploads/VEND001/z.csv")  # sorts before VEND005: a single global cursor would miss it
    assert bucket.requested() == ["uploads/VEND001/z.csv"]
    assert bucket.requested() == []


def test_out_of_order_file_in_a_folder_is_found_by_the_sweep(bucket):
    bucket.put("uploads/VEND001/b.csv", "uploads/VEND001/c.csv", "uploads/VEND002/a.csv")
    assert len(bucket.requested(sensor_sweep_keys_per_tick=2)) == 3
    bucket.put("uploads/VEND001/a.csv")  # below VEND001's cursor
    found: list[str] = []
    for _tick in range(4):  # a sweep pass of 2 keys per tick over 4 keys
        found += bucket.requested(sensor_sweep_keys_per_tick=2)
    assert "uploads/VEND001/a.csv" in found
    # the sweep may re-request recent uploads, always with their original run key (Dagster drops them)
    assert set(found) <= {
        "uploads/VEND001/a.csv",
        "uploads/VEND001/b.csv",
        "uploads/VEND001/c.csv",
        "uploads/VEND002/a.csv",
    }


def test_overwritten_object_gets_a_new_run_key_and_partition(bucket):
    bucket.put("uploads/VEND001/a.csv", body=b"one\n")
    [first] = bucket.tick().run_requests
    bucket.put("uploads/VEND001/a.csv", body=b"two\n")
    second = None
    for _tick in range(3):
        for request in bucket.tick(sensor_sweep_keys_per_tick=1).run_requests:
            if request.run_key != first.run_key:
                second = request
    assert second is not None and second.tags[UPLOAD_KEY_TAG] == "uploads/VEND001/a.csv"
    assert second.partition_key != first.partition_key


def test_runs_per_tick_are_bounded_and_nothing_is_skipped(bucket):
    keys = [f"uploads/VEND001/f{i}.csv" for i in range(5)]
    bucket.put(*keys)
    batches = [bucket.requested(sensor_max_runs_per_tick=2) for _ in range(3)]
    assert [len(b) for b in batches] == [2, 2, 1]
    assert sorted(k for b in batches for k in b) == keys
