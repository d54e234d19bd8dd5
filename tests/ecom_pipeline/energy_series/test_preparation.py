"""The pure part of the asset's loading step: validation on/off and chunked conversion."""

import math

import pytest

from ecom_pipeline.energy_series.datasets import DATASETS
from ecom_pipeline.energy_series.preparation import (
    UNREPRESENTABLE,
    ChunkedConversion,
    LoadSettings,
    PreparedFile,
    prepare_table,
)
from ecom_pipeline.energy_series.schema import SchemaError
from ecom_pipeline.energy_series.validation import InvalidRecordsError
from tests.ecom_pipeline.energy_series.tables import series_rows, series_table

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
    chunks = list(ChunkedConversion([prepared], SPEC, "b", chunk_rows=4))
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
    conversion = ChunkedConversion(files, SPEC, "b", chunk_rows=2)
    assert sum(len(chunk) for chunk in conversion) == 10
    assert len(conversion.timestamps_ns) == 10 and [f.points for f in files] == [5, 5]
