from datetime import UTC, datetime

import pyarrow as pa
import pytest

from ecom_pipeline.bronze.api_records import WindowedRecords, filter_window, records_table
from ecom_pipeline.bronze.arrow_types import SourceColumn, arrow_schema_for, arrow_type_for
from ecom_pipeline.bronze.entities import BRONZE_ENTITIES, EntitySpec
from ecom_pipeline.bronze.schema_drift import compare_schemas


def test_drift_lists_added_removed_and_retyped_columns():
    drift = compare_schemas(
        {"a": "int64", "b": "string", "c": "int32"}, {"a": "int64", "c": "int64", "d": "date32[day]"}
    )
    assert drift.added == {"d": "date32[day]"}
    assert drift.removed == {"b": "string"}
    assert drift.retyped == {"c": ("int32", "int64")}
    assert "retyped c (int32 -> int64)" in drift.describe()
    assert not compare_schemas({"a": "x"}, {"a": "x"}).drifted


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        (SourceColumn("n", "numeric", 12, 2), pa.decimal128(12, 2)),
        (SourceColumn("n", "numeric", 60, 5), pa.decimal256(60, 5)),
        (SourceColumn("n", "numeric"), pa.decimal128(38, 18)),
        (SourceColumn("t", "timestamp with time zone"), pa.timestamp("us", tz="UTC")),
        (SourceColumn("j", "jsonb"), pa.string()),
        (SourceColumn("c", "character"), pa.string()),
        (SourceColumn("b", "boolean"), pa.bool_()),
    ],
)
def test_postgres_types_map_to_faithful_arrow_types(column, expected):
    assert arrow_type_for(column) == expected


def test_missing_table_is_reported():
    with pytest.raises(ValueError, match="no columns"):
        arrow_schema_for([])


def test_api_window_is_half_open_and_bad_cursors_are_rejected_with_reasons():
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    records = [
        {"id": "a", "updated_at": "2026-01-01T00:00:00Z"},
        {"id": "b", "updated_at": "2026-01-02T00:00:00+00:00"},
        {"id": "c", "updated_at": "2025-12-31T23:59:59.999999Z"},
        {"id": "d", "updated_at": "yesterday"},
    ]
    result = filter_window(records, "updated_at", start, end, WindowedRecords(), "payments page 0")
    assert [r["id"] for r in result.records] == ["a"]
    assert result.outside_window == 2
    assert result.rejected == [
        "payments page 0 record 3 (id='d'): field 'updated_at' is 'yesterday', not an ISO-8601 timestamp"
    ]


def test_records_table_types_all_null_and_mixed_fields():
    table, hashes = records_table(
        [{"id": "a", "x": None, "m": 1}, {"id": "b", "x": None, "m": "one", "n": {"k": 1}}]
    )
    assert table.column_names == ["id", "x", "m", "n"]
    assert table.schema.field("x").type == pa.string()
    assert table["m"].to_pylist() == ["1", '"one"']
    assert len(set(hashes.to_pylist())) == 2


def test_entity_list_is_valid_and_names_are_checked():
    assert {e.name for e in BRONZE_ENTITIES} >= {"customers", "orders", "payments", "shipments", "metrics"}
    with pytest.raises(ValueError, match="must match"):
        EntitySpec("Bad-Name", "rds", ("id",))


def test_duplicate_keys_are_counted_across_batches_for_single_and_composite_keys():
    from ecom_pipeline.bronze.quality import duplicate_keys

    single = [pa.table({"id": [1, 2]}), pa.table({"id": [2, 3]})]
    assert duplicate_keys(single, ("id",)).duplicated_keys == 1
    assert duplicate_keys([pa.table({"id": [1, 2, 3]})], ("id",)).duplicated_keys == 0
    composite = [pa.table({"a": [1, 1], "b": ["x", "y"]}), pa.table({"a": [1], "b": ["x"]})]
    result = duplicate_keys(composite, ("a", "b"))
    assert result.duplicated_keys == 1 and result.examples == [{"a": 1, "b": "x", "count_all": 2}]
    assert duplicate_keys([], ("id",)).duplicated_keys == 0
