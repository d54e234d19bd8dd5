"""The table generator without a database: determinism, the scale knob, and the awkward values it promises."""

import hashlib
import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pytest

from deploy.local.sources import (
    INACTIVE_VENDOR,
    SUSPENDED_VENDOR,
    UNKNOWN_VENDOR,
    active_vendor_ids,
    entity_tables,
    iter_order_tables,
)
from deploy.local.sources.columns import TimeWindow
from deploy.local.sources.entities import vendor_rows


def _csv_hash(table: pa.Table) -> str:
    buffer = io.BytesIO()
    pa_csv.write_csv(table, buffer)
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def _orders(count: int, **kwargs) -> dict[str, pa.Table]:
    chunks = list(iter_order_tables(count, **kwargs))
    return {name: pa.concat_tables(c[name] for c in chunks) for name in chunks[0]}


@pytest.fixture(scope="module")
def scale_one() -> dict[str, pa.Table]:
    return entity_tables(1) | _orders(10_000)


def test_same_seed_gives_byte_identical_tables(scale_one):
    again = entity_tables(1) | _orders(10_000)
    assert {n: _csv_hash(t) for n, t in again.items()} == {n: _csv_hash(t) for n, t in scale_one.items()}


def test_another_seed_gives_other_rows(scale_one):
    other = entity_tables(1, seed=7)
    assert _csv_hash(other["customers"]) != _csv_hash(scale_one["customers"])
    assert other["customers"].num_rows == scale_one["customers"].num_rows


def test_orders_only_path_draws_the_same_orders(scale_one):
    orders_only = _orders(10_000, related=False)
    assert set(orders_only) == {"orders"}
    assert orders_only["orders"].equals(scale_one["orders"])


def test_rows_scale_linearly():
    one, three = entity_tables(1), entity_tables(3)
    for name in ("customers", "products", "upload_history", "metrics"):
        assert three[name].num_rows == 3 * one[name].num_rows, name
    # 10 active vendors per scale unit, plus the suspended and the inactive one
    assert one["vendors"].num_rows == 12 and three["vendors"].num_rows == 32
    assert _orders(20_000, related=False)["orders"].num_rows == 20_000


@pytest.mark.parametrize("scale", [0, -1, 1.5])
def test_bad_scale_is_refused(scale):
    with pytest.raises(ValueError, match="scale must be a positive integer"):
        entity_tables(scale)


def test_vendor_statuses_and_reserved_ids(scale_one):
    status = dict(zip(*(scale_one["vendors"][c].to_pylist() for c in ("vendor_id", "status")), strict=True))
    assert status["VEND001"] == "active" and status["VEND010"] == "active"
    assert status[INACTIVE_VENDOR] == "inactive" and status[SUSPENDED_VENDOR] == "suspended"
    assert UNKNOWN_VENDOR not in status
    big = [vendor for vendor, _ in vendor_rows(active_vendor_ids(500))]  # the ids at scale 50
    assert UNKNOWN_VENDOR not in big and big.count(INACTIVE_VENDOR) == 1 and len(set(big)) == len(big) == 502


def test_updated_at_stays_in_the_window_with_ties_and_midnights(scale_one):
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC)
    for name in ("customers", "vendors", "products", "orders", "order_items", "external.payments"):
        updated = scale_one[name]["updated_at"]
        assert pc.min(updated).as_py() >= start and pc.max(updated).as_py() < end, name
        created = scale_one[name]["created_at"]
        assert pc.all(pc.less_equal(created, updated)).as_py(), name
    orders = scale_one["orders"]["updated_at"]
    assert len(pc.unique(orders)) < len(orders) * 0.97  # many rows share an exact instant
    midnight = datetime(2026, 11, 2, tzinfo=UTC)
    assert pc.sum(pc.equal(orders, pa.scalar(midnight, orders.type))).as_py() > 10


def test_custom_window_moves_every_timestamp():
    window = TimeWindow(date(2025, 3, 1), date(2025, 3, 2))
    orders = _orders(1_000, window=window)["orders"]["updated_at"]
    assert pc.min(orders).as_py() >= datetime(2025, 3, 1, tzinfo=UTC)
    assert pc.max(orders).as_py() < datetime(2025, 3, 3, tzinfo=UTC)
    with pytest.raises(ValueError, match="before start"):
        TimeWindow(date(2025, 3, 2), date(2025, 3, 1))


def test_text_has_nulls_unicode_quotes_and_newlines(scale_one):
    customers, orders = scale_one["customers"], scale_one["orders"]
    assert customers["phone"].null_count > 0 and customers["date_of_birth"].null_count > 0
    names = set(customers["first_name"].to_pylist()) | set(customers["last_name"].to_pylist())
    assert {"Zoë", "Ångström", "O'Brien"} <= names
    assert "東京" in customers["city"].to_pylist()
    notes = {n for n in orders["notes"].to_pylist() if n}
    assert any('"' in n for n in notes) and any("," in n for n in notes) and any("\n" in n for n in notes)
    descriptions = scale_one["products"]["description"].to_pylist()
    assert None in descriptions and "" in descriptions  # NULL and empty string both occur


def test_json_columns_are_valid_json(scale_one):
    for name, column in (
        ("orders", "shipping_address"),
        ("orders", "metadata"),
        ("customers", "preferences"),
    ):
        values = [v for v in scale_one[name][column].to_pylist() if v is not None]
        assert values and all(isinstance(json.loads(v), dict) for v in values), (name, column)
    recipients = {json.loads(v)["recipient"] for v in scale_one["orders"]["shipping_address"].to_pylist()}
    assert any("O'Brien" in r for r in recipients)


def test_order_money_adds_up(scale_one):
    orders, items = scale_one["orders"].to_pylist(), scale_one["order_items"]
    line_sum: dict[int, Decimal] = {}
    for order_id, total in zip(items["order_id"].to_pylist(), items["line_total"].to_pylist(), strict=True):
        line_sum[order_id] = line_sum.get(order_id, Decimal(0)) + total
    for order in orders:
        assert order["subtotal"] == line_sum[order["order_id"]]
        discount = order["discount_amount"] or Decimal(0)
        assert (
            order["total_amount"]
            == order["subtotal"] - discount + order["shipping_amount"] + order["tax_amount"]
        )
        assert order["total_amount"].as_tuple().exponent == -2
    assert len(orders) == 10_000 and 10_000 <= items.num_rows <= 40_000


def test_payments_and_shipments_reference_orders(scale_one):
    order_ids = set(scale_one["orders"]["order_id"].to_pylist())
    for name, prefix in (("external.payments", "pay_"), ("external.shipments", "shp_")):
        table = scale_one[name]
        assert set(table["order_id"].to_pylist()) <= order_ids
        ids = table["id"].to_pylist()
        assert len(set(ids)) == len(ids) and all(i.startswith(prefix) for i in ids)


def test_bytes_do_not_depend_on_the_process(scale_one):
    """Another interpreter with another hash seed produces the same bytes (no set/dict-order or hash leaks)."""
    script = (
        "import hashlib, io, pyarrow as pa, pyarrow.csv as c\n"
        "from deploy.local.sources import entity_tables, iter_order_tables\n"
        "tables = entity_tables(1) | next(iter_order_tables(10_000))\n"
        "for name in sorted(tables):\n"
        "    b = io.BytesIO(); c.write_csv(tables[name], b); print(name, hashlib.sha256(b.getvalue()).hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    output = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    other = dict(line.split() for line in output.stdout.splitlines())
    assert other == {name: _csv_hash(table) for name, table in scale_one.items()}
