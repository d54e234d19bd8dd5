"""The checks `energy_series` reports with each materialization (declared as its check_specs)."""

from __future__ import annotations

from datetime import date

import numpy as np
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, MetadataValue

from ecom_pipeline.energy_series.datasets import DatasetSpec
from ecom_pipeline.energy_series.partition_day import (
    iso_utc,
    ns_to_ms_range,
    points_outside_day,
    readback_range_ns,
)
from resources.energy_series.readback import SeriesReadbackResource

ASSET_NAME = "energy_series"
POINTS_CHECK = "points_written_match_server"
DAY_CHECK = "timestamps_within_partition_day"
DROP_RATE_CHECK = "dropped_rows_rate"

CHECK_SPECS = [
    AssetCheckSpec(
        POINTS_CHECK,
        asset=ASSET_NAME,
        description="Points read back from the server for the partition's time range equal the valid rows.",
    ),
    AssetCheckSpec(
        DAY_CHECK, asset=ASSET_NAME, description="Every written timestamp lies in the partition's day."
    ),
    AssetCheckSpec(
        DROP_RATE_CHECK,
        asset=ASSET_NAME,
        description="Dropped rows stay below the configured share of input rows (WARN above it).",
    ),
]


def day_check(day: date, timestamps_ns: np.ndarray) -> AssetCheckResult:
    """Fails when a written timestamp lies outside the partition's UTC day."""
    outside = points_outside_day(day, timestamps_ns)
    metadata = {"partition_day": day.isoformat(), "points_outside_day": outside}
    if len(timestamps_ns):
        metadata["min_timestamp"] = iso_utc(int(timestamps_ns.min()))
        metadata["max_timestamp"] = iso_utc(int(timestamps_ns.max()))
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
    spec: DatasetSpec,
    bucket: str,
    day: date,
    timestamps_ns: np.ndarray,
    valid_points: int,
    points_written: int,
) -> AssetCheckResult:
    """Read the partition's range back; a server that holds more, fewer or no points fails the check."""
    start_ns, end_ns = readback_range_ns(day, timestamps_ns)
    start_ms, end_ms = ns_to_ms_range(start_ns, end_ns)
    metadata: dict = {"valid_rows": valid_points, "points_written": points_written, "bucket": bucket}
    if not readback.configured:
        # On AWS there is no VictoriaMetrics; until a Flux read-back exists the check says so, as a warning.
        metadata["readback"] = (
            "not configured (VICTORIA_METRICS_URL unset); points not verified on the server"
        )
        return AssetCheckResult(
            check_name=POINTS_CHECK, passed=False, severity=AssetCheckSeverity.WARN, metadata=metadata
        )
    try:
        stored = readback.stored_points(spec, bucket, start_ms, end_ms)
    except Exception as exc:  # a check that cannot read back fails; it must not fail the materialization
        metadata["readback_error"] = f"{type(exc).__name__}: {exc}"
        return AssetCheckResult(check_name=POINTS_CHECK, passed=False, metadata=metadata)
    metadata.update(
        {
            "points_on_server": stored.points,
            "series_on_server": stored.series,
            "samples_on_server": stored.samples,
            "range": MetadataValue.text(f"{iso_utc(start_ns)} .. {iso_utc(end_ns)}"),
        }
    )
    passed = stored.points == valid_points == points_written
    return AssetCheckResult(check_name=POINTS_CHECK, passed=passed, metadata=metadata)
