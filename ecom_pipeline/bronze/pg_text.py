"""PostgreSQL's text output of `bytea` and one-dimensional arrays, decoded into Arrow binary and list columns.

COPY prints every value with its type's output function; the CSV reader reads these columns as strings and
`decode_columns` turns them into their Parquet types after each batch:

- `bytea` under `bytea_output = 'hex'` (pinned by the extraction session): `\\x` followed by two hex digits
  per byte.
- Arrays: `{1,2,NULL}`; an element is double-quoted when it is empty, is `NULL` in any case, or contains
  braces, a comma, a quote, a backslash or whitespace, and inside quotes `"` and `\\` are backslash-escaped.
  An unquoted `NULL` is a null element. A value with more than one dimension (`{{1,2},{3,4}}`) or with
  explicit bounds (`[0:1]={1,2}`) does not fit a list column and fails the conversion, naming the column.
"""

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

_QUOTE = '"'
_BACKSLASH = "\\"


def decode_bytea_hex(text: str) -> bytes:
    """`\\x0aff` -> b'\\x0a\\xff'."""
    if not text.startswith("\\x"):
        raise ValueError(f"not a hex bytea value: {text[:20]!r}")
    return bytes.fromhex(text[2:])


def parse_array_literal(text: str) -> list[str | None]:
    """The elements of a one-dimensional array literal as their text (None for NULL)."""
    if not text.startswith("{") or not text.endswith("}"):
        hint = " (explicit bounds)" if text.startswith("[") else ""
        raise ValueError(f"not a one-dimensional array literal{hint}: {text[:40]!r}")
    body = text[1:-1]
    if not body:
        return []
    elements: list[str | None] = []
    position, end = 0, len(body)
    while True:
        if position < end and body[position] == "{":
            raise ValueError(f"a nested (multi-dimensional) array does not fit a list: {text[:40]!r}")
        if position < end and body[position] == _QUOTE:
            value, position = _quoted(body, position + 1, text)
            elements.append(value)
        else:
            stop = body.find(",", position)
            stop = end if stop < 0 else stop
            raw = body[position:stop]
            if not raw or any(c in raw for c in '{}"\\'):
                raise ValueError(f"malformed array literal: {text[:40]!r}")
            elements.append(None if raw.upper() == "NULL" else raw)
            position = stop
        if position == end:
            return elements
        if body[position] != ",":
            raise ValueError(f"malformed array literal: {text[:40]!r}")
        position += 1


def _quoted(body: str, position: int, text: str) -> tuple[str, int]:
    """The quoted element starting after its opening quote, and the position after its closing quote."""
    chars: list[str] = []
    while position < len(body):
        char = body[position]
        if char == _BACKSLASH:
            if position + 1 >= len(body):
                break
            chars.append(body[position + 1])
            position += 2
        elif char == _QUOTE:
            return "".join(chars), position + 1
        else:
            chars.append(char)
            position += 1
    raise ValueError(f"unterminated quoted element in array literal: {text[:40]!r}")


@dataclass(frozen=True)
class TextDecoding:
    """How one column read as text becomes its Parquet type: `bytea` or `list` (of `target.value_type`)."""

    kind: str
    target: pa.DataType


def decode_bytea_column(column: pa.Array) -> pa.Array:
    return pa.array([None if v is None else decode_bytea_hex(v) for v in column.to_pylist()], pa.binary())


def decode_array_column(column: pa.Array, target: pa.ListType) -> pa.Array:
    """Array literals -> a list column; elements are converted from their text by Arrow's casts."""
    offsets = [0]
    flat: list[str | None] = []
    valid: list[bool] = []
    for value in column.to_pylist():
        if value is not None:
            flat.extend(parse_array_literal(value))
        offsets.append(len(flat))
        valid.append(value is not None)
    values = _elements(pa.array(flat, pa.string()), target.value_type)
    mask = pa.array([not v for v in valid], pa.bool_())
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values, type=target, mask=mask)


def _elements(text: pa.Array, value_type: pa.DataType) -> pa.Array:
    if pa.types.is_boolean(value_type):
        # PostgreSQL prints booleans as t / f.
        return pc.equal(text, "t")
    if pa.types.is_string(value_type):
        return text
    return pc.cast(text, value_type)


def decode_columns(table: pa.Table, decodings: dict[str, TextDecoding], where: str) -> pa.Table:
    """`table` with each column of `decodings` (read as text) converted; fails naming the column."""
    for name, decoding in decodings.items():
        index = table.schema.get_field_index(name)
        column = table.column(index).combine_chunks()
        try:
            if decoding.kind == "bytea":
                converted = decode_bytea_column(column)
            else:
                converted = decode_array_column(column, decoding.target)
        except (ValueError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ValueError(
                f"{where}: cannot convert COPY output: column {name!r} (#{index}): {exc}"
            ) from None
        table = table.set_column(index, pa.field(name, decoding.target), converted)
    return table
