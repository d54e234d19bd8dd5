"""PostgreSQL column types -> Arrow types, and how to parse `COPY ... (FORMAT csv)` output into them.

Original columns keep their meaning in Parquet: numeric stays decimal with its precision and scale,
timestamptz stays a UTC-zoned timestamp, dates and times stay dates and times. Types without a faithful Arrow
equivalent (json/jsonb, uuid, interval, arrays, enums, bytea, ...) are kept as PostgreSQL's text form, which is
lossless and what the source itself prints (jsonb survives as its JSON text).
"""

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.csv as pacsv

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


@dataclass(frozen=True)
class SourceColumn:
    """One row of `information_schema.columns` for the source table."""

    name: str
    data_type: str
    numeric_precision: int | None = None
    numeric_scale: int | None = None


def arrow_type_for(column: SourceColumn) -> pa.DataType:
    if column.data_type == "numeric":
        if column.numeric_precision is None:
            return UNCONSTRAINED_NUMERIC
        scale = column.numeric_scale or 0
        if column.numeric_precision <= 38:
            return pa.decimal128(column.numeric_precision, scale)
        return pa.decimal256(column.numeric_precision, scale)
    return _SIMPLE_TYPES.get(column.data_type, pa.string())


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
