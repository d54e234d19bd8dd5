"""What the time-series server holds for one measurement, counted the way InfluxDB identifies points.

Locally the server is VictoriaMetrics: it stores each field as a series `<measurement>_<field>` with the
tags as labels, keeps only millisecond timestamps, and keeps a repeated sample twice where InfluxDB would
overwrite it. Counting distinct (tag set, timestamp) pairs across the measurement's fields therefore gives
InfluxDB's point count, and a re-run that rewrites the same points leaves the count unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

NAME_LABEL = "__name__"


@dataclass(frozen=True)
class StoredPoints:
    points: int
    samples: int  # raw samples, repeated writes included
    series: int  # distinct tag sets
    min_timestamp_ms: int | None
    max_timestamp_ms: int | None
    values: dict[tuple[str, tuple[tuple[str, str], ...], int], float]  # (field, tags, ms) -> last value


def field_metric_name(measurement: str, field: str) -> str:
    return f"{measurement}_{field}"


def summarize_export(
    records: Iterable[Mapping[str, Any]], measurement: str, fields: Iterable[str]
) -> StoredPoints:
    """Fold `/api/v1/export` records (one JSON object per series) into point counts."""
    field_by_metric = {field_metric_name(measurement, field): field for field in fields}
    keys: set[tuple[tuple[tuple[str, str], ...], int]] = set()
    tag_sets: set[tuple[tuple[str, str], ...]] = set()
    values: dict[tuple[str, tuple[tuple[str, str], ...], int], float] = {}
    samples = 0
    for record in records:
        labels = dict(record.get("metric", {}))
        field = field_by_metric.get(labels.pop(NAME_LABEL, ""))
        if field is None:
            continue
        tags = tuple(sorted(labels.items()))
        tag_sets.add(tags)
        for timestamp, value in zip(record.get("timestamps", []), record.get("values", []), strict=True):
            samples += 1
            keys.add((tags, int(timestamp)))
            values[(field, tags, int(timestamp))] = value
    stamps = [timestamp for _, timestamp in keys]
    return StoredPoints(
        points=len(keys),
        samples=samples,
        series=len(tag_sets),
        min_timestamp_ms=min(stamps) if stamps else None,
        max_timestamp_ms=max(stamps) if stamps else None,
        values=values,
    )
