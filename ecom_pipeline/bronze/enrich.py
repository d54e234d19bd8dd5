"""Bronze metadata columns and event dates, added to each extracted batch."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

INGESTION_TS = "_ingestion_ts"
SOURCE_SYSTEM = "_source_system"
RECORD_HASH = "_record_hash"
INGESTION_ID = "_ingestion_id"
METADATA_FIELDS = (
    pa.field(INGESTION_TS, pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field(SOURCE_SYSTEM, pa.string(), nullable=False),
    pa.field(RECORD_HASH, pa.string(), nullable=False),
    pa.field(INGESTION_ID, pa.string(), nullable=False),
)
METADATA_COLUMNS = tuple(f.name for f in METADATA_FIELDS)


@dataclass(frozen=True)
class IngestionStamp:
    """What every row of one ingestion carries besides its hash."""

    ingestion_id: str
    ingestion_ts: datetime
    source_system: str


def check_no_reserved_columns(names: list[str], where: str) -> None:
    clash = sorted(set(names) & set(METADATA_COLUMNS))
    if clash:
        raise ValueError(f"{where}: source columns {clash} collide with bronze metadata columns")


def bronze_schema(source_schema: pa.Schema) -> pa.Schema:
    return pa.schema(list(source_schema) + list(METADATA_FIELDS))


def with_metadata(batch: pa.Table, record_hashes: pa.Array, stamp: IngestionStamp) -> pa.Table:
    rows = batch.num_rows
    return (
        batch.append_column(
            METADATA_FIELDS[0], pa.repeat(pa.scalar(stamp.ingestion_ts, METADATA_FIELDS[0].type), rows)
        )
        .append_column(METADATA_FIELDS[1], pa.repeat(pa.scalar(stamp.source_system), rows))
        .append_column(METADATA_FIELDS[2], record_hashes)
        .append_column(METADATA_FIELDS[3], pa.repeat(pa.scalar(stamp.ingestion_id), rows))
    )


def _as_dates(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Dates (UTC) of a date, timestamp or ISO-8601 string column; unparseable strings become null."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    kind = column.type
    if pa.types.is_date32(kind):
        return column
    if pa.types.is_timestamp(kind):
        # Storage is UTC for zoned timestamps; dropping the zone keeps the UTC wall clock.
        return column.cast(pa.timestamp(kind.unit)).cast(pa.date32())
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pa.array([_iso_date(v) for v in column.to_pylist()], pa.date32())
    if pa.types.is_null(kind):
        return pa.nulls(len(column), pa.date32())
    raise ValueError(f"event-date column of type {kind} is not a date, timestamp or ISO string")


def _iso_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
    return parsed.date()


def event_dates(batch: pa.Table, event_column: str | None, cursor_column: str, fallback: date) -> pa.Array:
    """Business date of each row: the event-date column, else the change date, else the partition date."""
    candidates = []
    if event_column is not None:
        candidates.append(_as_dates(batch.column(event_column)))
    if cursor_column in batch.column_names:
        candidates.append(_as_dates(batch.column(cursor_column)))
    candidates.append(pa.scalar(fallback, pa.date32()))
    result = pc.coalesce(*candidates)
    if isinstance(result, pa.Scalar):
        return pa.repeat(result, batch.num_rows)
    return result


def split_by_event_date(batch: pa.Table, dates: pa.Array) -> Iterator[tuple[str, pa.Table]]:
    """(`YYYY-MM-DD`, rows) per distinct event date, in date order.

    Each group is its own copy rather than a slice of the batch: the writer keeps groups of different dates
    for different lengths of time, and a slice would keep its whole parent batch alive.
    """
    if batch.num_rows == 0:
        return
    days = dates.cast(pa.int32()).to_numpy(zero_copy_only=False)
    order = np.argsort(days, kind="stable")
    sorted_days = days[order]
    boundaries = np.flatnonzero(np.diff(sorted_days)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [len(sorted_days)]))
    for start, end in zip(starts, ends, strict=True):
        day = date.fromordinal(date(1970, 1, 1).toordinal() + int(sorted_days[start]))
        yield day.isoformat(), batch.take(pa.array(order[start:end]))
