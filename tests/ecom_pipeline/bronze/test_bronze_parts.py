import io
from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.parquet as pq

from ecom_pipeline.bronze.enrich import IngestionStamp, event_dates, split_by_event_date, with_metadata
from ecom_pipeline.bronze.parts import PartWriter


def _table(n: int, day: int) -> pa.Table:
    return pa.table({"id": list(range(n)), "day": pa.array([date(2026, 1, day)] * n, pa.date32())})


def test_parts_split_at_max_rows_and_are_numbered_per_event_date():
    written: dict[str, bytes] = {}
    writer = PartWriter(schema=_table(1, 1).schema, sink=written.__setitem__, part_max_rows=4)
    writer.add("2026-01-01", _table(3, 1))
    writer.add("2026-01-02", _table(2, 2))
    writer.add("2026-01-01", _table(3, 1))
    writer.flush_all()
    assert sorted(written) == [
        "event_date=2026-01-01/part-00000.parquet",
        "event_date=2026-01-01/part-00001.parquet",
        "event_date=2026-01-02/part-00000.parquet",
    ]
    assert writer.rows_written == 8
    first = pq.read_table(io.BytesIO(written["event_date=2026-01-01/part-00000.parquet"]))
    assert first.num_rows == 4
    assert (
        pq.ParquetFile(io.BytesIO(written["event_date=2026-01-02/part-00000.parquet"]))
        .metadata.row_group(0)
        .column(0)
        .compression
        == "SNAPPY"
    )


def test_buffer_budget_forces_writes():
    written: dict[str, bytes] = {}
    writer = PartWriter(schema=_table(1, 1).schema, sink=written.__setitem__, max_buffer_bytes=1)
    writer.add("2026-01-01", _table(10, 1))
    assert len(written) == 1  # written before flush_all


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
