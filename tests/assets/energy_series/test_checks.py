"""Check results of `energy_series`: without a server, and the read-back query against the real one."""

import uuid
from datetime import date

import numpy as np
from dagster import AssetCheckSeverity

from assets.energy_series.checks import day_check, drop_rate_check, points_check
from ecom_pipeline.energy_series.datasets import DATASETS
from ecom_pipeline.energy_series.partition_day import TimestampSummary, day_bounds_ns
from resources.energy_series.readback import SeriesReadbackResource
from resources.influxdb import InfluxDBResource
from tests.assets.energy_series.sandbox import closed_port_url

DAY = date(2026, 3, 1)


def test_day_check_counts_points_outside_the_day():
    start, end = day_bounds_ns(DAY)
    assert end - start == 86_400 * 10**9
    inside = day_check(TimestampSummary.of(DAY, np.array([start, end - 1], dtype=np.int64)))
    assert inside.passed and inside.metadata["points_outside_day"].value == 0
    outside = day_check(TimestampSummary.of(DAY, np.array([start - 1, start, end], dtype=np.int64)))
    assert not outside.passed and outside.metadata["points_outside_day"].value == 2
    assert outside.severity == AssetCheckSeverity.ERROR


def test_drop_rate_warns_above_the_threshold():
    assert drop_rate_check(100, {"null_field": 5}, 0.05).passed
    over = drop_rate_check(100, {"null_field": 5, "missing_tag": 1}, 0.05)
    assert not over.passed and over.severity == AssetCheckSeverity.WARN
    assert drop_rate_check(0, {}, 0.05).passed


def test_points_check_that_cannot_reach_the_server_fails_and_names_the_error():
    """No "not configured" warning any more: a read-back that fails is a failed check."""
    unreachable = InfluxDBResource(
        url=closed_port_url(), org="ecom", bucket="energy", token="t", timeout_ms=500
    )
    result = points_check(
        SeriesReadbackResource(visibility_timeout_seconds=0),
        unreachable,
        DATASETS["generation"],
        TimestampSummary(DAY),
        3,
        3,
    )
    assert not result.passed and result.severity == AssetCheckSeverity.ERROR
    assert "ServiceUnavailableError: InfluxDB unreachable" in result.metadata["readback_error"].value


def _real_influxdb(stack_env, bucket: str) -> InfluxDBResource:
    return InfluxDBResource(
        url=stack_env["INFLUXDB_URL"], org="ecom", bucket=bucket, token=stack_env["INFLUXDB_TOKEN"]
    )


def test_points_check_sends_this_influxql_and_counts_the_real_servers_points(stack_env):
    influxdb = _real_influxdb(stack_env, f"test_check_{uuid.uuid4().hex[:10]}")
    start, _ = day_bounds_ns(DAY)
    stamps = np.array([start, start + 1, start + 2], dtype=np.int64)
    influxdb.write_lines(
        [
            f"generation_data,region=a power_mw=1,capacity_factor=0.5,efficiency=0.9 {stamps[0]}",
            f"generation_data,region=a power_mw=2,capacity_factor=0.5,efficiency=0.9 {stamps[1]}",
            f"generation_data,region=b power_mw=3 {stamps[2]}",  # a point with one field is one point
            f"generation_data,region=b power_mw=4 {start - 1}",  # the day before: not counted
        ]
    )
    result = points_check(
        SeriesReadbackResource(), influxdb, DATASETS["generation"], TimestampSummary.of(DAY, stamps), 3, 3
    )
    assert result.metadata["query"].value == (
        'SELECT count(*) FROM "generation_data" '
        "WHERE time >= 1772323200000000000 AND time < 1772409600000000000 GROUP BY *"
    )
    assert result.passed, result.metadata
    assert result.metadata["points_on_server"].value == 3 and result.metadata["series_on_server"].value == 2
    assert result.metadata["readback_queries"].value == 1
    assert result.metadata["readback_timed_out"].value is False


def test_points_check_waits_a_bounded_time_then_reports_the_shortfall(stack_env):
    influxdb = _real_influxdb(stack_env, f"test_check_{uuid.uuid4().hex[:10]}")
    start, _ = day_bounds_ns(DAY)
    influxdb.write_lines([f"generation_data,region=a power_mw=1 {start}"])
    readback = SeriesReadbackResource(visibility_timeout_seconds=0.3, poll_interval_seconds=0.05)
    stamps = np.array([start, start + 1], dtype=np.int64)
    result = points_check(readback, influxdb, DATASETS["generation"], TimestampSummary.of(DAY, stamps), 2, 2)
    assert not result.passed
    assert result.metadata["points_on_server"].value == 1
    assert result.metadata["readback_timed_out"].value is True
    assert result.metadata["readback_queries"].value >= 2  # it asked again instead of reading once
