import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pandas as pd
import pyarrow as pa
import pytest

from ecom_pipeline.energy_series.datasets import DATASETS
from ecom_pipeline.energy_series.line_protocol import escape_key, escape_measurement, to_line_protocol
from ecom_pipeline.energy_series.schema import SchemaError

from .tables import series_rows, series_table

NS_2026_03_01 = 1772323200 * 10**9


def all_lines(points) -> list[str]:
    return points.lines(0, len(points)).decode().splitlines()


@pytest.mark.parametrize("dataset", ["generation", "consumption", "transmission"])
def test_each_dataset_maps_tags_and_fields(dataset):
    spec = DATASETS[dataset]
    points = to_line_protocol(series_table(dataset, series_rows(dataset, 2)), spec)
    first = all_lines(points)[0]
    head, fields, timestamp = first.split(" ")
    tags = ",".join(f"{tag}={tag}-0" for tag in spec.tags)
    assert head == f"{spec.measurement},{tags}"
    assert fields == ",".join(f"{name}={position / 10:g}" for position, name in enumerate(spec.fields))
    assert timestamp == str(NS_2026_03_01)
    assert len(points) == 2 and points.skipped_rows == 0


def test_tags_are_escaped():
    rows = series_rows("generation", 1)
    rows[0].update(region="North East", energy_source="a,b", measurement_type="k=v", quality_flag="c:\\tmp\\")
    line = all_lines(to_line_protocol(series_table("generation", rows), DATASETS["generation"]))[0]
    assert line.startswith(
        r"generation_data,region=North\ East,energy_source=a\,b,measurement_type=k\=v,"
        r"quality_flag=c:\\tmp\\ power_mw="
    )


def test_escape_helpers():
    assert escape_measurement("my measure,x=1") == r"my\ measure\,x=1"
    assert escape_key("a b,c=d") == r"a\ b\,c\=d"


def test_timestamps_become_utc_nanoseconds_whatever_the_input_type():
    spec = DATASETS["generation"]
    base = {tag: "t" for tag in spec.tags} | {name: 1.0 for name in spec.fields}
    moment = datetime(2026, 3, 1, 1, 2, 3, 456789, tzinfo=UTC)
    expected = str(NS_2026_03_01 + (3723 * 10**6 + 456789) * 1000)
    variants = [
        pa.array([moment], pa.timestamp("us", tz="UTC")),
        pa.array([moment.replace(tzinfo=None)], pa.timestamp("us")),  # naive means UTC
        pa.array(
            [moment.astimezone(timezone(timedelta(hours=-3)))], pa.timestamp("ns", tz="America/Sao_Paulo")
        ),
        pa.array(["2026-03-01T04:02:03.456789+03:00"]),  # string with an offset
    ]
    for variant in variants:
        table = pa.table({"timestamp": variant} | {k: [v] for k, v in base.items()})
        if variant.type == pa.string():
            table = table.set_column(0, "timestamp", pa.array(["2026-03-01T04:02:03.456789+03:00"]))
            expected_here = str(int(pd.Timestamp("2026-03-01T01:02:03.456789Z").value))
        else:
            expected_here = expected
        assert all_lines(to_line_protocol(table, spec))[0].endswith(" " + expected_here), variant.type


def test_unwritable_fields_are_left_out_and_empty_rows_skipped():
    rows = series_rows("generation", 4)
    rows[0]["power_mw"] = math.nan
    rows[1]["capacity_factor"] = math.inf
    rows[1]["efficiency"] = None
    rows[2].update(power_mw=None, capacity_factor=-math.inf, efficiency=math.nan)  # nothing left to write
    rows[3]["quality_flag"] = None
    points = to_line_protocol(series_table("generation", rows), DATASETS["generation"])
    lines = all_lines(points)
    assert points.skipped_rows == 1 and len(points) == 3
    assert " capacity_factor=0.1,efficiency=0.2 " in lines[0]
    assert " power_mw=1 " in lines[1]
    assert ",quality_flag=" not in lines[2] and lines[2].count(",") == 5
    assert list(points.timestamps_ns) == [NS_2026_03_01 + i * 300 * 10**9 for i in (0, 1, 3)]


def test_fields_are_written_as_their_declared_type_and_missing_columns_are_left_out():
    """An int64 column of a float field writes a float (no `i`), so it cannot conflict with earlier files."""
    spec = DATASETS["transmission"]
    table = pa.table(
        {
            "timestamp": pa.array([datetime(2026, 3, 1, tzinfo=UTC)]),
            "region": ["r"],
            "flow_mw": pa.array([42], pa.int64()),
            "voltage_kv": [230.5],
        }
    )
    assert all_lines(to_line_protocol(table, spec)) == [
        f"transmission_data,region=r flow_mw=42,voltage_kv=230.5 {NS_2026_03_01}"
    ]
    integer_flow = replace(spec, field_type_overrides=(("flow_mw", "integer"),))
    table = table.set_column(2, "flow_mw", pa.array([42.0]))  # a float column, declared integer
    assert all_lines(to_line_protocol(table, integer_flow)) == [
        f"transmission_data,region=r flow_mw=42i,voltage_kv=230.5 {NS_2026_03_01}"
    ]


def test_batches_are_slices_of_one_buffer():
    points = to_line_protocol(
        series_table("consumption", series_rows("consumption", 7)), DATASETS["consumption"]
    )
    batches = points.batches(3)
    assert batches == [(0, 3), (3, 6), (6, 7)]
    joined = b"".join(points.lines(start, stop) for start, stop in batches)
    assert joined == points.lines(0, len(points)) and joined.count(b"\n") == 7
    assert points.line(6) == points.lines(6, 7)
    with pytest.raises(ValueError):
        points.batches(0)


def test_empty_table_gives_no_points():
    points = to_line_protocol(series_table("generation", []), DATASETS["generation"])
    assert len(points) == 0 and points.batches(1000) == [] and points.lines(0, 0) == b""


def test_unreadable_time_column_is_a_schema_error_naming_the_file():
    table = series_table("generation", series_rows("generation", 1)).set_column(
        0, "timestamp", pa.array(["nope"])
    )
    with pytest.raises(SchemaError, match=r"s3://b/f.parquet: column 'timestamp'"):
        to_line_protocol(table, DATASETS["generation"], "s3://b/f.parquet")
