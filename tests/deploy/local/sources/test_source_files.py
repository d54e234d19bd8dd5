"""Sample-file builders: vendor CSVs, processed energy Parquet, metric JSON."""

import csv
import io
import json
import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pyarrow.parquet as pq
import pytest

from deploy.local.sources import (
    CSV_COLUMNS,
    ENERGY_DATASETS,
    METRIC_JSON_DEFECTS,
    VENDOR_CSV_DEFECTS,
    broken_metric_json,
    demo_energy_files,
    demo_metric_files,
    demo_vendor_files,
    energy_invalid_rows,
    energy_key,
    energy_parquet,
    metric_json,
    upload_key,
    vendor_csv,
    vendor_csv_defects,
)
from deploy.local.sources.vocabulary import VALID_UNITS

DAY = date(2026, 11, 20)


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def _problems(row: dict[str, str]) -> set[str]:
    """The columns of a row that break the seed's product rules, checked independently of the pipeline."""
    problems = set()
    price = Decimal(row["price"])
    if price <= 0:
        problems.add("price")
    if row["compare_at_price"] and Decimal(row["compare_at_price"]) < price:
        problems.add("compare_at_price")
    if not row["sku"] or not row["sku"].replace("-", "").isalnum():
        problems.add("sku")
    if not row["product_name"]:
        problems.add("product_name")
    url = urlsplit(row["image_url"])
    if url.scheme not in ("http", "https") or not url.hostname:
        problems.add("image_url")
    if row["unit"] not in VALID_UNITS:
        problems.add("unit")
    if int(row["stock_quantity"]) < 0:
        problems.add("stock_quantity")
    return problems


def test_vendor_csv_is_deterministic_with_the_seed_columns():
    data = vendor_csv("VEND001", 40, bad_rows=7, seed=3)
    assert data == vendor_csv("VEND001", 40, bad_rows=7, seed=3)
    assert data != vendor_csv("VEND001", 40, bad_rows=7, seed=4)
    assert data.decode("utf-8").splitlines()[0] == ",".join(CSV_COLUMNS)
    rows = _rows(data)
    assert len(rows) == 40
    assert [r["vendor_product_id"] for r in rows[:2]] == ["PROD0001", "PROD0002"]
    assert all(
        r["sku"].startswith(("CA-", "HK-", "OD-", "ST-", "GD-", "TY-", "BV-", "AP-")) for r in rows[1:3]
    )


def test_each_bad_row_breaks_exactly_its_documented_column():
    defects = vendor_csv_defects(100, 14)
    assert len(defects) == 14 and sorted(set(defects.values())) == sorted(VENDOR_CSV_DEFECTS)
    rows = _rows(vendor_csv("VEND002", 100, bad_rows=14))
    for number, row in enumerate(rows, start=1):
        expected = {VENDOR_CSV_DEFECTS[defects[number]][0]} if number in defects else set()
        assert _problems(row) == expected, (number, row)


def test_bad_rows_cannot_exceed_rows():
    with pytest.raises(ValueError, match="bad_rows"):
        vendor_csv("VEND001", 3, bad_rows=4)


def test_demo_vendor_files():
    files = demo_vendor_files()
    assert list(files) == [
        "uploads/VEND001/VEND001_20261121_090000.csv",
        "uploads/VEND002/VEND002_20261121_090500.csv",
        "uploads/VEND404/VEND404_20261121_091000.csv",
    ]
    clean, bad, unknown = (_rows(v) for v in files.values())
    assert len(clean) == 30 and not any(_problems(r) for r in clean)
    assert sum(bool(_problems(r)) for r in bad) == len(VENDOR_CSV_DEFECTS)
    assert len(unknown) == 10
    assert (
        upload_key("VEND7", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
        == "uploads/VEND7/VEND7_20260102_030405.csv"
    )


@pytest.mark.parametrize("dataset", sorted(ENERGY_DATASETS))
def test_energy_parquet_columns_times_and_unique_points(dataset):
    spec = ENERGY_DATASETS[dataset]
    data = energy_parquet(dataset, DAY, 500)
    assert data == energy_parquet(dataset, DAY, 500)
    table = pq.read_table(io.BytesIO(data))
    tags = ["region", spec.tag, "measurement_type", "quality_flag"]
    assert table.column_names == ["timestamp", *tags, *spec.fields]
    assert str(table.schema.field("timestamp").type) == "timestamp[us, tz=UTC]"
    frame = table.to_pandas()
    assert len(frame) == 500
    assert frame["timestamp"].min() >= datetime(2026, 11, 20, tzinfo=UTC)
    assert frame["timestamp"].max() < datetime(2026, 11, 21, tzinfo=UTC)
    assert not frame.duplicated(subset=["timestamp", *tags[:3]]).any()
    assert frame[list(spec.fields)].notna().all().all()
    assert set(frame["quality_flag"]) <= {"good", "estimated", "suspect"}


def test_energy_values_are_physically_plausible():
    gen = pq.read_table(io.BytesIO(energy_parquet("generation", DAY, 4_800))).to_pandas()
    assert gen["capacity_factor"].between(0, 1).all() and (gen["power_mw"] >= 0).all()
    solar_night = gen[(gen["energy_source"] == "solar") & (gen["timestamp"].dt.hour < 4)]
    assert len(solar_night) and (solar_night["power_mw"] == 0).all()
    transmission = pq.read_table(io.BytesIO(energy_parquet("transmission", DAY, 800))).to_pandas()
    assert transmission["voltage_kv"].between(200, 800).all() and (transmission["losses_mwh"] >= 0).all()


def test_energy_interval_minutes_and_day_capacity():
    frame = pq.read_table(
        io.BytesIO(energy_parquet("consumption", DAY, 400, interval_minutes=15))
    ).to_pandas()
    steps = sorted(set(frame["timestamp"]))
    assert steps[1] - steps[0] == timedelta(minutes=15)
    with pytest.raises(ValueError, match="do not fit in one day"):
        energy_parquet("consumption", DAY, 10_000, interval_minutes=60)
    with pytest.raises(ValueError, match="unknown dataset"):
        energy_parquet("wind", DAY, 10)


def test_energy_with_invalid_plants_known_rows():
    planted = energy_invalid_rows(100)
    frame = pq.read_table(io.BytesIO(energy_parquet("generation", DAY, 100, with_invalid=True))).to_pandas()
    fields = ["power_mw", "capacity_factor", "efficiency"]
    for index, kind in planted.items():
        row = frame.iloc[index]
        bad_fields = [f for f in fields if row[f] is None or not math.isfinite(row[f])]
        if kind == "bad_field":
            assert len(bad_fields) == 1, (index, row)
        else:
            assert not bad_fields
            tag_text = "".join(str(row[t]) for t in ("region", "energy_source", "measurement_type"))
            assert any(ch in tag_text for ch in " ,="), (index, tag_text)
    clean = frame.drop(index=list(planted))
    assert clean[fields].map(math.isfinite).all().all()
    assert {"bad_field", "odd_tag"} == set(planted.values()) and len(planted) == 20


def test_demo_energy_files_use_partition_keys():
    files = demo_energy_files()
    assert energy_key("generation", DAY) == "processed/dataset=generation/date=2026-11-20/part-00000.parquet"
    assert set(files) == {
        *(energy_key(name, DAY) for name in ENERGY_DATASETS),
        energy_key("generation", DAY - timedelta(days=1)),
    }


def test_metric_json_records():
    data = metric_json(25, seed=1, day=DAY)
    assert data == metric_json(25, seed=1, day=DAY) and data != metric_json(25, seed=2, day=DAY)
    records = json.loads(data)
    assert len(records) == 25
    for record in records:
        assert set(record) == {"name", "value", "timestamp"}
        assert isinstance(record["value"], float) and math.isfinite(record["value"])
        moment = datetime.fromisoformat(record["timestamp"])
        assert record["timestamp"].endswith("Z") and moment.date() == DAY
    assert [r["timestamp"] for r in records] == sorted(r["timestamp"] for r in records)


@pytest.mark.parametrize("defect", sorted(METRIC_JSON_DEFECTS))
def test_broken_metric_json_breaks_only_the_chosen_record(defect):
    good, broken = (
        json.loads(metric_json(10, seed=0)),
        json.loads(broken_metric_json(10, seed=0, defect=defect)),
    )
    differing = [i for i, (g, b) in enumerate(zip(good, broken, strict=True)) if g != b]
    assert differing == [3]
    assert json.loads(broken_metric_json(defect=defect, index=0)) != json.loads(metric_json(10))


def test_default_broken_metric_json_has_a_string_value_at_index_3():
    assert json.loads(broken_metric_json())[3]["value"] == "n/a"
    with pytest.raises(ValueError, match="unknown defect"):
        broken_metric_json(defect="nope")
    files = demo_metric_files()
    assert sorted(files) == [
        "imports/metrics_20261120_a.json",
        "imports/metrics_20261120_b.json",
        "imports/metrics_20261120_broken.json",
    ]
