"""The checks `energy_series` reports with each materialization (declared as its check_specs)."""

from __future__ import annotations

from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, MetadataValue

from assets.partitions import energy_series_partitions
from ecom_pipeline.energy_series.datasets import DatasetSpec
from ecom_pipeline.energy_series.partition_day import (
    TimestampSummary,
    iso_utc,
    readback_range_ns,
)
from ecom_pipeline.energy_series.readback import count_query
from resources.energy_series.readback import SeriesReadbackResource
from resources.influxdb import InfluxDBResource

ASSET_NAME = "energy_series"
POINTS_CHECK = "points_written_match_server"
DAY_CHECK = "timestamps_within_partition_day"
DROP_RATE_CHECK = "dropped_rows_rate"

# Partitioned like the asset: each result is recorded for the (dataset, date) its step wrote, so the UI keeps
# a check status per partition (a run writes exactly one partition; the asset reads `context.partition_key`).
CHECK_SPECS = [
    AssetCheckSpec(name, asset=ASSET_NAME, description=text, partitions_def=energy_series_partitions)
    for name, text in (
        (
            POINTS_CHECK,
            "Points read back from the server for the partition's time range equal the valid rows.",
        ),
        (DAY_CHECK, "Every written timestamp lies in the partition's day."),
        (DROP_RATE_CHECK, "Dropped rows stay below the configured share of input rows (WARN above it)."),
    )
]


def day_check(timestamps: TimestampSummary) -> AssetCheckResult:
    """Fails when a written timestamp lies outside the partition's UTC day."""
    outside = timestamps.outside_day
    metadata: dict = {"partition_day": timestamps.day.isoformat(), "points_outside_day": outside}
    if timestamps.min_ns is not None and timestamps.max_ns is not None:
        metadata["min_timestamp"] = iso_utc(timestamps.min_ns)
        metadata["max_timestamp"] = iso_utc(timestamps.max_ns)
    return AssetCheckResult(check_name=DAY_CHECK, passed=outside == 0, metadata=metadata)


def drop_rate_check(input_rows: int, dropped_by_reason: dict[str, int], threshold: float) -> AssetCheckResult:
    """Warns (never blocks) when the share of dropped rows exceeds `threshold`."""
    dropped = sum(dropped_by_reason.values())
    rate = dropped / input_rows if input_rows else 0.0
    return AssetCheckResult(
        check_name=DROP_RATE_CHECK,
        passed=rate <= threshold,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "dropped_rows": dropped,
            "input_rows": input_rows,
            "drop_rate": round(rate, 6),
            "warn_threshold": threshold,
        },
    )


def points_check(
    readback: SeriesReadbackResource,
    influxdb: InfluxDBResource,
    spec: DatasetSpec,
    timestamps: TimestampSummary,
    valid_points: int,
    points_written: int,
) -> AssetCheckResult:
    """Count the partition's points on the server (InfluxQL, waiting a bounded time for visibility); more,
    fewer or unreadable points fail the check."""
    start_ns, end_ns = readback_range_ns(timestamps)
    metadata: dict = {
        "valid_rows": valid_points,
        "points_written": points_written,
        "bucket": influxdb.bucket,
        "query": MetadataValue.text(count_query(spec, start_ns, end_ns)),
        "range": MetadataValue.text(f"{iso_utc(start_ns)} .. {iso_utc(end_ns)}"),
    }
    try:
        seen = readback.wait_for_points(influxdb, spec, influxdb.bucket, start_ns, end_ns, points_written)
    except Exception as exc:  # a check that cannot read back fails; it must not fail the materialization
        metadata["readback_error"] = f"{type(exc).__name__}: {exc}"
        return AssetCheckResult(check_name=POINTS_CHECK, passed=False, metadata=metadata)
    metadata.update(
        {
            "points_on_server": seen.stored.points,
            "series_on_server": seen.stored.series,
            "readback_queries": seen.queries,
            "readback_wait_seconds": seen.waited_seconds,
            "readback_timed_out": seen.timed_out,
        }
    )
    passed = seen.stored.points == valid_points == points_written
    return AssetCheckResult(check_name=POINTS_CHECK, passed=passed, metadata=metadata)
