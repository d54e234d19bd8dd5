"""API records (JSON objects) -> an Arrow table for the bronze writer, with the window applied client-side.

The payments/shipments APIs may ignore `since`, so every record is checked against the window here as well; a
record whose cursor is missing or not ISO-8601 cannot be placed in any window and is rejected with a reason.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from ecom_pipeline.bronze.record_hash import canonical_json, hash_json_record


@dataclass
class WindowedRecords:
    records: list[dict[str, Any]] = field(default_factory=list)
    outside_window: int = 0
    rejected: list[str] = field(default_factory=list)  # reasons, one per rejected record


def parse_cursor(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def filter_window(
    records: list[dict[str, Any]],
    cursor_column: str,
    start: datetime | None,
    end: datetime,
    into: WindowedRecords,
    where: str,
) -> WindowedRecords:
    """Keep records with start <= cursor < end; count the rest; reject records without a usable cursor."""
    for position, record in enumerate(records):
        cursor = parse_cursor(record.get(cursor_column))
        if cursor is None:
            into.rejected.append(
                f"{where} record {position} (id={record.get('id')!r}): field {cursor_column!r} "
                f"is {record.get(cursor_column)!r}, not an ISO-8601 timestamp"
            )
        elif (start is not None and cursor < start) or cursor >= end:
            into.outside_window += 1
        else:
            into.records.append(record)
    return into


def _column(values: list[Any]) -> pa.Array:
    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Mixed JSON types in one field: keep each value's canonical JSON text.
        return pa.array([None if v is None else canonical_json(v) for v in values], pa.string())
    # An all-null field has no type; Parquet readers (Athena) need one.
    return array.cast(pa.string()) if pa.types.is_null(array.type) else array


def records_table(records: list[dict[str, Any]]) -> tuple[pa.Table, pa.Array]:
    """The records as a table (one column per key seen, in first-seen order) and their `_record_hash`es."""
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    table = pa.table({name: _column([r.get(name) for r in records]) for name in names})
    hashes = pa.array([hash_json_record(r) for r in records], pa.string())
    return table, hashes
