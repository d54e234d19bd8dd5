"""Reading written points back from InfluxDB for the `energy_series` checks: one InfluxQL path everywhere.

A server may make acknowledged points visible a little later (InfluxDB 2.x and Timestream buffer writes),
so the check waits for the expected count with a bounded, reported wait instead of reading once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from dagster import ConfigurableResource
from pydantic import Field

from ecom_pipeline.energy_series.datasets import DatasetSpec
from ecom_pipeline.energy_series.readback import (
    StoredPoints,
    count_query,
    summarize_counts,
    summarize_values,
    values_query,
)
from resources.influxdb import InfluxDBResource


@dataclass(frozen=True)
class Visibility:
    """What a bounded wait for the expected points saw."""

    stored: StoredPoints
    queries: int
    waited_seconds: float
    timed_out: bool


class SeriesReadbackResource(ConfigurableResource):
    """How long the points check waits for written points to become visible, and how often it asks."""

    visibility_timeout_seconds: float = Field(
        default=30.0, ge=0, description="Longest wait for the written points to be counted."
    )
    poll_interval_seconds: float = Field(default=0.5, gt=0, description="Pause between two counts.")

    def stored_points(
        self,
        influxdb: InfluxDBResource,
        spec: DatasetSpec,
        bucket: str,
        start_ns: int,
        end_ns: int,
        *,
        keep_values: bool = False,
    ) -> StoredPoints:
        """Points of `spec.measurement` in `bucket` with start_ns <= time < end_ns (one query)."""
        if keep_values:
            return summarize_values(influxdb.query(values_query(spec, start_ns, end_ns), bucket))
        return summarize_counts(influxdb.query(count_query(spec, start_ns, end_ns), bucket))

    def wait_for_points(
        self,
        influxdb: InfluxDBResource,
        spec: DatasetSpec,
        bucket: str,
        start_ns: int,
        end_ns: int,
        expected: int,
    ) -> Visibility:
        """Count until at least `expected` points are visible or the timeout passes; never longer."""
        started = time.monotonic()
        queries = 0
        while True:
            stored = self.stored_points(influxdb, spec, bucket, start_ns, end_ns)
            queries += 1
            waited = time.monotonic() - started
            if stored.points >= expected or waited >= self.visibility_timeout_seconds:
                timed_out = stored.points < expected
                return Visibility(stored, queries, round(waited, 3), timed_out)
            time.sleep(min(self.poll_interval_seconds, self.visibility_timeout_seconds - waited))
