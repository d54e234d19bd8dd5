"""Bounded-memory grouping of extracted rows into Parquet part files, one folder per event date.

Rows arrive in source order, not event-date order (sorting millions of rows in the database would cost more
than it saves), so rows are buffered per event date and written as complete Parquet files: a date's buffer
becomes a part when it reaches `part_max_rows`, and every buffer is written out when the total buffered
size passes `max_buffer_bytes`. Memory therefore stays under roughly the buffer budget plus one serialized
part, however large the table. Each part is a self-contained Snappy Parquet file with row groups of
`row_group_rows`, handed to a sink (the S3 writer) as bytes.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq

from ecom_pipeline.bronze.layout import part_relative_key


@dataclass(frozen=True)
class WrittenPart:
    relative_key: str
    event_date: str
    rows: int
    bytes: int


PartSink = Callable[[str, bytes], None]


def parquet_bytes(table: pa.Table, row_group_rows: int) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(
        table,
        sink,
        compression="snappy",
        row_group_size=row_group_rows,
        write_statistics=True,
    )
    return sink.getvalue().to_pybytes()


@dataclass
class PartWriter:
    """Collects rows per event date and emits Parquet parts to `sink(relative_key, body)`."""

    schema: pa.Schema
    sink: PartSink
    part_max_rows: int = 1_000_000
    max_buffer_bytes: int = 256 << 20
    row_group_rows: int = 128_000
    parts: list[WrittenPart] = field(default_factory=list)
    _buffers: dict[str, list[pa.Table]] = field(default_factory=dict)
    _buffered_rows: dict[str, int] = field(default_factory=dict)
    _buffered_bytes: int = 0
    _next_part: dict[str, int] = field(default_factory=dict)

    def add(self, event_date: str, rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return
        if not rows.schema.equals(self.schema):
            rows = rows.cast(self.schema)
        self._buffers.setdefault(event_date, []).append(rows)
        self._buffered_rows[event_date] = self._buffered_rows.get(event_date, 0) + rows.num_rows
        self._buffered_bytes += rows.nbytes
        if self._buffered_rows[event_date] >= self.part_max_rows:
            self._flush(event_date)
        if self._buffered_bytes >= self.max_buffer_bytes:
            self.flush_all()

    def flush_all(self) -> None:
        for event_date in sorted(self._buffers):
            self._flush(event_date)

    @property
    def rows_written(self) -> int:
        return sum(p.rows for p in self.parts)

    @property
    def bytes_written(self) -> int:
        return sum(p.bytes for p in self.parts)

    def _flush(self, event_date: str) -> None:
        tables = self._buffers.pop(event_date, [])
        self._buffered_rows.pop(event_date, None)
        if not tables:
            return
        table = pa.concat_tables(tables)
        del tables
        self._buffered_bytes = sum(t.nbytes for ts in self._buffers.values() for t in ts)
        offset = 0
        while offset < table.num_rows:
            chunk = table.slice(offset, self.part_max_rows)
            offset += chunk.num_rows
            number = self._next_part.get(event_date, 0)
            self._next_part[event_date] = number + 1
            key = part_relative_key(event_date, number)
            body = parquet_bytes(chunk, self.row_group_rows)
            self.sink(key, body)
            self.parts.append(WrittenPart(key, event_date, chunk.num_rows, len(body)))
