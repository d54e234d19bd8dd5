"""PostgreSQL column types -> Arrow types, and how to parse `COPY ... (FORMAT csv)` output into them.

Original columns keep their meaning in Parquet: numeric stays decimal with its precision and scale,
timestamptz stays a UTC-zoned timestamp, dates and times stay dates and times, bytea becomes binary and a
one-dimensional array of a type below (or of text, varchar, char, uuid) becomes a list of that type. Types
without a faithful Arrow equivalent (json/jsonb, uuid, interval, enums, arrays declared with more than one
dimension, arrays of other types, ...) are kept as PostgreSQL's text form, which is lossless and what the
source itself prints (jsonb survives as its JSON text). bytea and arrays are read from COPY as text and
decoded after each batch (pg_text.py).
"""

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.csv as pacsv

from ecom_pipeline.bronze.pg_text import TextDecoding

# numeric without a declared precision: 38 digits, 18 after the point (Athena reads up to 38). A value that
# does not fit fails the parse loudly, naming the column, instead of being rounded.
UNCONSTRAINED_NUMERIC = pa.decimal128(38, 18)

_SIMPLE_TYPES: dict[str, pa.DataType] = {
    "smallint": pa.int16(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "real": pa.float32(),
    "double precision": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp with time zone": pa.timestamp("us", tz="UTC"),
    "timestamp without time zone": pa.timestamp("us"),
    "time without time zone": pa.time64("us"),
}


# Array element types (`udt_name` without its leading underscore) -> `data_type` of the element.
_ELEMENT_TYPES = {
    "int2": "smallint",
    "int4": "integer",
    "int8": "bigint",
    "float4": "real",
    "float8": "double precision",
    "bool": "boolean",
    "date": "date",
    "timestamptz": "timestamp with time zone",
    "timestamp": "timestamp without time zone",
    "numeric": "numeric",
}
_TEXT_ELEMENTS = frozenset({"text", "varchar", "bpchar", "uuid"})


@dataclass(frozen=True)
class SourceColumn:
    """One column of the source table: `information_schema.columns` plus, for arrays, the element type
    (`udt_name`, e.g. `_int4`), the declared dimensions and the type modifier (numeric precision/scale)."""

    name: str
    data_type: str
    numeric_precision: int | None = None
    numeric_scale: int | None = None
    udt_name: str | None = None
    dimensions: int = 0
    type_modifier: int = -1


def _numeric(precision: int | None, scale: int | None) -> pa.DataType:
    if precision is None:
        return UNCONSTRAINED_NUMERIC
    if precision <= 38:
        return pa.decimal128(precision, scale or 0)
    return pa.decimal256(precision, scale or 0)


def _element_type(column: SourceColumn) -> pa.DataType | None:
    """The list element type of a one-dimensional array column; None keeps the array's text form."""
    if column.dimensions > 1 or not column.udt_name or not column.udt_name.startswith("_"):
        return None
    element = column.udt_name[1:]
    if element in _TEXT_ELEMENTS:
        return pa.string()
    if element == "numeric":
        if column.type_modifier < 4:
            return UNCONSTRAINED_NUMERIC
        packed = column.type_modifier - 4  # PostgreSQL packs (precision << 16) | scale, plus 4
        return _numeric(packed >> 16, packed & 0xFFFF)
    name = _ELEMENT_TYPES.get(element)
    return None if name is None else _SIMPLE_TYPES[name]


def arrow_type_for(column: SourceColumn) -> pa.DataType:
    if column.data_type == "numeric":
        return _numeric(column.numeric_precision, column.numeric_scale)
    if column.data_type == "bytea":
        return pa.binary()
    if column.data_type == "ARRAY":
        element = _element_type(column)
        return pa.string() if element is None else pa.list_(element)
    return _SIMPLE_TYPES.get(column.data_type, pa.string())


def text_decodings(schema: pa.Schema) -> dict[str, TextDecoding]:
    """The columns COPY prints as text that become another type after reading (bytea, arrays)."""
    decodings = {}
    for field in schema:
        if pa.types.is_binary(field.type):
            decodings[field.name] = TextDecoding("bytea", field.type)
        elif pa.types.is_list(field.type):
            decodings[field.name] = TextDecoding("list", field.type)
    return decodings


def copy_read_schema(schema: pa.Schema) -> pa.Schema:
    """The schema the CSV reader parses: `schema` with the decoded columns read as text."""
    decoded = text_decodings(schema)
    return pa.schema([pa.field(f.name, pa.string()) if f.name in decoded else f for f in schema])


def arrow_schema_for(columns: list[SourceColumn]) -> pa.Schema:
    if not columns:
        raise ValueError("the source table has no columns (or does not exist)")
    return pa.schema([pa.field(c.name, arrow_type_for(c)) for c in columns])


def csv_read_options(schema: pa.Schema, block_size: int = 8 << 20) -> pacsv.ReadOptions:
    return pacsv.ReadOptions(column_names=schema.names, block_size=block_size, use_threads=True)


def csv_parse_options() -> pacsv.ParseOptions:
    # Text and JSON values may contain newlines inside quotes.
    return pacsv.ParseOptions(newlines_in_values=True)


def csv_convert_options(schema: pa.Schema) -> pacsv.ConvertOptions:
    """COPY csv writes NULL as an unquoted empty field and the empty string as `""`: keep them apart."""
    return pacsv.ConvertOptions(
        column_types={field.name: field.type for field in schema},
        true_values=["t"],
        false_values=["f"],
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
    )
