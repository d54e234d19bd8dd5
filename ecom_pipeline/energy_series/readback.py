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

import numpy as np

NAME_LABEL = "__name__"


@dataclass(frozen=True)
class StoredPoints:
    points: int
    samples: int  # raw samples, repeated writes included
    series: int  # distinct tag sets
    min_timestamp_ms: int | None
    max_timestamp_ms: int | None
    values: dict[tuple[str, tuple[tuple[str, str], ...], int], float]  # only with keep_values


def field_metric_name(measurement: str, field: str) -> str:
    return f"{measurement}_{field}"


def summarize_export(
    records: Iterable[Mapping[str, Any]],
    measurement: str,
    fields: Iterable[str],
    *,
    keep_values: bool = False,
) -> StoredPoints:
    """Fold `/api/v1/export` records (one JSON object per series) into point counts.

    keep_values also returns every (field, tags, ms) -> value, for tests; counting alone stays small.
    """
    field_by_metric = {field_metric_name(measurement, field): field for field in fields}
    stamps_by_tags: dict[tuple[tuple[str, str], ...], list[np.ndarray]] = {}
    values: dict[tuple[str, tuple[tuple[str, str], ...], int], float] = {}
    samples = 0
    for record in records:
        labels = dict(record.get("metric", {}))
        field = field_by_metric.get(labels.pop(NAME_LABEL, ""))
        if field is None:
            continue
        tags = tuple(sorted(labels.items()))
        stamps = np.asarray(record.get("timestamps", []), dtype=np.int64)
        samples += len(stamps)
        stamps_by_tags.setdefault(tags, []).append(stamps)
        if keep_values:
            for timestamp, value in zip(stamps.tolist(), record.get("values", []), strict=True):
                values[(field, tags, timestamp)] = value
    distinct = [np.unique(np.concatenate(arrays)) for arrays in stamps_by_tags.values()]
    distinct = [stamps for stamps in distinct if len(stamps)]
    return StoredPoints(
        points=sum(len(stamps) for stamps in distinct),
        samples=samples,
        series=len(stamps_by_tags),
        min_timestamp_ms=int(min(stamps[0] for stamps in distinct)) if distinct else None,
        max_timestamp_ms=int(max(stamps[-1] for stamps in distinct)) if distinct else None,
        values=values,
    )
