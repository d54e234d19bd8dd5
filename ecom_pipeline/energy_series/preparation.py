"""One partition's Parquet files made ready to write: parsed, validated, then converted chunk by chunk.

Every file of the partition is parsed and validated before anything is written, so a bad file fails the step
as bad input with nothing written for the partition. Conversion to line protocol then runs chunk by chunk
while the previous chunk is being written (see `write_stream`), so at most two chunks of lines exist at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ecom_pipeline.energy_series.datasets import DatasetSpec
from ecom_pipeline.energy_series.line_protocol import LineProtocol, to_line_protocol
from ecom_pipeline.energy_series.schema import SchemaError, check_schema, normalize_time_column
from ecom_pipeline.energy_series.validation import validate_rows

UNREPRESENTABLE = "unrepresentable"  # validation off: rows the converter had to skip


@dataclass
class PreparedFile:
    """One validated file: the rows to write (time column in UTC ns) and what was dropped."""

    key: str
    size_bytes: int
    input_rows: int
    table: pa.Table
    dropped_by_reason: dict[str, int] = field(default_factory=dict)
    points: int = 0  # lines produced by conversion, known once converted


@dataclass(frozen=True)
class LoadSettings:
    enable_validation: bool
    drop_invalid_records: bool


def parse_parquet(body: bytes, source: str) -> pa.Table:
    """The table in a Parquet file's bytes; an unreadable file is bad input (SchemaError), not a retry."""
    try:
        return pq.read_table(pa.BufferReader(body))
    except (pa.ArrowInvalid, OSError) as exc:
        raise SchemaError(f"{source}: not a readable Parquet file: {exc}") from exc


def prepare_table(
    table: pa.Table, spec: DatasetSpec, source: str, settings: LoadSettings
) -> tuple[int, dict[str, int], pa.Table]:
    """(input rows, dropped rows by reason, rows to write) of one file's table; raises on bad input."""
    check_schema(table.schema, spec, source, strict=settings.enable_validation)
    input_rows = table.num_rows
    table = normalize_time_column(table, spec, source)
    dropped: dict[str, int] = {}
    if settings.enable_validation:
        result = validate_rows(table, spec, source, drop_invalid=settings.drop_invalid_records)
        table, dropped = result.valid, dict(result.dropped_by_reason)
    return input_rows, dropped, table


def prepare_file(
    body: bytes, bucket: str, key: str, size: int, spec: DatasetSpec, settings: LoadSettings
) -> PreparedFile:
    """One file's bytes parsed and validated; errors name the file by its s3:// URL."""
    source = f"s3://{bucket}/{key}"
    input_rows, dropped, table = prepare_table(parse_parquet(body, source), spec, source, settings)
    return PreparedFile(
        key=key, size_bytes=size, input_rows=input_rows, table=table, dropped_by_reason=dropped
    )


def whole_batch_chunk_rows(batch_size: int, conversion_chunk_rows: int) -> int:
    """Rows converted per chunk, rounded down to whole write batches (at least one), so chunking never
    splits a batch and the batch count is the same as without chunks."""
    return max(batch_size, conversion_chunk_rows // batch_size * batch_size)


class ChunkedConversion:
    """Line protocol of the prepared files, `chunk_rows` rows at a time; records what conversion saw."""

    def __init__(self, files: list[PreparedFile], spec: DatasetSpec, bucket: str, chunk_rows: int) -> None:
        self.files, self.spec, self.bucket, self.chunk_rows = files, spec, bucket, chunk_rows
        self._timestamps: list[np.ndarray] = []

    def __iter__(self) -> Iterator[LineProtocol]:
        for prepared in self.files:
            source = f"s3://{self.bucket}/{prepared.key}"
            for start in range(0, prepared.table.num_rows, self.chunk_rows):
                points = to_line_protocol(prepared.table.slice(start, self.chunk_rows), self.spec, source)
                prepared.points += len(points)
                if points.skipped_rows:
                    counts = prepared.dropped_by_reason
                    counts[UNREPRESENTABLE] = counts.get(UNREPRESENTABLE, 0) + points.skipped_rows
                self._timestamps.append(points.timestamps_ns)
                yield points
            prepared.table = prepared.table.slice(0, 0)  # converted: let the rows go

    @property
    def timestamps_ns(self) -> np.ndarray:
        return np.concatenate(self._timestamps) if self._timestamps else np.zeros(0, np.int64)


def merge_counts(counts: list[dict[str, int]]) -> dict[str, int]:
    """Per-reason counts of several files added up."""
    merged: dict[str, int] = {}
    for item in counts:
        for reason, count in item.items():
            merged[reason] = merged.get(reason, 0) + count
    return merged
