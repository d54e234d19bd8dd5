"""The write policy with the real InfluxDB resource: the local server's answers drive retry and fallback."""

import os
import uuid

import pytest

from ecom_pipeline.energy_series.datasets import DATASETS
from ecom_pipeline.energy_series.line_protocol import to_line_protocol
from ecom_pipeline.energy_series.write_policy import RetrySettings, WriteUnavailableError, write_in_batches
from ecom_pipeline.errors import BadRequestError, ServiceUnavailableError
from resources.influxdb import InfluxDBResource
from tests.assets.energy_series.sandbox import closed_port_url
from tests.ecom_pipeline.energy_series.tables import series_rows, series_table

SPEC = DATASETS["transmission"]
ERRORS = {"transient": (ServiceUnavailableError,), "rejected": (BadRequestError,)}


def influxdb(url: str | None = None) -> InfluxDBResource:
    return InfluxDBResource(
        url=url or os.environ["INFLUXDB_URL"],
        org=os.environ["INFLUXDB_ORG"],
        bucket=f"test_series_write_{uuid.uuid4().hex[:10]}",
        token=os.environ["INFLUXDB_TOKEN"],
        timeout_ms=2_000,
    )


def test_connection_refused_is_retried_with_backoff_then_unavailable(stack_env):
    points = to_line_protocol(series_table("transmission", series_rows("transmission", 3)), SPEC)
    sleeps: list[float] = []
    with pytest.raises(WriteUnavailableError, match="unavailable after 2 retries") as caught:
        write_in_batches(
            points,
            influxdb(closed_port_url()).write_lines,
            batch_size=1000,
            retry=RetrySettings(max_retries=2, backoff_seconds=0.05),
            sleep=sleeps.append,
            **ERRORS,
        )
    assert sleeps == [0.05, 0.1] and caught.value.report.retries == 2
    assert isinstance(caught.value.__cause__, ServiceUnavailableError)


def test_the_server_refusing_one_line_costs_only_that_point(stack_env):
    rows = series_rows("transmission", 8)
    rows[5]["line_id"] = "x" * 1_000_000  # VictoriaMetrics answers 400 "too long line" for this one
    points = to_line_protocol(series_table("transmission", rows), SPEC)
    report = write_in_batches(
        points, influxdb().write_lines, batch_size=4, retry=RetrySettings(max_retries=0), **ERRORS
    )
    assert (report.points_written, report.rejected_count, report.failed_batches) == (7, 1, 1)
    assert report.rejected[0].index == 5 and "too long line" in report.rejected[0].error
