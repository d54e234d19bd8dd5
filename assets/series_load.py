"""Reading one energy-series partition from S3 and turning it into line protocol, before anything is written.

Every file of the partition is read, validated and converted first, so a bad file fails the step as bad
input with nothing written for the partition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ecom_pipeline.series.datasets import DatasetSpec
from ecom_pipeline.series.line_protocol import LineProtocol, to_line_protocol
from ecom_pipeline.series.schema import SchemaError, check_schema, normalize_time_column
from ecom_pipeline.series.validation import validate_rows

UNREPRESENTABLE = "unrepresentable"  # validation off: rows the converter had to skip


@dataclass
class PreparedFile:
    key: str
    size_bytes: int
    input_rows: int
    points: LineProtocol
    dropped_by_reason: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadSettings:
    enable_validation: bool
    drop_invalid_records: bool


def list_partition_files(s3_client: Any, bucket: str, prefix: str) -> list[tuple[str, int]]:
    """(key, size) of every Parquet object under the partition prefix, in key order."""
    found: list[tuple[str, int]] = []
    for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += [
            (item["Key"], item["Size"])
            for item in page.get("Contents", [])
            if item["Key"].endswith(".parquet")
        ]
    return sorted(found)


def read_parquet(s3_client: Any, bucket: str, key: str) -> pa.Table:
    body = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
    try:
        return pq.read_table(pa.BufferReader(body))
    except (pa.ArrowInvalid, OSError) as exc:
        raise SchemaError(f"s3://{bucket}/{key}: not a readable Parquet file: {exc}") from exc


def prepare_table(
    table: pa.Table, spec: DatasetSpec, source: str, settings: LoadSettings
) -> tuple[int, dict, LineProtocol]:
    """(input rows, dropped rows by reason, points) of one file's table; raises on bad input."""
    check_schema(table.schema, spec, source, strict=settings.enable_validation)
    input_rows = table.num_rows
    table = normalize_time_column(table, spec, source)
    dropped: dict[str, int] = {}
    if settings.enable_validation:
        result = validate_rows(table, spec, source, drop_invalid=settings.drop_invalid_records)
        table, dropped = result.valid, dict(result.dropped_by_reason)
    points = to_line_protocol(table, spec, source)
    if points.skipped_rows:
        dropped[UNREPRESENTABLE] = points.skipped_rows
    return input_rows, dropped, points


def prepare_file(
    s3_client: Any, bucket: str, key: str, size: int, spec: DatasetSpec, settings: LoadSettings
) -> PreparedFile:
    source = f"s3://{bucket}/{key}"
    input_rows, dropped, points = prepare_table(read_parquet(s3_client, bucket, key), spec, source, settings)
    return PreparedFile(
        key=key, size_bytes=size, input_rows=input_rows, points=points, dropped_by_reason=dropped
    )


def merge_counts(counts: list[dict[str, int]]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for item in counts:
        for reason, count in item.items():
            merged[reason] = merged.get(reason, 0) + count
    return merged
