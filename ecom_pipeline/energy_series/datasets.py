"""The three energy datasets and how their processed Parquet maps onto InfluxDB points.

The mapping is kept here as data so the converter, the validation rules, the asset and the read-back check
all agree on one definition of each dataset's measurement, tags and fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from ecom_pipeline.energy_series.field_types import ARROW_TYPES, FLOAT

# Processed files live under processed/dataset={dataset}/date=YYYY-MM-DD/ in the series bucket.
PROCESSED_PREFIX = "processed/"
TIME_COLUMN = "timestamp"


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset type: the measurement its rows become, which columns are tags and which are fields, and
    each field's one declared type (default float), so no file can write a field with another type."""

    name: str
    measurement: str
    tags: tuple[str, ...]
    fields: tuple[str, ...]
    time_column: str = TIME_COLUMN
    field_type_overrides: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        for name, declared in self.field_type_overrides:
            if name not in self.fields or declared not in ARROW_TYPES:
                raise ValueError(f"dataset {self.name}: bad field type {name}={declared}")

    @property
    def field_types(self) -> dict[str, str]:
        """Field -> declared type (float, integer, boolean or string)."""
        return {name: FLOAT for name in self.fields} | dict(self.field_type_overrides)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return (self.time_column, *self.tags, *self.fields)


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            name="generation",
            measurement="generation_data",
            tags=("region", "energy_source", "measurement_type", "quality_flag"),
            fields=("power_mw", "capacity_factor", "efficiency"),
        ),
        DatasetSpec(
            name="consumption",
            measurement="consumption_data",
            tags=("region", "consumer_type", "measurement_type", "quality_flag"),
            fields=("consumption_mwh", "demand_mw", "load_factor"),
        ),
        DatasetSpec(
            name="transmission",
            measurement="transmission_data",
            tags=("region", "line_id", "measurement_type", "quality_flag"),
            fields=("flow_mw", "losses_mwh", "voltage_kv"),
        ),
    )
}

_DATASET_IN_KEY = re.compile(r"(?:^|/)dataset=([^/]+)/")
_DATE_IN_KEY = re.compile(r"(?:^|/)date=(\d{4}-\d{2}-\d{2})/")


class UnknownDatasetError(ValueError):
    """The key names no dataset the loader knows: bad input, never retried."""


@dataclass(frozen=True)
class SeriesObject:
    """Where one processed Parquet object belongs: its dataset and its day (the asset partition)."""

    bucket: str
    key: str
    dataset: str
    day: date

    @property
    def spec(self) -> DatasetSpec:
        return DATASETS[self.dataset]


def detect_dataset(key: str) -> DatasetSpec:
    """The dataset of an S3 key, from its `dataset=<name>` path segment anywhere in the key."""
    match = _DATASET_IN_KEY.search(key)
    if match is None:
        raise UnknownDatasetError(f"s3 key {key!r} has no 'dataset=<name>/' path segment")
    name = match.group(1)
    if name not in DATASETS:
        raise UnknownDatasetError(
            f"s3 key {key!r} names dataset {name!r}; known datasets: {', '.join(sorted(DATASETS))}"
        )
    return DATASETS[name]


def classify_key(bucket: str, key: str) -> SeriesObject:
    """Dataset and day of a processed Parquet key; raises ValueError naming the key when it is not one."""
    if not key.endswith(".parquet"):
        raise UnknownDatasetError(f"s3 key {key!r} is not a .parquet file")
    spec = detect_dataset(key)
    match = _DATE_IN_KEY.search(key)
    if match is None:
        raise UnknownDatasetError(f"s3 key {key!r} has no 'date=YYYY-MM-DD/' path segment")
    try:
        day = date.fromisoformat(match.group(1))
    except ValueError as exc:
        raise UnknownDatasetError(f"s3 key {key!r} has an invalid date {match.group(1)!r}") from exc
    return SeriesObject(bucket=bucket, key=key, dataset=spec.name, day=day)


def partition_prefix(dataset: str, day: date | str) -> str:
    """The S3 prefix holding every processed file of one (dataset, day) partition."""
    if dataset not in DATASETS:
        raise UnknownDatasetError(f"unknown dataset {dataset!r}")
    day_text = day if isinstance(day, str) else day.isoformat()
    return f"{PROCESSED_PREFIX}dataset={dataset}/date={day_text}/"
