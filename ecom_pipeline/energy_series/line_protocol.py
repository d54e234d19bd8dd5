"""Column-wise conversion of an Arrow table into InfluxDB line protocol.

Every step is an Arrow compute kernel over whole columns, so no Python object is built per row: the
result is one contiguous UTF-8 buffer with an offset per line, and a write batch is a zero-copy slice of it.
Tag values are escaped once per distinct value (tags are low-cardinality).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecom_pipeline.energy_series.datasets import DatasetSpec
from ecom_pipeline.energy_series.field_types import cast_fields
from ecom_pipeline.energy_series.schema import normalize_time_column

# Line protocol escaping: measurement names escape comma and space; tag keys, tag values and field keys
# escape comma, equals sign and space; a backslash is doubled so a trailing one cannot escape a separator.
_TAG_SPECIALS = r"([,= \\])"


def escape_measurement(name: str) -> str:
    return name.replace("\\", "\\\\").replace(",", r"\,").replace(" ", r"\ ")


def escape_key(name: str) -> str:
    """Escape a tag key or field key."""
    return name.replace("\\", "\\\\").replace(",", r"\,").replace("=", r"\=").replace(" ", r"\ ")


def escape_tag_values(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Escape tag values column-wise (nulls stay null)."""
    return pc.replace_substring_regex(values, _TAG_SPECIALS, r"\\\1")


@dataclass(frozen=True)
class LineProtocol:
    """Serialised points: line i is data[offsets[i]:offsets[i + 1]], each ending in a newline."""

    data: memoryview
    offsets: np.ndarray
    timestamps_ns: np.ndarray
    skipped_rows: int

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def lines(self, start: int, stop: int) -> bytes:
        """Lines [start, stop) as one payload."""
        stop = min(stop, len(self))
        return bytes(self.data[self.offsets[start] : self.offsets[stop]])

    def line(self, index: int) -> bytes:
        return self.lines(index, index + 1)

    def batches(self, batch_size: int) -> list[tuple[int, int]]:
        """(start, stop) line ranges of at most batch_size lines."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        return [(start, min(start + batch_size, len(self))) for start in range(0, len(self), batch_size)]


def _tag_fragments(table: pa.Table, tag: str) -> pa.Array:
    """`,key=value` per row; null where the value is null or empty (InfluxDB has no empty tag values)."""
    column = table.column(tag).combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    encoded = pc.dictionary_encode(pc.cast(column, pa.string()))
    dictionary = encoded.dictionary
    fragments = pc.binary_join_element_wise(f",{escape_key(tag)}=", escape_tag_values(dictionary), "")
    fragments = pc.if_else(pc.equal(pc.utf8_length(dictionary), 0), pa.scalar(None, pa.string()), fragments)
    return pc.take(fragments, encoded.indices)


def _field_text(column: pa.Array) -> pa.Array:
    """Line-protocol text of each value; null where the value cannot be written (null, NaN, inf)."""
    type_ = column.type
    if pa.types.is_floating(type_) or pa.types.is_decimal(type_):
        column = pc.cast(column, pa.float64())
        finite = pc.is_finite(column)
        return pc.cast(pc.if_else(finite, column, pa.scalar(None, pa.float64())), pa.string())
    if pa.types.is_integer(type_):
        return pc.binary_join_element_wise(pc.cast(column, pa.string()), "i", "")
    if pa.types.is_boolean(type_):
        return pc.cast(column, pa.string())
    text = pc.cast(column, pa.string())
    quoted = pc.replace_substring(pc.replace_substring(text, "\\", "\\\\"), '"', '\\"')
    return pc.binary_join_element_wise('"', quoted, '"', "")


def _field_parts(table: pa.Table, spec: DatasetSpec) -> tuple[list[pa.Array | str], pa.Array | None]:
    """Join parts of the field set, and a per-row has-any-field mask when some values are left out.

    Without left-out values the parts are `k1=`, v1, `,k2=`, v2, ... joined straight into the line; otherwise
    each field becomes a nullable `,k=v` fragment, fragments are concatenated and the leading comma trimmed.
    """
    names = [name for name in spec.fields if name in table.column_names]
    texts = [_field_text(table.column(name).combine_chunks()) for name in names]
    if all(text.null_count == 0 for text in texts):
        parts: list[pa.Array | str] = []
        for position, (name, text) in enumerate(zip(names, texts, strict=True)):
            parts += [("," if position else "") + f"{escape_key(name)}=", text]
        return parts, None
    # Not null_handling="skip": pyarrow 26 drops rows whose inputs are all null from the result.
    fragments = [
        pc.binary_join_element_wise(f",{escape_key(name)}=", text, "")
        for name, text in zip(names, texts, strict=True)
    ]
    joined = pc.binary_join_element_wise(*fragments, "", null_handling="replace", null_replacement="")
    # Every fragment starts with a comma and an escaped key cannot, so trimming commas drops exactly one.
    return [pc.utf8_ltrim(joined, ",")], pc.greater(pc.utf8_length(joined), 0)


def to_line_protocol(table: pa.Table, spec: DatasetSpec, source: str = "<table>") -> LineProtocol:
    """Serialise `table` as points of `spec.measurement`, timestamps in UTC nanoseconds.

    Fields are written as their declared type (a value that cannot be cast is left out, like a null).
    Tags or fields missing from the table are left out; null/NaN/inf fields and null or empty tags are
    left out of their line; rows with no timestamp or no writable field are skipped and counted (run
    `validate_rows` first to drop and count them by reason instead).
    """
    table = normalize_time_column(table, spec, source).combine_chunks()
    table, _ = cast_fields(table, spec.field_types)  # the declared type, whatever the column's type
    rows = table.num_rows
    tags = [_tag_fragments(table, tag) for tag in spec.tags if tag in table.column_names]
    fields, has_field = _field_parts(table, spec)
    timestamps = pc.cast(table.column(spec.time_column).combine_chunks(), pa.int64())

    writable = pc.is_valid(timestamps)
    if has_field is not None:
        writable = pc.and_(writable, has_field)
    if not fields:
        writable = pa.array(np.zeros(rows, dtype=bool))
    parts = [
        escape_measurement(spec.measurement),
        *tags,
        " ",
        *fields,
        " ",
        pc.cast(timestamps, pa.string()),
        "\n",
    ]
    lines = pc.binary_join_element_wise(*parts, "", null_handling="replace", null_replacement="")
    skipped = rows - int(pc.sum(writable).as_py() or 0)
    if skipped:
        lines = lines.filter(writable)
        timestamps = timestamps.filter(writable)
    lines = pc.cast(lines, pa.large_string())
    _, offsets_buffer, data_buffer = lines.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[lines.offset : lines.offset + len(lines) + 1]
    data = memoryview(data_buffer) if data_buffer is not None else memoryview(b"")
    return LineProtocol(
        data=data,
        offsets=offsets,
        timestamps_ns=timestamps.to_numpy(zero_copy_only=False),
        skipped_rows=skipped,
    )
