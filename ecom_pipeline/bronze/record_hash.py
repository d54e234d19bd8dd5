"""`_record_hash`: MD5 of a record's canonical form, for change detection between loads.

The hash depends only on the record's values, never on how or when it was read, so the same row hashes the
same in full and incremental loads and in every run. Metadata columns (`_`-prefixed bronze columns) are
never part of it.

Canonical form of a database row (typed Arrow columns), version 1. Columns in ascending order of name
(Unicode code points); for each column `<n>:<name>` followed by the value token, concatenated with no
separator, where `<n>` is the UTF-8 byte length of what follows the colon:

    value token := "N"                      for NULL
                 | "S" <n> ":" <text>       otherwise

Length prefixes make the form unambiguous whatever the text contains, so no escaping is needed. Text forms:
strings as stored; integers in decimal; decimals in plain notation with the column's scale (`12.50`);
booleans `true`/`false`; floats in shortest round-trip form (`0.1`, `1e+20`, `nan`, `inf`); dates
`YYYY-MM-DD`; timestamps `YYYY-MM-DD HH:MM:SS.ffffff`, converted to UTC and suffixed `Z` when
timezone-aware; times `HH:MM:SS.ffffff`; binary as lowercase hex; anything else (lists, structs) as canonical JSON.
Example: {"id": 7, "note": None} -> `2:idS1:74:noteN`.

Canonical form of an API record (a JSON object): `json.dumps(record, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)` encoded as UTF-8, i.e. the record exactly as received, keys sorted, no whitespace.
"""

import hashlib
import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

_TIMESTAMP_UNIT = "us"


def _text_of(column: pa.Array) -> pa.Array:
    """The column's canonical text form, as a string array that keeps the column's nulls."""
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return column.cast(pa.string())
    if pa.types.is_timestamp(kind):
        # Arrow stores zoned timestamps as UTC; formatting them as naive values is 20x faster than strftime.
        naive = column.cast(pa.timestamp(_TIMESTAMP_UNIT, tz=kind.tz)).cast(pa.timestamp(_TIMESTAMP_UNIT))
        text = naive.cast(pa.string())
        return pc.binary_join_element_wise(text, "Z", "") if kind.tz is not None else text
    if pa.types.is_time(kind):
        return column.cast(pa.time64(_TIMESTAMP_UNIT)).cast(pa.string())
    if (
        pa.types.is_integer(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_date(kind)
    ):
        return column.cast(pa.string())
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
        return pa.array([None if v is None else v.hex() for v in column.to_pylist()], pa.string())
    return pa.array(
        [None if v is None else canonical_json(v) for v in column.to_pylist()],
        pa.string(),
    )


def _value_tokens(text: pa.Array) -> pa.Array:
    lengths = pc.binary_length(text).cast(pa.string())
    joined = pc.binary_join_element_wise("S", lengths, ":", text, "")
    return pc.if_else(pc.is_null(text), pa.scalar("N"), joined)


def _name_token(name: str) -> str:
    return f"{len(name.encode('utf-8'))}:{name}"


def canonical_rows(table: pa.Table | pa.RecordBatch) -> pa.Array:
    """The version-1 canonical form of every row, as a binary array (see the module docstring)."""
    if table.num_columns == 0:
        raise ValueError("cannot hash records without columns")
    pieces: list[Any] = []
    for name in sorted(table.column_names):
        column = table.column(name)
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        pieces.append(_name_token(name))
        pieces.append(_value_tokens(_text_of(column)))
    joined = pc.binary_join_element_wise(*pieces, "")
    if not isinstance(joined, pa.Array):  # a single scalar name with a zero-row table
        joined = pa.array([], pa.string())
    return joined.cast(pa.binary())


def hash_rows(table: pa.Table | pa.RecordBatch) -> pa.Array:
    """MD5 hex digest of each row's canonical form."""
    md5 = hashlib.md5
    return pa.array(
        [md5(row, usedforsecurity=False).hexdigest() for row in canonical_rows(table).to_pylist()],
        pa.string(),
    )


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def hash_json_record(record: dict[str, Any]) -> str:
    """MD5 hex digest of an API record's canonical JSON form."""
    return hashlib.md5(canonical_json(record).encode("utf-8"), usedforsecurity=False).hexdigest()
