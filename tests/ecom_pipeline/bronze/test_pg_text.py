"""bytea hex and array literals, as COPY prints them, decoded into Arrow binary and list columns."""

from decimal import Decimal

import pyarrow as pa
import pytest

from ecom_pipeline.bronze.arrow_types import SourceColumn, arrow_type_for, copy_read_schema, text_decodings
from ecom_pipeline.bronze.pg_text import (
    decode_bytea_hex,
    decode_columns,
    parse_array_literal,
)


def test_bytea_hex_decodes_to_its_bytes() -> None:
    assert decode_bytea_hex("\\x") == b""
    assert decode_bytea_hex("\\x00ff0a5c") == b"\x00\xff\n\\"
    with pytest.raises(ValueError, match="not a hex bytea"):
        decode_bytea_hex("abc")


@pytest.mark.parametrize(
    ("literal", "elements"),
    [
        ("{}", []),
        ("{1,2,NULL}", ["1", "2", None]),
        ('{a,"b,c","NULL",null,""}', ["a", "b,c", "NULL", None, ""]),
        ('{"say \\"hi\\"","back\\\\slash","x y","{brace}"}', ['say "hi"', "back\\slash", "x y", "{brace}"]),
        ('{"2025-06-15 10:00:00+00",NULL}', ["2025-06-15 10:00:00+00", None]),
        ("{1.50,-2,NaN}", ["1.50", "-2", "NaN"]),
    ],
)
def test_array_literals_parse_to_their_elements(literal: str, elements: list) -> None:
    assert parse_array_literal(literal) == elements


@pytest.mark.parametrize(
    ("literal", "message"),
    [
        ("{{1,2},{3,4}}", "nested"),
        ("[0:1]={1,2}", "explicit bounds"),
        ('{"open}', "unterminated"),
        ("{a,b", "not a one-dimensional"),
        ('{a"b}', "malformed"),
        ('{"a"b}', "malformed"),
    ],
)
def test_literals_that_do_not_fit_a_list_are_refused(literal: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_array_literal(literal)


def test_catalog_types_map_bytea_and_one_dimensional_arrays() -> None:
    def arrow(data_type: str, udt: str | None = None, dims: int = 0, typmod: int = -1) -> pa.DataType:
        return arrow_type_for(
            SourceColumn("c", data_type, udt_name=udt, dimensions=dims, type_modifier=typmod)
        )

    assert arrow("bytea") == pa.binary()
    assert arrow("ARRAY", "_int4", 1) == pa.list_(pa.int32())
    assert arrow("ARRAY", "_int8", 0) == pa.list_(pa.int64())  # CREATE TABLE AS records no dimensions
    assert arrow("ARRAY", "_text", 1) == pa.list_(pa.string())
    assert arrow("ARRAY", "_bool", 1) == pa.list_(pa.bool_())
    assert arrow("ARRAY", "_numeric", 1) == pa.list_(pa.decimal128(38, 18))
    assert arrow("ARRAY", "_numeric", 1, (10 << 16 | 2) + 4) == pa.list_(pa.decimal128(10, 2))
    assert arrow("ARRAY", "_timestamptz", 1) == pa.list_(pa.timestamp("us", tz="UTC"))
    # Declared nested, or elements without a faithful list type: the text form, as documented.
    assert arrow("ARRAY", "_int4", 2) == pa.string()
    assert arrow("ARRAY", "_jsonb", 1) == pa.string()
    assert arrow("ARRAY", "_interval", 1) == pa.string()


def test_decode_columns_converts_text_read_columns_and_names_a_bad_one() -> None:
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("blob", pa.binary()),
            ("ints", pa.list_(pa.int32())),
            ("amounts", pa.list_(pa.decimal128(10, 2))),
            ("flags", pa.list_(pa.bool_())),
        ]
    )
    assert set(text_decodings(schema)) == {"blob", "ints", "amounts", "flags"}
    read = copy_read_schema(schema)
    assert [f.type for f in read] == [pa.int64(), pa.string(), pa.string(), pa.string(), pa.string()]
    raw = pa.table(
        [
            pa.array([1, 2, 3]),
            pa.array(["\\x0001", None, "\\x"]),
            pa.array(["{1,NULL,3}", None, "{}"]),
            pa.array(["{1.50,-2.25}", "{NULL}", None]),
            pa.array(["{t,f,NULL}", "{}", None]),
        ],
        schema=read,
    )
    decoded = decode_columns(raw, text_decodings(schema), "entity x")
    assert decoded.schema == schema
    assert decoded.to_pylist() == [
        {"id": 1, "blob": b"\x00\x01", "ints": [1, None, 3], "amounts": [Decimal("1.50"), Decimal("-2.25")],
         "flags": [True, False, None]},
        {"id": 2, "blob": None, "ints": None, "amounts": [None], "flags": []},
        {"id": 3, "blob": b"", "ints": [], "amounts": None, "flags": None},
    ]  # fmt: skip
    nested = raw.set_column(2, pa.field("ints", pa.string()), pa.array(["{{1},{2}}", None, None]))
    with pytest.raises(
        ValueError, match=r"entity x: cannot convert COPY output: column 'ints' \(#2\): .*nested"
    ):
        decode_columns(nested, text_decodings(schema), "entity x")
