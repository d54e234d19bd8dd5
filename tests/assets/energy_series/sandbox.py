"""Fixtures of the energy-series tests: a private S3 bucket and InfluxDB bucket per test, on the real stack.

Each test writes to its own InfluxDB bucket (an influxd database), so concurrent tests never count each
other's points.
The fixtures that build one are in this folder's conftest.py.
"""

import os
import socket
from dataclasses import dataclass
from datetime import date

import boto3
from dagster import (
    DagsterEventType,
    DagsterInstance,
    Definitions,
    MultiPartitionKey,
    RetryPolicy,
    define_asset_job,
    materialize,
)

from assets.energy_series.assets import energy_series
from ecom_pipeline.energy_series.datasets import DATASETS
from ecom_pipeline.energy_series.partition_day import day_bounds_ns
from ecom_pipeline.energy_series.readback import StoredPoints
from resources import build_resources
from resources.energy_series.config import EnergySeriesConfig
from resources.energy_series.readback import SeriesReadbackResource
from resources.influxdb import InfluxDBResource


def closed_port_url() -> str:
    """A local URL nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass
class SeriesEnv:
    s3_bucket: str
    influx_bucket: str
    instance: DagsterInstance

    def config(self, **overrides) -> EnergySeriesConfig:
        settings = dict(
            bucket=self.s3_bucket,
            retry_backoff_seconds=0.01,
            step_retries=1,
            step_retry_wait_seconds=0,
            metrics_namespace=self.metrics_namespace,
        )
        return EnergySeriesConfig(**(settings | overrides))

    @property
    def metrics_namespace(self) -> str:
        """A CloudWatch namespace of this test's own (the deployed default is ONS/InfluxDB)."""
        return f"ONS/InfluxDB/{self.influx_bucket}"

    def metric_names(self, **dimensions: str) -> set[str]:
        """Metric names sent to this test's namespace (with these dimension values, if given)."""
        paginator = boto3.client("cloudwatch").get_paginator("list_metrics")
        wanted = [{"Name": k, "Value": v} for k, v in dimensions.items()]
        pages = paginator.paginate(Namespace=self.metrics_namespace, Dimensions=wanted)
        return {metric["MetricName"] for page in pages for metric in page["Metrics"]}

    def influxdb(self, **overrides) -> InfluxDBResource:
        settings = dict(
            url=os.environ["INFLUXDB_URL"],
            org=os.environ["INFLUXDB_ORG"],
            bucket=self.influx_bucket,
            token=os.environ["INFLUXDB_TOKEN"],
            timeout_ms=5_000,
        )
        return InfluxDBResource(**(settings | overrides))

    def readback(self) -> SeriesReadbackResource:
        return SeriesReadbackResource(visibility_timeout_seconds=10.0, poll_interval_seconds=0.2)

    def resources(
        self, config: EnergySeriesConfig | None = None, influxdb: InfluxDBResource | None = None
    ) -> dict:
        return build_resources() | {
            "influxdb": influxdb or self.influxdb(),
            "energy_series_config": config or self.config(),
            "energy_series_readback": self.readback(),
        }

    def put(self, key: str, body: bytes) -> None:
        boto3.client("s3").put_object(Bucket=self.s3_bucket, Key=key, Body=body)

    def run(self, dataset: str, day: date, config=None, influxdb=None):
        return materialize(
            [energy_series],
            partition_key=MultiPartitionKey({"dataset": dataset, "date": day.isoformat()}),
            resources=self.resources(config, influxdb),
            instance=self.instance,
            raise_on_error=False,
        )

    def run_with_retry_policy(self, dataset: str, day: date, config=None, retries: int = 2):
        """Run as a job whose every step has a RetryPolicy: only errors that forbid retries stay single."""
        job = define_asset_job(
            "series_retry_job", selection="energy_series", op_retry_policy=RetryPolicy(retries)
        )
        defs = Definitions(assets=[energy_series], jobs=[job], resources=self.resources(config))
        return defs.resolve_job_def("series_retry_job").execute_in_process(
            partition_key=MultiPartitionKey({"dataset": dataset, "date": day.isoformat()}),
            instance=self.instance,
            raise_on_error=False,
        )

    def stored(self, dataset: str, day: date) -> StoredPoints:
        start, end = day_bounds_ns(day)
        return self.readback().stored_points(
            self.influxdb(), DATASETS[dataset], self.influx_bucket, start, end, keep_values=True
        )


def retries_of(result) -> int:
    return sum(1 for event in result.all_events if event.event_type == DagsterEventType.STEP_UP_FOR_RETRY)


def failure_message(result) -> str:
    failures = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
    assert failures, "expected a failed step"
    error, texts = failures[-1].step_failure_data.error, []
    while error is not None:  # the message and every cause, e.g. what made a step ask for a retry
        texts.append(error.message)
        error = error.cause
    return "\n".join(texts)


def checks_of(result) -> dict:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def materialization_metadata(result) -> dict:
    events = result.get_asset_materialization_events()
    assert len(events) == 1
    return {key: value.value for key, value in events[0].materialization.metadata.items()}
