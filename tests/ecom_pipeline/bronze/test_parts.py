import io
from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.parquet as pq

from ecom_pipeline.bronze.enrich import IngestionStamp, event_dates, split_by_event_date, with_metadata
from ecom_pipeline.bronze.parts import PartLimits, PartWriter


def _table(n: int, day: int) -> pa.Table:
    return pa.table({"id": list(range(n)), "day": pa.array([date(2026, 1, day)] * n, pa.date32())})


def test_parts_split_at_max_rows_and_are_numbered_per_event_date():
    written: dict[str, bytes] = {}
    writer = PartWriter(
        schema=_table(1, 1).schema,
        sink=written.__setitem__,
        limits=PartLimits(part_max_rows=4, row_group_rows=2),
    )
    writer.add("2026-01-01", _table(3, 1))
    writer.add("2026-01-02", _table(1, 2))
    writer.add("2026-01-01", _table(3, 1))  # the first part is full (6 >= 4 rows): a second one starts
    writer.add("2026-01-01", _table(1, 1))
    writer.flush_all()
    assert sorted(written) == [
        "event_date=2026-01-01/part-00000.parquet",
        "event_date=2026-01-01/part-00001.parquet",
        "event_date=2026-01-02/part-00000.parquet",
    ]
    assert writer.rows_written == 8
    first = pq.ParquetFile(io.BytesIO(written["event_date=2026-01-01/part-00000.parquet"]))
    assert first.metadata.num_rows == 6 and first.metadata.num_row_groups == 4  # row groups of at most 2 rows
    assert first.metadata.row_group(0).column(0).compression == "SNAPPY"
    assert pq.read_table(io.BytesIO(written["event_date=2026-01-01/part-00001.parquet"])).num_rows == 1


def test_rows_of_one_date_accumulate_as_row_groups_of_one_file():
    written: dict[str, bytes] = {}
    writer = PartWriter(
        schema=_table(1, 1).schema, sink=written.__setitem__, limits=PartLimits(row_group_rows=5)
    )
    for _ in range(4):
        writer.add("2026-01-01", _table(5, 1))
    assert not written  # still one open file
    writer.flush_all()
    (body,) = written.values()
    assert pq.ParquetFile(io.BytesIO(body)).metadata.num_row_groups == 4


def test_memory_budgets_force_row_groups_and_early_parts():
    written: dict[str, bytes] = {}
    writer = PartWriter(
        schema=_table(1, 1).schema,
        sink=written.__setitem__,
        limits=PartLimits(buffer_bytes=1, open_bytes=1),
    )
    writer.add("2026-01-01", _table(10, 1))
    writer.add("2026-01-02", _table(10, 2))
    assert len(written) == 2  # both finished before flush_all
    writer.flush_all()
    assert writer.rows_written == 20


def test_event_dates_fall_back_to_cursor_then_partition_date():
    table = pa.table(
        {
            "placed_at": pa.array(
                [datetime(2026, 1, 2, 23, 59, tzinfo=UTC), None, None], pa.timestamp("us", tz="UTC")
            ),
            "updated_at": pa.array(
                [datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 6, tzinfo=UTC), None],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )
    dates = event_dates(table, "placed_at", "updated_at", date(2026, 1, 9)).to_pylist()
    assert dates == [date(2026, 1, 2), date(2026, 1, 6), date(2026, 1, 9)]


def test_iso_string_event_dates_are_taken_in_utc():
    table = pa.table({"created_at": ["2026-01-02T23:30:00-05:00", "bad", "2026-01-03T00:00:00Z"]})
    dates = event_dates(table, "created_at", "updated_at", date(2026, 1, 9)).to_pylist()
    assert dates == [date(2026, 1, 3), date(2026, 1, 9), date(2026, 1, 3)]


def test_split_by_event_date_groups_rows_in_date_order():
    table = pa.table({"id": [1, 2, 3, 4]})
    dates = pa.array([date(2026, 1, 3), date(2026, 1, 1), date(2026, 1, 3), date(2026, 1, 1)], pa.date32())
    groups = {day: rows["id"].to_pylist() for day, rows in split_by_event_date(table, dates)}
    assert groups == {"2026-01-01": [2, 4], "2026-01-03": [1, 3]}


def test_metadata_columns_are_appended():
    stamp = IngestionStamp("run-1", datetime(2026, 1, 1, tzinfo=UTC), "rds")
    enriched = with_metadata(pa.table({"id": [1, 2]}), pa.array(["h1", "h2"]), stamp)
    assert enriched.column_names == ["id", "_ingestion_ts", "_source_system", "_record_hash", "_ingestion_id"]
    assert enriched["_source_system"].to_pylist() == ["rds", "rds"]
    assert str(enriched.schema.field("_ingestion_ts").type) == "timestamp[us, tz=UTC]"
