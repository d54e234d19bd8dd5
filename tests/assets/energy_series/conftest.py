"""Fixtures of the `energy_series` asset tests: a private S3 bucket and InfluxDB bucket per test."""

import uuid
from collections.abc import Iterator

import boto3
import pytest
from dagster import DagsterInstance

from deploy.local.aws_bootstrap import delete_bucket
from tests.assets.energy_series.sandbox import SeriesEnv


@pytest.fixture(scope="module", name="series_instance")
def series_instance_fixture() -> Iterator[DagsterInstance]:
    """One ephemeral instance per module: building one costs seconds, and runs do not share state through it."""
    with DagsterInstance.ephemeral() as instance:
        yield instance


@pytest.fixture(name="series_env")
def series_env_fixture(stack_env, series_instance: DagsterInstance) -> Iterator[SeriesEnv]:
    unique = uuid.uuid4().hex[:10]
    bucket = f"test-series-{unique}"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    yield SeriesEnv(s3_bucket=bucket, influx_bucket=f"test_series_{unique}", instance=series_instance)
    delete_bucket(s3, bucket)
