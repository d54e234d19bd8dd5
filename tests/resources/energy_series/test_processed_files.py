"""A partition's Parquet files on the stack's S3 (moto server): listing and reading, one private bucket per test."""

import uuid
from datetime import date

import boto3
import pytest

from deploy.local.aws_bootstrap import delete_bucket
from deploy.local.sources.energy_files import energy_parquet
from ecom_pipeline.energy_series.datasets import DATASETS, partition_prefix
from ecom_pipeline.energy_series.preparation import LoadSettings
from ecom_pipeline.energy_series.schema import SchemaError
from resources.energy_series.processed_files import list_partition_files, read_file

DAY = date(2026, 3, 1)
PREFIX = partition_prefix("generation", DAY)


@pytest.fixture
def bucket(stack_env):
    name = f"test-series-files-{uuid.uuid4().hex[:10]}"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=name)
    yield name
    delete_bucket(s3, name)


def test_only_parquet_under_the_prefix_is_listed_in_key_order(bucket):
    s3 = boto3.client("s3")
    body = energy_parquet("generation", DAY, 10)
    for key in (f"{PREFIX}part-1.parquet", f"{PREFIX}part-0.parquet", f"{PREFIX}_SUCCESS"):
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    s3.put_object(
        Bucket=bucket, Key=partition_prefix("generation", date(2026, 3, 2)) + "x.parquet", Body=body
    )

    listed = list_partition_files(s3, bucket, PREFIX)

    assert [obj.key for obj in listed] == [f"{PREFIX}part-0.parquet", f"{PREFIX}part-1.parquet"]
    assert all(obj.size == len(body) and obj.etag and '"' not in obj.etag for obj in listed)


def test_a_listed_file_is_staged_on_disk_and_validated(bucket, tmp_path):
    s3 = boto3.client("s3")
    s3.put_object(Bucket=bucket, Key=f"{PREFIX}part-0.parquet", Body=energy_parquet("generation", DAY, 10))
    s3.put_object(Bucket=bucket, Key=f"{PREFIX}part-1.parquet", Body=b"not parquet")
    good, bad = list_partition_files(s3, bucket, PREFIX)
    settings = LoadSettings(enable_validation=True, drop_invalid_records=True)

    prepared = read_file(s3, bucket, good, DATASETS["generation"], settings, tmp_path, 4)

    assert (prepared.key, prepared.size_bytes, prepared.input_rows) == (good.key, good.size, 10)
    assert (
        prepared.table is None
        and prepared.rows is not None
        and prepared.rows.path.stat().st_size == good.size
    )
    with pytest.raises(SchemaError, match=f"s3://{bucket}/{bad.key}: not a readable Parquet file"):
        read_file(s3, bucket, bad, DATASETS["generation"], settings, tmp_path, 4)
