"""Schema validation of one processed Parquet file against its dataset mapping.

A schema problem is bad input: retrying cannot fix it, so callers fail without retry.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ecom_pipeline.energy_series.datasets import DatasetSpec

UTC_NS = pa.timestamp("ns", tz="UTC")


class SchemaError(ValueError):
    """A file does not have the columns or types its dataset needs; the message names the file and column."""


def _is_numeric(type_: pa.DataType) -> bool:
    return pa.types.is_integer(type_) or pa.types.is_floating(type_) or pa.types.is_decimal(type_)


def _is_tag_type(type_: pa.DataType) -> bool:
    if pa.types.is_dictionary(type_):
        type_ = type_.value_type
    return pa.types.is_string(type_) or pa.types.is_large_string(type_) or pa.types.is_integer(type_)


def check_schema(schema: pa.Schema, spec: DatasetSpec, source: str, *, strict: bool = True) -> None:
    """Raise SchemaError unless `schema` carries what `spec` needs.

    strict (validation enabled): every mapped column present with a usable type. Not strict: only what
    conversion cannot do without, the time column and at least one field.
    """
    names = set(schema.names)
    if spec.time_column not in names:
        raise SchemaError(f"{source}: missing required column {spec.time_column!r} (dataset {spec.name})")
    if strict:
        missing = [column for column in spec.required_columns if column not in names]
        if missing:
            raise SchemaError(
                f"{source}: missing required column(s) {', '.join(map(repr, missing))} (dataset {spec.name})"
            )
    elif not any(field in names for field in spec.fields):
        raise SchemaError(
            f"{source}: none of the fields {', '.join(spec.fields)} present (dataset {spec.name})"
        )

    time_type = schema.field(spec.time_column).type
    if not (pa.types.is_timestamp(time_type) or pa.types.is_date(time_type) or pa.types.is_string(time_type)):
        raise SchemaError(f"{source}: column {spec.time_column!r} has type {time_type}, expected a timestamp")
    if not strict:
        return
    for field in spec.fields:
        if not _is_numeric(schema.field(field).type):
            raise SchemaError(
                f"{source}: field column {field!r} has type {schema.field(field).type}, expected numeric"
            )
    for tag in spec.tags:
        if not _is_tag_type(schema.field(tag).type):
            raise SchemaError(
                f"{source}: tag column {tag!r} has type {schema.field(tag).type}, expected string"
            )


def normalize_time_column(table: pa.Table, spec: DatasetSpec, source: str) -> pa.Table:
    """The table with its time column as UTC nanoseconds; naive timestamps are taken to be UTC already."""
    column = table.column(spec.time_column)
    if column.type == UTC_NS:
        return table
    try:
        if pa.types.is_string(column.type):
            parsed = pd.to_datetime(column.to_pandas(), utc=True, format="ISO8601")
            converted = pa.chunked_array([pa.array(parsed, type=UTC_NS)])
        elif pa.types.is_timestamp(column.type) and column.type.tz is None:
            converted = pc.assume_timezone(pc.cast(column, pa.timestamp("ns")), "UTC")
        else:
            converted = pc.cast(column, UTC_NS)
    except (pa.ArrowInvalid, ValueError) as exc:
        raise SchemaError(
            f"{source}: column {spec.time_column!r} cannot be read as UTC timestamps: {exc}"
        ) from exc
    index = table.schema.get_field_index(spec.time_column)
    return table.set_column(index, pa.field(spec.time_column, UTC_NS), converted)
