"""One partition's Parquet files made ready to write: parsed, validated, then converted chunk by chunk.

Every file of the partition is validated before anything is written, so a bad file fails the step as bad
input with nothing written for the partition. Memory stays bounded whatever the input size: a file is
staged on local disk and read batch by batch (`ParquetRows`), once to validate and count, and again to
convert while the previous chunk is being written (see `write_stream`); no file is ever held whole.
Duplicate points are therefore found within a batch; InfluxDB itself keeps the last of any others.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ecom_pipeline.energy_series.datasets import DatasetSpec
from ecom_pipeline.energy_series.line_protocol import LineProtocol, to_line_protocol
from ecom_pipeline.energy_series.partition_day import TimestampSummary
from ecom_pipeline.energy_series.schema import SchemaError, check_schema, normalize_time_column
from ecom_pipeline.energy_series.validation import validate_rows

UNREPRESENTABLE = "unrepresentable"  # validation off: rows the converter had to skip


@dataclass(frozen=True)
class LoadSettings:
    enable_validation: bool
    drop_invalid_records: bool


class ParquetRows:
    """A Parquet file on local disk, read `batch_rows` rows at a time (one row group decoded at most)."""

    def __init__(
        self, path: Path, source: str, spec: DatasetSpec, settings: LoadSettings, batch_rows: int
    ) -> None:
        self.path, self.source, self.spec, self.settings = path, source, spec, settings
        self.batch_rows = batch_rows

    def _open(self) -> pq.ParquetFile:
        parquet = pq.ParquetFile(self.path)
        check_schema(parquet.schema_arrow, self.spec, self.source, strict=self.settings.enable_validation)
        return parquet

    def check(self) -> int:
        """Raise on anything that would fail the partition as bad input; returns the file's row count.

        Only a file whose invalid rows fail the step (validation on, dropping off) needs every column;
        otherwise what can fail is the schema and the time column, so only that column is read.
        """
        rows_fail = self.settings.enable_validation and not self.settings.drop_invalid_records
        columns = None if rows_fail else [self.spec.time_column]
        try:
            parquet, first_row = self._open(), 0
            for batch in parquet.iter_batches(batch_size=self.batch_rows, columns=columns):
                table = pa.Table.from_batches([batch])
                if rows_fail:
                    prepare_table(table, self.spec, self.source, self.settings, first_row)
                else:
                    normalize_time_column(table, self.spec, self.source)
                first_row += batch.num_rows
            return parquet.metadata.num_rows
        except (pa.ArrowInvalid, OSError) as exc:
            raise SchemaError(f"{self.source}: not a readable Parquet file: {exc}") from exc

    def __iter__(self) -> Iterator[tuple[int, dict[str, int], pa.Table]]:
        """(input rows, dropped by reason, rows to write) per batch; bad input raises SchemaError et al."""
        first_row = 0
        try:
            for batch in self._open().iter_batches(batch_size=self.batch_rows):
                table = pa.Table.from_batches([batch])
                yield prepare_table(table, self.spec, self.source, self.settings, first_row)
                first_row += batch.num_rows
        except (pa.ArrowInvalid, OSError) as exc:
            raise SchemaError(f"{self.source}: not a readable Parquet file: {exc}") from exc


@dataclass
class PreparedFile:
    """One validated file: its rows to write (a table, or `rows` re-read from disk) and what was dropped."""

    key: str
    size_bytes: int
    input_rows: int
    table: pa.Table | None = None
    dropped_by_reason: dict[str, int] = field(default_factory=dict)
    points: int = 0  # lines produced by conversion, known once converted
    rows: ParquetRows | None = None

    def tables(self) -> Iterator[pa.Table]:
        """The rows to write, once: a held table is let go as soon as it has been handed out; a staged
        file's dropped rows are counted as its batches are read."""
        if self.rows is not None:
            for _, dropped, table in self.rows:
                self.dropped_by_reason = merge_counts([self.dropped_by_reason, dropped])
                yield table
        elif self.table is not None:
            table, self.table = self.table, None
            yield table


def scan_file(key: str, size: int, rows: ParquetRows) -> PreparedFile:
    """Check a staged file for bad input, keeping nothing; its dropped rows are counted when converted."""
    return PreparedFile(key=key, size_bytes=size, input_rows=rows.check(), rows=rows)


def prepare_table(
    table: pa.Table, spec: DatasetSpec, source: str, settings: LoadSettings, first_row: int = 0
) -> tuple[int, dict[str, int], pa.Table]:
    """(input rows, dropped rows by reason, rows to write) of a file's table, or of the batch of it that
    starts at file row `first_row`; raises on bad input."""
    check_schema(table.schema, spec, source, strict=settings.enable_validation)
    input_rows = table.num_rows
    table = normalize_time_column(table, spec, source)
    dropped: dict[str, int] = {}
    if settings.enable_validation:
        result = validate_rows(
            table, spec, source, drop_invalid=settings.drop_invalid_records, first_row=first_row
        )
        table, dropped = result.valid, dict(result.dropped_by_reason)
    return input_rows, dropped, table


def whole_batch_chunk_rows(batch_size: int, conversion_chunk_rows: int) -> int:
    """Rows converted per chunk, rounded down to whole write batches (at least one), so chunking never
    splits a batch and the batch count is the same as without chunks."""
    return max(batch_size, conversion_chunk_rows // batch_size * batch_size)


class ChunkedConversion:
    """Line protocol of the prepared files, `chunk_rows` rows at a time; records what conversion saw."""

    def __init__(
        self, files: list[PreparedFile], spec: DatasetSpec, bucket: str, chunk_rows: int, day: date
    ) -> None:
        self.files, self.spec, self.bucket, self.chunk_rows = files, spec, bucket, chunk_rows
        self.timestamps = TimestampSummary(day)

    def __iter__(self) -> Iterator[LineProtocol]:
        for prepared in self.files:
            source = f"s3://{self.bucket}/{prepared.key}"
            for table in prepared.tables():
                for start in range(0, table.num_rows, self.chunk_rows):
                    points = to_line_protocol(table.slice(start, self.chunk_rows), self.spec, source)
                    prepared.points += len(points)
                    if points.skipped_rows:
                        counts = prepared.dropped_by_reason
                        counts[UNREPRESENTABLE] = counts.get(UNREPRESENTABLE, 0) + points.skipped_rows
                    self.timestamps.add(points.timestamps_ns)
                    yield points


def merge_counts(counts: list[dict[str, int]]) -> dict[str, int]:
    """Per-reason counts of several files added up."""
    merged: dict[str, int] = {}
    for item in counts:
        for reason, count in item.items():
            merged[reason] = merged.get(reason, 0) + count
    return merged
