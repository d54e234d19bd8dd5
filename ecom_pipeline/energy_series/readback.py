"""Counting what InfluxDB holds for one measurement, with InfluxQL on the v1-compatible `/query` endpoint.

InfluxDB 1.x, InfluxDB 2.x (v1 compatibility API + a DBRP mapping of the bucket) and Timestream for
InfluxDB all answer the same query with the same token, so the check reads back the same way locally and
on AWS. InfluxDB identifies a point by series (measurement + tag set) and timestamp, and a rewrite of the
same point overwrites it, so a re-run leaves the count unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ecom_pipeline.energy_series.datasets import DatasetSpec

Tags = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class StoredPoints:
    """Points of a measurement in a time range.

    `points` sums, per series, the largest per-field value count: exact whenever each point of a series
    carries the field written most often (with validation on every point carries every field).
    """

    points: int
    series: int
    field_values: dict[str, int] = field(default_factory=dict)  # non-null values per field
    values: dict[tuple[str, Tags, int], Any] = field(default_factory=dict)  # (field, tags, ns) -> value


def quote_identifier(name: str) -> str:
    """InfluxQL double-quoted identifier (backslash and double quote escaped)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def time_range(start_ns: int, end_ns: int) -> str:
    return f"time >= {int(start_ns)} AND time < {int(end_ns)}"


def count_query(spec: DatasetSpec, start_ns: int, end_ns: int) -> str:
    """Per-series count of every field of the measurement in [start_ns, end_ns)."""
    return (
        f"SELECT count(*) FROM {quote_identifier(spec.measurement)} "
        f"WHERE {time_range(start_ns, end_ns)} GROUP BY *"
    )


def values_query(spec: DatasetSpec, start_ns: int, end_ns: int) -> str:
    """Every stored value of the measurement in [start_ns, end_ns), per series (for tests and demos)."""
    return (
        f"SELECT * FROM {quote_identifier(spec.measurement)} WHERE {time_range(start_ns, end_ns)} GROUP BY *"
    )


class QueryError(ValueError):
    """The server answered the query with an error (other than an unknown database)."""


def _series(response: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    for result in response.get("results", []):
        error = result.get("error")
        if error:
            if "database not found" in str(error):  # nothing was ever written to the bucket
                continue
            raise QueryError(str(error))
        yield from result.get("series", []) or []


def _tags(series: Mapping[str, Any]) -> Tags:
    return tuple(sorted((k, v) for k, v in (series.get("tags") or {}).items() if v != ""))


def summarize_counts(response: Mapping[str, Any]) -> StoredPoints:
    """Fold a `count_query` answer (columns time, count_<field>...) into a StoredPoints."""
    points, series, field_values = 0, 0, {}
    for item in _series(response):
        columns = item.get("columns", [])
        for row in item.get("values", []):
            counts = {
                name.removeprefix("count_"): int(value or 0)
                for name, value in zip(columns, row, strict=True)
                if name != "time"
            }
            series += 1
            points += max(counts.values(), default=0)
            for name, count in counts.items():
                field_values[name] = field_values.get(name, 0) + count
    return StoredPoints(points=points, series=series, field_values=field_values)


def summarize_values(response: Mapping[str, Any]) -> StoredPoints:
    """Fold a `values_query` answer (epoch=ns) into (field, tags, ns) -> value, plus the counts."""
    values: dict[tuple[str, Tags, int], Any] = {}
    stamps: set[tuple[Tags, int]] = set()
    series: set[Tags] = set()
    field_values: dict[str, int] = {}
    for item in _series(response):
        tags = _tags(item)
        series.add(tags)
        columns = item.get("columns", [])
        for row in item.get("values", []):
            record = dict(zip(columns, row, strict=True))
            timestamp = int(record.pop("time"))
            for name, value in record.items():
                if value is None:
                    continue
                values[(name, tags, timestamp)] = value
                field_values[name] = field_values.get(name, 0) + 1
                stamps.add((tags, timestamp))
    return StoredPoints(points=len(stamps), series=len(series), field_values=field_values, values=values)
