"""The pure part of the asset's loading step: validation on/off and chunked conversion."""

import math

import pyarrow.parquet as pq
import pytest

from ecom_pipeline.energy_series.datasets import DATASETS
from ecom_pipeline.energy_series.preparation import (
    UNREPRESENTABLE,
    ChunkedConversion,
    LoadSettings,
    ParquetRows,
    PreparedFile,
    prepare_table,
    scan_file,
)
from ecom_pipeline.energy_series.schema import SchemaError
from ecom_pipeline.energy_series.validation import InvalidRecordsError
from tests.ecom_pipeline.energy_series.tables import DAY, series_rows, series_table

SPEC = DATASETS["generation"]


def dirty_table():
    rows = series_rows("generation", 6)
    rows[1]["power_mw"] = math.nan
    rows[2].update(power_mw=None, capacity_factor=None, efficiency=math.inf)  # nothing writable
    return series_table("generation", rows)


def test_validation_on_drops_by_reason():
    rows, dropped, table = prepare_table(dirty_table(), SPEC, "f", LoadSettings(True, True))
    assert rows == 6 and table.num_rows == 4
    assert dropped == {"null_field": 1, "non_finite_field": 1}


def test_validation_on_without_dropping_fails():
    with pytest.raises(InvalidRecordsError, match="f: row 1: column 'power_mw': non_finite_field"):
        prepare_table(dirty_table(), SPEC, "f", LoadSettings(True, False))


def test_validation_off_writes_what_it_can_and_counts_the_rest():
    table = dirty_table().drop_columns(["quality_flag", "efficiency"])  # not required without validation
    rows, dropped, kept = prepare_table(table, SPEC, "f", LoadSettings(False, True))
    assert rows == 6 and dropped == {} and kept.num_rows == 6
    prepared = PreparedFile(key="k", size_bytes=1, input_rows=rows, table=kept, dropped_by_reason=dropped)
    chunks = list(ChunkedConversion([prepared], SPEC, "b", chunk_rows=4, day=DAY.date()))
    assert [len(chunk) for chunk in chunks] == [3, 2]  # row 2 has no writable field
    assert prepared.points == 5 and prepared.dropped_by_reason == {UNREPRESENTABLE: 1}
    line = chunks[0].line(1).decode()
    assert " capacity_factor=1.1 " in line and "power_mw" not in line and "quality_flag" not in line


def test_validation_off_still_needs_time_and_a_field():
    with pytest.raises(SchemaError, match="none of the fields"):
        prepare_table(dirty_table().drop_columns(list(SPEC.fields)), SPEC, "f", LoadSettings(False, True))


def test_chunks_cover_every_file_and_keep_timestamps():
    files = [
        PreparedFile(
            key=f"k{i}",
            size_bytes=1,
            input_rows=5,
            table=series_table("generation", series_rows("generation", 5)),
        )
        for i in range(2)
    ]
    conversion = ChunkedConversion(files, SPEC, "b", chunk_rows=2, day=DAY.date())
    assert sum(len(chunk) for chunk in conversion) == 10
    assert conversion.timestamps.count == 10 and [f.points for f in files] == [5, 5]
    assert conversion.timestamps.outside_day == 0


def test_a_staged_file_is_validated_and_converted_batch_by_batch(tmp_path):
    rows = series_rows("generation", 10)
    rows[7]["power_mw"] = math.nan
    path = tmp_path / "f.parquet"
    pq.write_table(series_table("generation", rows), path, row_group_size=4)
    staged = ParquetRows(path, "s3://b/f.parquet", SPEC, LoadSettings(True, True), batch_rows=3)
    assert [batch_rows for batch_rows, _, _ in staged] == [3, 3, 3, 1]  # never more than a batch
    prepared = scan_file("f.parquet", 1, staged)
    assert prepared.input_rows == 10 and prepared.table is None  # nothing held until the conversion
    conversion = ChunkedConversion([prepared], SPEC, "b", chunk_rows=3, day=DAY.date())
    assert sum(len(chunk) for chunk in conversion) == 9 and prepared.points == 9
    assert prepared.dropped_by_reason == {"non_finite_field": 1}


def test_the_scan_fails_a_file_whose_invalid_rows_must_fail_the_partition(tmp_path):
    rows = series_rows("generation", 10)
    rows[7]["power_mw"] = math.nan
    path = tmp_path / "f.parquet"
    pq.write_table(series_table("generation", rows), path, row_group_size=4)
    strict = ParquetRows(path, "s3://b/f.parquet", SPEC, LoadSettings(True, False), batch_rows=3)
    with pytest.raises(InvalidRecordsError, match="s3://b/f.parquet: row 7: column 'power_mw'"):
        scan_file("f.parquet", 1, strict)  # the file's row 7 (row 1 of its third batch)


def test_a_staged_file_that_is_not_parquet_is_bad_input_naming_it(tmp_path):
    path = tmp_path / "f.parquet"
    path.write_bytes(b"not parquet")
    staged = ParquetRows(path, "s3://b/f.parquet", SPEC, LoadSettings(True, True), batch_rows=3)
    with pytest.raises(SchemaError, match="s3://b/f.parquet: not a readable Parquet file"):
        scan_file("f.parquet", 11, staged)
