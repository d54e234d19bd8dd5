"""Small processed-Parquet-shaped tables for the series tests: every mapped column, valid unless overridden."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from ecom_pipeline.energy_series.datasets import DATASETS

DAY = datetime(2026, 3, 1, tzinfo=UTC)


def series_rows(dataset: str, count: int, start: datetime = DAY, step: timedelta = timedelta(minutes=5)):
    spec = DATASETS[dataset]
    rows = []
    for index in range(count):
        row: dict[str, Any] = {spec.time_column: start + index * step}
        row.update({tag: f"{tag}-{index % 3}" for tag in spec.tags})
        row.update({name: float(index) + position / 10 for position, name in enumerate(spec.fields)})
        rows.append(row)
    return rows


def series_table(dataset: str, rows: list[dict[str, Any]]) -> pa.Table:
    """Columns in mapping order with explicit types, so a None or NaN does not change a column's type."""
    spec = DATASETS[dataset]
    columns = {spec.time_column: pa.array([r[spec.time_column] for r in rows], pa.timestamp("us", tz="UTC"))}
    columns.update({tag: pa.array([r[tag] for r in rows], pa.string()) for tag in spec.tags})
    columns.update({name: pa.array([r[name] for r in rows], pa.float64()) for name in spec.fields})
    return pa.table(columns)
