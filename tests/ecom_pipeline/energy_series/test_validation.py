import math
from dataclasses import replace

import pyarrow as pa
import pytest

from ecom_pipeline.energy_series.datasets import DATASETS
from ecom_pipeline.energy_series.line_protocol import to_line_protocol
from ecom_pipeline.energy_series.schema import SchemaError, check_schema
from ecom_pipeline.energy_series.validation import InvalidRecordsError, validate_rows

from .tables import series_rows, series_table

SPEC = DATASETS["generation"]
SOURCE = "s3://bkt/processed/dataset=generation/date=2026-03-01/part-0.parquet"


def dirty_rows():
    rows = series_rows("generation", 8)
    rows[1]["timestamp"] = None
    rows[2]["region"] = ""
    rows[3]["energy_source"] = "bad\nvalue"
    rows[4]["power_mw"] = None
    rows[5]["efficiency"] = math.nan
    rows[6]["capacity_factor"] = -math.inf
    rows[6]["region"] = None  # two problems: counted once, under the first rule
    return rows


def test_drop_on_counts_every_row_under_one_reason():
    result = validate_rows(series_table("generation", dirty_rows()), SPEC, SOURCE, drop_invalid=True)
    assert result.input_rows == 8
    assert result.dropped_by_reason == {
        "null_timestamp": 1,
        "missing_tag": 2,
        "invalid_tag_value": 1,
        "null_field": 1,
        "non_finite_field": 1,
    }
    assert result.valid.num_rows + result.dropped_rows == result.input_rows
    assert result.valid.column("power_mw").to_pylist() == [0.0, 7.0]
    assert result.first_violation["missing_tag"].row == 2
    assert result.first_violation["non_finite_field"].column == "efficiency"
    # What is left converts without skipping anything.
    points = to_line_protocol(result.valid, SPEC)
    assert len(points) == 2 and points.skipped_rows == 0


def test_drop_off_fails_naming_file_row_and_field():
    rows = series_rows("generation", 5)
    rows[3]["power_mw"] = math.inf
    with pytest.raises(InvalidRecordsError) as caught:
        validate_rows(series_table("generation", rows), SPEC, SOURCE, drop_invalid=False)
    message = str(caught.value)
    assert message.startswith(f"{SOURCE}: row 3: column 'power_mw': non_finite_field")
    assert "DROP_INVALID_RECORDS is off" in message


def test_drop_off_with_clean_rows_passes_everything():
    table = series_table("generation", series_rows("generation", 5))
    result = validate_rows(table, SPEC, SOURCE, drop_invalid=False)
    assert result.valid.num_rows == 5 and result.dropped_by_reason == {}


def test_duplicate_points_keep_the_last_row_like_influxdb():
    rows = series_rows("generation", 4)
    rows[2] = dict(rows[0], power_mw=99.0)  # same tags and timestamp as row 0, later in the file
    rows[3] = dict(rows[1], region="other")  # same timestamp as row 1 but another series: kept
    result = validate_rows(series_table("generation", rows), SPEC, SOURCE, drop_invalid=False)
    assert result.dropped_by_reason == {"duplicate_point": 1}
    assert result.valid.column("power_mw").to_pylist() == [1.0, 99.0, 1.0]


def test_missing_required_column_is_a_schema_error():
    table = series_table("generation", series_rows("generation", 2)).drop_columns(["capacity_factor"])
    with pytest.raises(SchemaError, match=rf"^{SOURCE}: missing required column\(s\) 'capacity_factor'"):
        check_schema(table.schema, SPEC, SOURCE)
    check_schema(table.schema, SPEC, SOURCE, strict=False)  # conversion alone can do without it


def test_schema_checks_time_column_and_types():
    table = series_table("generation", series_rows("generation", 1))
    with pytest.raises(SchemaError, match="missing required column 'timestamp'"):
        check_schema(table.drop_columns(["timestamp"]).schema, SPEC, SOURCE, strict=False)
    with pytest.raises(SchemaError, match="none of the fields"):
        check_schema(table.drop_columns(list(SPEC.fields)).schema, SPEC, SOURCE, strict=False)
    wrong = table.set_column(table.schema.get_field_index("power_mw"), "power_mw", pa.array(["1.5"]))
    with pytest.raises(SchemaError, match="field column 'power_mw' has type string"):
        check_schema(wrong.schema, SPEC, SOURCE)
    wrong_time = table.set_column(0, "timestamp", pa.array([1.5]))
    with pytest.raises(SchemaError, match="column 'timestamp' has type double"):
        check_schema(wrong_time.schema, SPEC, SOURCE)


def test_a_value_that_cannot_take_the_declared_type_is_a_dropped_row_with_its_reason():
    integer_power = replace(SPEC, field_type_overrides=(("power_mw", "integer"),))
    rows = series_rows("generation", 4)
    rows[1]["power_mw"], rows[2]["power_mw"] = 7.5, 7.0  # 7.5 is no integer; 7.0 is
    result = validate_rows(series_table("generation", rows), integer_power, SOURCE, drop_invalid=True)
    assert result.dropped_by_reason == {"uncastable_field": 1}
    assert result.valid.column("power_mw").type == pa.int64()
    assert result.valid.column("power_mw").to_pylist() == [0, 7, 3]
    with pytest.raises(InvalidRecordsError, match=r"row 1: column 'power_mw': uncastable_field"):
        validate_rows(series_table("generation", rows), integer_power, SOURCE, drop_invalid=False)
