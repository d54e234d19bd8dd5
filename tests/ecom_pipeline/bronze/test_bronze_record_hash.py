import hashlib
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pyarrow as pa

from ecom_pipeline.bronze.record_hash import canonical_rows, hash_json_record, hash_rows


def test_canonical_form_is_the_documented_example():
    table = pa.table({"note": pa.array([None], pa.string()), "id": [7]})
    assert canonical_rows(table).to_pylist() == [b"2:idS1:74:noteN"]
    assert hash_rows(table).to_pylist() == [hashlib.md5(b"2:idS1:74:noteN").hexdigest()]


def test_length_prefixes_keep_shifted_values_apart():
    table = pa.table({"a": ["x", "xS1:y"], "b": ["yS1:", None]})
    first, second = hash_rows(table).to_pylist()
    assert first != second


def test_null_and_empty_string_hash_differently():
    assert len(set(hash_rows(pa.table({"s": pa.array([None, ""], pa.string())})).to_pylist())) == 2


def test_hash_ignores_column_order_and_batching():
    table = pa.table({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    reordered = table.select(["b", "a"])
    assert hash_rows(table).to_pylist() == hash_rows(reordered).to_pylist()
    sliced = hash_rows(table.slice(1, 2)).to_pylist()
    assert sliced == hash_rows(table).to_pylist()[1:]


def test_typed_values_have_stable_text_forms():
    table = pa.table(
        {
            "amount": pa.array([Decimal("12.50")], pa.decimal128(12, 2)),
            "at": pa.array([datetime(2024, 1, 15, 10, 30, tzinfo=UTC)], pa.timestamp("us", tz="UTC")),
            "day": pa.array([date(2024, 1, 15)], pa.date32()),
            "flag": [True],
            "t": pa.array([time(10, 30)], pa.time64("us")),
            "blob": pa.array([b"\x00\xff"], pa.binary()),
        }
    )
    row = canonical_rows(table).to_pylist()[0].decode()
    assert "6:amountS5:12.50" in row
    assert "2:atS27:2024-01-15 10:30:00.000000Z" in row
    assert "3:dayS10:2024-01-15" in row
    assert "4:flagS4:true" in row
    assert "1:tS15:10:30:00.000000" in row
    assert "4:blobS4:00ff" in row


def test_zoned_timestamps_hash_by_instant():
    utc = pa.array([datetime(2024, 1, 15, 10, 0, tzinfo=UTC)], pa.timestamp("us", tz="UTC"))
    berlin = utc.cast(pa.timestamp("us", tz="Europe/Berlin"))
    assert hash_rows(pa.table({"t": utc})).to_pylist() == hash_rows(pa.table({"t": berlin})).to_pylist()


def test_unicode_is_hashed_as_utf8_bytes():
    row = canonical_rows(pa.table({"name": ["Zoë 北京"]})).to_pylist()[0]
    assert row == "4:nameS11:Zoë 北京".encode()


def test_json_record_hash_ignores_key_order():
    assert hash_json_record({"a": 1, "b": "ü"}) == hash_json_record({"b": "ü", "a": 1})
    assert hash_json_record({"a": 1}) == hashlib.md5(b'{"a":1}').hexdigest()
