"""Bounded-memory grouping of extracted rows into Parquet part files, one folder per event date.

Rows arrive in source order, not event-date order (sorting millions of rows in the database would delay
the first row until the sort is done), so each event date keeps an open in-memory Parquet file that its
rows are appended to as row groups. Memory stays bounded however large the table:

- uncompressed rows wait per date until `row_group_rows` are collected, or until all waiting rows pass
  `buffer_bytes`, when the dates holding the most are written out as row groups;
- an open file becomes a finished part when it reaches `part_max_rows` or `part_max_bytes`, or, when all
  open files together pass `open_bytes`, the largest ones are finished early.

So the peak is about `buffer_bytes + open_bytes + part_max_bytes`. A daily incremental window touches few
event dates and yields large files; a first run over a year of event dates yields more, smaller parts.
Each part is a Snappy-compressed Parquet file handed to a sink (the S3 writer) as bytes.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq

from ecom_pipeline.bronze.layout import part_relative_key


@dataclass(frozen=True)
class PartLimits:
    """The sizes that bound the writer's memory (see the module docstring)."""

    part_max_rows: int = 1_000_000
    part_max_bytes: int = 64 << 20
    buffer_bytes: int = 32 << 20
    open_bytes: int = 96 << 20
    row_group_rows: int = 128_000


@dataclass(frozen=True)
class WrittenPart:
    relative_key: str
    event_date: str
    rows: int
    bytes: int


PartSink = Callable[[str, bytes], None]


@dataclass
class _OpenPart:
    number: int
    stream: pa.BufferOutputStream
    writer: pq.ParquetWriter
    rows: int = 0


@dataclass
class PartWriter:
    """Collects rows per event date and emits Parquet parts to `sink(relative_key, body)`."""

    schema: pa.Schema
    sink: PartSink
    limits: PartLimits = PartLimits()
    parts: list[WrittenPart] = field(default_factory=list)
    _waiting: dict[str, list[pa.Table]] = field(default_factory=dict)
    _waiting_rows: dict[str, int] = field(default_factory=dict)
    _waiting_bytes: dict[str, int] = field(default_factory=dict)
    _open: dict[str, _OpenPart] = field(default_factory=dict)
    _next_number: dict[str, int] = field(default_factory=dict)

    def add(self, event_date: str, rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return
        if not rows.schema.equals(self.schema):
            rows = rows.cast(self.schema)
        self._waiting.setdefault(event_date, []).append(rows)
        self._waiting_rows[event_date] = self._waiting_rows.get(event_date, 0) + rows.num_rows
        self._waiting_bytes[event_date] = self._waiting_bytes.get(event_date, 0) + rows.nbytes
        if self._waiting_rows[event_date] >= self.limits.row_group_rows:
            self._write_group(event_date)
        if sum(self._waiting_bytes.values()) > self.limits.buffer_bytes:
            for day in sorted(self._waiting_bytes, key=self._waiting_bytes.get, reverse=True):
                self._write_group(day)
                if sum(self._waiting_bytes.values()) <= self.limits.buffer_bytes // 2:
                    break

    def flush_all(self) -> None:
        for day in sorted(self._waiting):
            self._write_group(day)
        for day in sorted(self._open):
            self._finish(day)

    @property
    def rows_written(self) -> int:
        return sum(p.rows for p in self.parts)

    def _write_group(self, event_date: str) -> None:
        tables = self._waiting.pop(event_date, [])
        self._waiting_rows.pop(event_date, None)
        self._waiting_bytes.pop(event_date, None)
        if not tables:
            return
        table = pa.concat_tables(tables)
        del tables
        part = self._open.get(event_date)
        if part is None:
            number = self._next_number.get(event_date, 0)
            self._next_number[event_date] = number + 1
            stream = pa.BufferOutputStream()
            writer = pq.ParquetWriter(stream, self.schema, compression="snappy", write_statistics=True)
            part = self._open[event_date] = _OpenPart(number, stream, writer)
        part.writer.write_table(table, row_group_size=self.limits.row_group_rows)
        part.rows += table.num_rows
        if part.rows >= self.limits.part_max_rows or part.stream.tell() >= self.limits.part_max_bytes:
            self._finish(event_date)
        elif sum(p.stream.tell() for p in self._open.values()) > self.limits.open_bytes:
            for day in sorted(self._open, key=lambda d: self._open[d].stream.tell(), reverse=True):
                self._finish(day)
                if sum(p.stream.tell() for p in self._open.values()) <= self.limits.open_bytes // 2:
                    break

    def _finish(self, event_date: str) -> None:
        part = self._open.pop(event_date)
        part.writer.close()
        body = part.stream.getvalue().to_pybytes()
        key = part_relative_key(event_date, part.number)
        self.sink(key, body)
        self.parts.append(WrittenPart(key, event_date, part.rows, len(body)))
