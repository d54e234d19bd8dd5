"""Declared field types, and the cast that makes every file write them.

InfluxDB keeps one type per field (per shard): a file whose column arrives as integers would write `123i`
where earlier files wrote floats, and the server refuses those points ("field type conflict"). Casting
each field column to its dataset's declared type first means a column's physical type never reaches the
server; a value that cannot be cast (a fraction for an integer field, text for a number) becomes null and
its row is dropped with reason `uncastable_field`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

FLOAT, INTEGER, BOOLEAN, STRING = "float", "integer", "boolean", "string"
ARROW_TYPES = {FLOAT: pa.float64(), INTEGER: pa.int64(), BOOLEAN: pa.bool_(), STRING: pa.string()}


def _cast_value(value: object, declared: str) -> object:
    """One value cast exactly, or None when it cannot be."""
    try:
        if declared == FLOAT:
            return float(value)  # type: ignore[arg-type]
        if declared == INTEGER:
            number = float(value) if isinstance(value, str) else value
            as_int = int(number)  # type: ignore[call-overload]
            return as_int if as_int == number else None
        if declared == BOOLEAN:
            return value if isinstance(value, bool) else None
        return str(value)
    except (TypeError, ValueError, OverflowError):
        return None


def cast_column(column: pa.Array | pa.ChunkedArray, declared: str) -> tuple[pa.Array, np.ndarray]:
    """(column as the declared type, mask of values that could not be cast and became null)."""
    target = ARROW_TYPES[declared]
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    if column.type == target:
        return column, np.zeros(len(column), dtype=bool)
    try:
        return pc.cast(column, target, safe=True), np.zeros(len(column), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    values = column.to_pylist()  # the slow path only for a column that holds an uncastable value
    cast = [None if value is None else _cast_value(value, declared) for value in values]
    failed = np.array([v is not None and c is None for v, c in zip(values, cast, strict=True)], dtype=bool)
    return pa.array(cast, target), failed


def cast_fields(table: pa.Table, field_types: dict[str, str]) -> tuple[pa.Table, dict[str, np.ndarray]]:
    """The table with each present field cast to its declared type, and per field the uncastable mask."""
    failed: dict[str, np.ndarray] = {}
    for name, declared in field_types.items():
        if name not in table.column_names:
            continue
        cast, mask = cast_column(table.column(name), declared)
        index = table.schema.get_field_index(name)
        table = table.set_column(index, pa.field(name, cast.type), cast)
        failed[name] = mask
    return table, failed
