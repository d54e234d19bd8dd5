"""`energy_series_sensor` and the event replay against the stack's S3 (moto server), one private bucket per test."""

import uuid
from datetime import UTC, date, datetime
from urllib.parse import quote_plus

import boto3
import pytest
from dagster import SkipReason, build_sensor_context

from deploy.local.aws_bootstrap import delete_bucket
from deploy.local.sources.energy_files import energy_key, energy_parquet
from resources.energy_series.config import EnergySeriesConfig
from sensors.energy_series import OBJECTS_TAG, TRIGGER_TAG, energy_series_sensor, run_requests_for_event

DAY = date(2026, 3, 1)


@pytest.fixture
def bucket(stack_env):
    name = f"test-series-sensor-{uuid.uuid4().hex[:10]}"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=name)
    yield name
    delete_bucket(s3, name)


def tick(bucket: str, cursor: str | None):
    context = build_sensor_context(
        cursor=cursor,
        resources={"energy_series_config": EnergySeriesConfig(bucket=bucket)},
    )
    return energy_series_sensor(context), context.cursor


def put(bucket: str, key: str, body: bytes) -> None:
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=body)


def test_new_files_become_one_run_per_partition_and_repeats_nothing(bucket):
    put(bucket, energy_key("generation", DAY), energy_parquet("generation", DAY, 10))
    put(bucket, energy_key("generation", DAY, part=1), energy_parquet("generation", DAY, 10, seed=1))
    put(bucket, energy_key("consumption", DAY), energy_parquet("consumption", DAY, 10))
    put(bucket, "processed/dataset=weather/date=2026-03-01/part-00000.parquet", b"x")

    result, _ = tick(bucket, None)

    partitions = sorted(str(request.partition_key) for request in result.run_requests)
    assert partitions == ["consumption|2026-03-01", "generation|2026-03-01"]
    generation = next(r for r in result.run_requests if "generation" in str(r.partition_key))
    assert generation.tags[OBJECTS_TAG] == "2" and generation.tags[TRIGGER_TAG] == "sensor"
    assert generation.run_key.startswith("energy_series:generation:2026-03-01:")

    again, _ = tick(bucket, result.cursor)
    assert isinstance(again, SkipReason)

    # A replaced file is a new version: the partition runs again, under a new run key.
    put(bucket, energy_key("consumption", DAY), energy_parquet("consumption", DAY, 12))
    replaced, _ = tick(bucket, result.cursor)
    assert [str(r.partition_key) for r in replaced.run_requests] == ["consumption|2026-03-01"]
    first_consumption = next(r for r in result.run_requests if "consumption" in str(r.partition_key))
    assert replaced.run_requests[0].run_key != first_consumption.run_key


def test_todays_file_waits_until_its_partition_exists(bucket):
    today = datetime.now(UTC).date()
    put(bucket, energy_key("transmission", today), energy_parquet("transmission", today, 5))

    result, _ = tick(bucket, None)

    assert result.run_requests == []
    assert energy_key("transmission", today) in result.cursor  # kept as pending, offered again next tick
    again, _ = tick(bucket, result.cursor)
    assert not isinstance(again, SkipReason) and again.run_requests == []


def test_files_before_the_first_partition_are_ignored_for_good(bucket):
    old_day = date(2025, 12, 31)
    put(bucket, energy_key("generation", old_day), energy_parquet("generation", old_day, 5))

    result, _ = tick(bucket, None)

    assert result.run_requests == [] and '"pending": []' in result.cursor
    assert isinstance(tick(bucket, result.cursor)[0], SkipReason)


def test_replayed_events_get_the_sensors_run_key(bucket):
    key = "processed/dataset=generation/date=2026-03-01/part 00000.parquet"  # a space, URL-encoded by S3
    put(bucket, key, energy_parquet("generation", DAY, 10))
    (from_sensor,) = tick(bucket, None)[0].run_requests
    s3_event = {"Records": [{"s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(key)}}}]}
    step_functions = {"bucket": bucket, "key": key}

    for event in (s3_event, step_functions):
        (request,) = run_requests_for_event(event, EnergySeriesConfig(bucket=bucket))
        assert request.run_key == from_sensor.run_key
        assert request.partition_key == from_sensor.partition_key and request.tags[TRIGGER_TAG] == "event"


def test_replaying_a_key_that_is_not_processed_parquet_fails_naming_it(bucket):
    put(bucket, "processed/dataset=weather/date=2026-03-01/a.parquet", b"x")
    with pytest.raises(ValueError, match="names dataset 'weather'"):
        run_requests_for_event(
            {"bucket": bucket, "key": "processed/dataset=weather/date=2026-03-01/a.parquet"},
            EnergySeriesConfig(bucket=bucket),
        )


def test_replaying_an_object_of_another_bucket_is_refused(bucket):
    put(
        bucket, "processed/dataset=generation/date=2026-03-01/a.parquet", energy_parquet("generation", DAY, 1)
    )
    with pytest.raises(ValueError, match="is not in the series bucket 'ecom-elsewhere'"):
        run_requests_for_event(
            {"bucket": bucket, "key": "processed/dataset=generation/date=2026-03-01/a.parquet"},
            EnergySeriesConfig(bucket="ecom-elsewhere"),
        )
