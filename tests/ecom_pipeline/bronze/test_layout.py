from datetime import date, datetime

from ecom_pipeline.bronze.layout import (
    earlier_partition_prefixes,
    ingestion_date_of,
    part_relative_key,
    partition_prefix,
)
from ecom_pipeline.bronze.manifest import PartitionManifest


def test_layout_is_hive_style():
    prefix = partition_prefix("data/bronze", "orders", datetime(2026, 1, 15).date(), "incremental")
    assert prefix == "data/bronze/orders/ingestion_date=2026-01-15/load_type=incremental/"
    assert part_relative_key("2026-01-14", 1) == "event_date=2026-01-14/part-00001.parquet"
    assert ingestion_date_of(prefix.rsplit("load_type", 1)[0]).isoformat() == "2026-01-15"


def test_earlier_partitions_are_searched_nearest_first_same_load_type_first_and_bounded():
    folders = [
        f"data/bronze/orders/ingestion_date={day}/" for day in ("2026-01-10", "2026-01-14", "2026-01-15")
    ] + ["data/bronze/orders/not-a-partition/"]
    prefixes = earlier_partition_prefixes(
        "data/bronze", "orders", folders, date(2026, 1, 15), "incremental", dates=1
    )
    assert prefixes == [
        "data/bronze/orders/ingestion_date=2026-01-14/load_type=incremental/",
        "data/bronze/orders/ingestion_date=2026-01-14/load_type=full/",
    ]
    everything = earlier_partition_prefixes(
        "data/bronze", "orders", folders, date(2026, 1, 16), "full", dates=62
    )
    assert [p.split("orders/")[1] for p in everything][::2] == [
        "ingestion_date=2026-01-15/load_type=full/",
        "ingestion_date=2026-01-14/load_type=full/",
        "ingestion_date=2026-01-10/load_type=full/",
    ]


def test_manifest_window_start_is_parsed_and_absent_for_full_loads():
    manifest = PartitionManifest("orders", "2026-01-15", "incremental", "run", "ts", None, "end", 0, 0)
    assert manifest.window_start_at is None
    manifest.window_start = "2026-01-14T00:00:00+00:00"
    assert manifest.window_start_at == datetime.fromisoformat("2026-01-14T00:00:00+00:00")
